import { DEFAULT_DECIMAL } from "../../../schema/infer.js";
import type { Column } from "../../../schema/types.js";
import { DestinationError } from "../../../util/errors.js";
import { duckdbColumnType, duckdbDialect } from "../../duckdb/duckdb-dialect.js";

/** A field of a Delta schema (`schemaString`): primitive types only in tables ferry writes. */
export interface DeltaField {
  name: string;
  type: string | Record<string, unknown>;
  nullable: boolean;
  metadata: Record<string, unknown>;
}

const q = duckdbDialect.quoteIdent;

/**
 * The Delta type of a ferry column. Delta has no time-of-day type: `time` is stored as text (`03:04:05.123456`), as
 * dlt does; `json` is text holding the JSON document (Delta's JSON readers have no JSON type either).
 *
 * @example
 * deltaType({ name: "amount", type: "decimal", precision: 18, scale: 2 }) // "decimal(18,2)"
 */
export function deltaType(c: Column): string {
  switch (c.type) {
    case "text":
    case "json":
    case "time":
      return "string";
    case "bigint":
      return "long";
    case "double":
      return "double";
    case "bool":
      return "boolean";
    case "timestamp":
      return "timestamp";
    case "date":
      return "date";
    case "binary":
      return "binary";
    case "decimal": {
      const p = Math.min(c.precision ?? DEFAULT_DECIMAL.precision, 38);
      return `decimal(${p},${Math.min(c.scale ?? DEFAULT_DECIMAL.scale, p)})`;
    }
  }
}

/** The DuckDB type a column has in Delta data files (time and json as VARCHAR, see `deltaType`). */
export function deltaFileType(c: Column): string {
  return c.type === "time" || c.type === "json" ? "VARCHAR" : duckdbColumnType(c);
}

/**
 * The SELECT expression that writes a column into a Delta data file from a value of its ferry type (read from a
 * load file or another data file): time and json become text.
 */
export function toFileExpr(c: Column, source = q(c.name)): string {
  return c.type === "time" || c.type === "json"
    ? `CAST(${source} AS VARCHAR) AS ${q(c.name)}`
    : source === q(c.name)
      ? source
      : `${source} AS ${q(c.name)}`;
}

/** The SELECT expression that writes a column of a typed JSONL load file (binary as base64) into a Delta data file. */
export function fromLoadFileExpr(c: Column): string {
  return c.type === "binary" ? `from_base64(${q(c.name)}) AS ${q(c.name)}` : toFileExpr(c);
}

/** A column's NULL in a Delta data file's type (for rows of files written before the column existed). */
export function nullFileExpr(c: Column): string {
  return `CAST(NULL AS ${deltaFileType(c)}) AS ${q(c.name)}`;
}

/** The SELECT expression that reads a column of a Delta data file back as its ferry type (for `dataset()`). */
export function fromFileExpr(c: Column): string {
  if (c.type === "time") return `CAST(${q(c.name)} AS TIME) AS ${q(c.name)}`;
  if (c.type === "json") return `CAST(${q(c.name)} AS JSON) AS ${q(c.name)}`;
  return q(c.name);
}

/** A Delta schema as `schemaString` JSON. */
export function schemaString(fields: readonly DeltaField[]): string {
  return JSON.stringify({ type: "struct", fields });
}

/** The fields of a `schemaString`. */
export function parseSchema(schema: string): DeltaField[] {
  const parsed = JSON.parse(schema) as { type?: string; fields?: DeltaField[] };
  return parsed.fields ?? [];
}

/**
 * The table's Delta schema after a load with these columns: the existing fields (in their order, also those other
 * writers added) and ferry's new columns after them. Returns undefined when nothing changes. A column whose type
 * differs from the table's is an error: Delta readers cannot mix types in one column.
 *
 * @example
 * evolveSchema(parseSchema(meta.schemaString), columns, "users") // fields with the new columns, or undefined
 */
export function evolveSchema(
  existing: readonly DeltaField[],
  columns: readonly Column[],
  table: string,
): DeltaField[] | undefined {
  const byName = new Map(existing.map((f) => [f.name.toLowerCase(), f]));
  const added: DeltaField[] = [];
  for (const c of columns) {
    const type = deltaType(c);
    const have = byName.get(c.name.toLowerCase());
    if (have) {
      if (have.name !== c.name || JSON.stringify(have.type) !== JSON.stringify(type)) {
        throw new DestinationError(
          `column "${c.name}" of Delta table "${table}" is ${JSON.stringify(have.name)} of type ${JSON.stringify(have.type)} in the table, but ${type} in ferry's schema`,
          {
            fields: { table, column: c.name },
            hint: "the table was changed by another writer; give the column its table type (columns hint), or load into a new table",
          },
        );
      }
      continue;
    }
    added.push({ name: c.name, type, nullable: true, metadata: {} });
    byName.set(c.name.toLowerCase(), added[added.length - 1]!);
  }
  return added.length > 0 ? [...existing, ...added] : undefined;
}
