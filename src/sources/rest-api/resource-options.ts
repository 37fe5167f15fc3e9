import type { ResourceOptions } from "../../extract/resource.js";
import type { ColumnHint, DataType, SchemaContractSetting } from "../../schema/types.js";
import type { ResourceConfig, RestColumnHint } from "./config.js";
import type { ResolvedEndpoint } from "./endpoint-config.js";

/** Converts spec-style column hints (a mapping, or a list with `name`) to ferry's. */
export function toColumnHints(columns: ResourceConfig["columns"]): Record<string, ColumnHint> | undefined {
  if (!columns) return undefined;
  const entries: [string, RestColumnHint][] = Array.isArray(columns)
    ? columns.map((c) => [c.name, c])
    : Object.entries(columns);
  const out: Record<string, ColumnHint> = {};
  for (const [name, c] of entries) {
    const raw = c.data_type ?? c.type;
    // dlt's older name of json.
    const type: DataType | undefined = raw === "complex" ? "json" : raw;
    out[name] = {
      ...(type ? { type } : {}),
      ...(c.nullable !== undefined ? { nullable: c.nullable } : {}),
      ...(c.precision !== undefined ? { precision: c.precision } : {}),
      ...(c.scale !== undefined ? { scale: c.scale } : {}),
      ...(c.primary_key !== undefined ? { primaryKey: c.primary_key } : {}),
      ...(c.merge_key !== undefined ? { mergeKey: c.merge_key } : {}),
      ...(c.hard_delete !== undefined ? { hardDelete: c.hard_delete } : {}),
      ...(c.dedup_sort !== undefined ? { dedupSort: c.dedup_sort } : {}),
    };
  }
  return out;
}

/** The ferry resource options of a REST resource (its hints and incremental cursor). */
export function resourceOptions(c: ResourceConfig, endpoint: ResolvedEndpoint): ResourceOptions {
  const columns = toColumnHints(c.columns);
  const incremental = endpoint.incremental?.options;
  const steps = c.processing_steps ?? [];
  return {
    name: c.name,
    // Records come straight from JSON.parse unless a map step may have made them something else.
    jsonItems: !steps.some((s) => "map" in s || "yield_map" in s),
    ...(c.table_name ? { table: c.table_name } : {}),
    ...(c.primary_key !== undefined ? { primaryKey: c.primary_key } : {}),
    ...(c.merge_key !== undefined ? { mergeKey: c.merge_key } : {}),
    ...(c.write_disposition !== undefined ? { writeDisposition: c.write_disposition } : {}),
    ...(columns ? { columns } : {}),
    ...(incremental ? { incremental } : {}),
    ...(c.selected !== undefined ? { selected: c.selected } : {}),
    ...(c.max_table_nesting !== undefined ? { maxTableNesting: c.max_table_nesting } : {}),
    ...(c.schema_contract !== undefined
      ? { schemaContract: c.schema_contract as SchemaContractSetting }
      : {}),
    ...(c.table_format !== undefined ? { tableFormat: c.table_format } : {}),
  };
}

/** Applies processing steps to the records of a page, in order (`yield_map` may turn one record into several). */
export function applySteps(records: unknown[], steps: ResourceConfig["processing_steps"]): unknown[] {
  let out = records;
  for (const step of steps ?? []) {
    if ("filter" in step) out = out.filter((r) => step.filter(r));
    else if ("map" in step) out = out.map((r) => step.map(r));
    else out = out.flatMap((r) => [...step.yield_map(r)]);
  }
  return out;
}
