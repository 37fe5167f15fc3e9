import { shortenIdentifier } from "../../schema/naming.js";
import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import { shortHash } from "../../util/hash.js";
import type { SqlDialect } from "./sql-dialect.js";

/**
 * `"dataset"."table"`, both quoted.
 *
 * @example
 * qualified(dialect, "gh", "issues") // '"gh"."issues"'
 */
export function qualified(d: SqlDialect, dataset: string, table: string): string {
  return `${d.quoteIdent(dataset)}.${d.quoteIdent(table)}`;
}

/**
 * `CREATE [kind] TABLE name (...)` for a table name that is already quoted (and qualified when needed).
 *
 * @example
 * createTableSql(d, qualified(d, "gh", "issues"), columns)        // a dataset table
 * createTableSql(d, d.quoteIdent("_ferry_stg_0"), columns, "TEMP") // a session temp table
 */
export function createTableSql(d: SqlDialect, name: string, columns: Column[], kind = ""): string {
  const cols = columns.map((c) => `${d.quoteIdent(c.name)} ${d.columnType(c)}`).join(", ");
  return `CREATE ${kind ? `${kind} ` : ""}TABLE ${name} (${cols})`;
}

/**
 * `ALTER TABLE ... ADD COLUMN` for a new column of a dataset table.
 *
 * @example
 * addColumnSql(d, "gh", "issues", { name: "title", type: "text" })
 */
export function addColumnSql(d: SqlDialect, dataset: string, table: string, column: Column): string {
  return `ALTER TABLE ${qualified(d, dataset, table)} ADD COLUMN ${d.quoteIdent(column.name)} ${d.columnType(column)}`;
}

/**
 * The unique index `INSERT ... ON CONFLICT` needs on the primary key of a merge table. Its name is the table's,
 * shortened to the identifier limit, with a hash of the key columns (a changed key gets its own index).
 *
 * @example
 * uniqueKeyIndexSql(d, "gh", "issues", ["id"], 63)
 * // CREATE UNIQUE INDEX IF NOT EXISTS "issues_ferry_pk_ab12cd" ON "gh"."issues" ("id")
 */
export function uniqueKeyIndexSql(
  d: SqlDialect,
  dataset: string,
  table: string,
  keys: string[],
  maxIdentifierLength: number,
): string {
  const name = shortenIdentifier(
    `${table}_ferry_pk_${shortHash(keys.join("\u0000"), 6)}`,
    maxIdentifierLength,
  );
  return `CREATE UNIQUE INDEX IF NOT EXISTS ${d.quoteIdent(name)} ON ${qualified(d, dataset, table)} (${keys.map((k) => d.quoteIdent(k)).join(", ")})`;
}

/**
 * DDL of the three system tables (contract names and columns).
 *
 * @example
 * for (const sql of systemTablesSql(d, "gh")) await conn.execute(sql);
 */
export function systemTablesSql(d: SqlDialect, dataset: string): string[] {
  const t = d.textType;
  const b = d.bigintType;
  const ts = d.timestampType;
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.loads)} (load_id ${t} NOT NULL, schema_name ${t}, status ${b} NOT NULL, inserted_at ${ts} NOT NULL, schema_version_hash ${t})`,
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.version)} (version ${b} NOT NULL, engine_version ${b} NOT NULL, inserted_at ${ts} NOT NULL, schema_name ${t} NOT NULL, version_hash ${t} NOT NULL, schema ${t} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.state)} (version ${b} NOT NULL, engine_version ${b} NOT NULL, pipeline_name ${t} NOT NULL, state ${t} NOT NULL, created_at ${ts} NOT NULL, version_hash ${t}, _ferry_load_id ${t} NOT NULL)`,
  ];
}

/**
 * Columns of a table in creation order, system columns included.
 *
 * @example
 * tableColumns(schema.tables.issues).map((c) => c.name) // ["_ferry_id", "_ferry_load_id", "id", ...]
 */
export function tableColumns(table: Table): Column[] {
  return Object.values(table.columns);
}

/**
 * Groups catalog rows (`table_name`, `column_name`, in column order) into the columns of each table: what
 * `SqlDriver.existingColumns` returns.
 *
 * @example
 * columnsByTable([{ table_name: "t", column_name: "id" }]) // Map { "t" => Set { "id" } }
 */
export function columnsByTable(rows: Array<Record<string, unknown>>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    const t = String(r.table_name);
    const set = out.get(t) ?? new Set<string>();
    out.set(t, set);
    set.add(String(r.column_name));
  }
  return out;
}
