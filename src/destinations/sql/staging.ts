import type { Column, Table } from "../../schema/types.js";
import { createTableSql, qualified } from "./ddl.js";
import type { SqlDialect } from "./sql-dialect.js";

/**
 * Where merge loads stage their rows before merging them into the dataset: data each SQL driver declares.
 * - `temp`: session temp tables `_ferry_stg_<n>` (DuckDB).
 * - `schema`: tables named like their targets in a schema next to the dataset (Postgres: `<dataset>_staging`),
 *   created with `tableKind` (`UNLOGGED`: no WAL for rows that live for one transaction).
 * Either way the staging tables are created and dropped inside the package transaction.
 *
 * @example
 * const staging: MergeStaging = { kind: "schema", schemaOf: (ds) => `${ds}_staging`, tableKind: "UNLOGGED" };
 */
export type MergeStaging =
  | { kind: "temp" }
  | { kind: "schema"; schemaOf: (dataset: string) => string; tableKind?: string };

/**
 * The staging tables of one table family: their quoted names and the statements that create and drop them.
 *
 * @example
 * const plan = stagingPlan(dialect, { kind: "temp" }, "gh", tables);
 * for (const sql of plan.setup(seqColumn)) await conn.execute(sql);
 */
export interface StagingPlan {
  /** Quoted (and qualified, when in a schema) name of the staging table of `table`. */
  name(table: string): string;
  /** Creates the staging tables with the columns of their targets plus `extra`. */
  setup(extra: Column[]): string[];
  /** Drops them again. */
  teardown(): string[];
}

/**
 * Plans the staging tables of a table family for a driver's `MergeStaging`.
 *
 * @example
 * const plan = stagingPlan(pgDialect, { kind: "schema", schemaOf: (d) => `${d}_staging` }, "gh", [issues]);
 * plan.name("issues") // '"gh_staging"."issues"'
 */
export function stagingPlan(
  d: SqlDialect,
  staging: MergeStaging,
  dataset: string,
  tables: Table[],
): StagingPlan {
  const index = new Map(tables.map((t, i) => [t.name, i]));
  const name = (table: string): string => {
    if (staging.kind === "temp") return d.quoteIdent(`_ferry_stg_${index.get(table) ?? -1}`);
    return qualified(d, staging.schemaOf(dataset), table);
  };
  const kind = staging.kind === "temp" ? "TEMP" : (staging.tableKind ?? "");
  return {
    name,
    setup(extra) {
      const out: string[] = [];
      if (staging.kind === "schema") {
        out.push(`CREATE SCHEMA IF NOT EXISTS ${d.quoteIdent(staging.schemaOf(dataset))}`);
        for (const t of tables) out.push(`DROP TABLE IF EXISTS ${name(t.name)}`);
      }
      for (const t of tables)
        out.push(createTableSql(d, name(t.name), [...Object.values(t.columns), ...extra], kind));
      return out;
    },
    teardown: () => tables.map((t) => `DROP TABLE ${name(t.name)}`),
  };
}
