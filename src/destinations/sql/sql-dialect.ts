import type { Column } from "../../schema/types.js";

/**
 * How a SQL destination spells names, types and the few statements that differ between engines.
 *
 * @example
 * const pg: SqlDialect = { quoteIdent: quoteIdentAnsi, ..., upsert: "on-conflict" };
 */
export interface SqlDialect {
  /** Quotes and escapes an identifier: nothing from data can change the SQL around it. */
  quoteIdent(name: string): string;
  quoteLiteral(value: string): string;
  /** The destination column type for a ferry column. */
  columnType(column: Column): string;
  /** Type name for a JSON text column and a timestamp column (system tables). */
  readonly textType: string;
  readonly bigintType: string;
  readonly timestampType: string;
  /** Makes `dataset` the default schema of the session for unqualified names. */
  useDatasetSql(dataset: string): string;
  /**
   * How merge `upsert` writes rows: `update-insert` (UPDATE matching keys, then INSERT the new ones),
   * `on-conflict` (`INSERT ... ON CONFLICT (pk) DO UPDATE`, backed by a unique index on the primary key), or `merge`
   * (one `MERGE INTO` that deletes, updates and inserts: the table is joined with the staged rows once).
   */
  readonly upsert: "update-insert" | "on-conflict" | "merge";
}

/**
 * Standard SQL double-quote identifier quoting, used by DuckDB and Postgres.
 *
 * @example
 * quoteIdentAnsi('my "t"') // '"my ""t"""'
 */
export function quoteIdentAnsi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Standard SQL string literal (quotes doubled); NUL characters are refused.
 *
 * @example
 * quoteLiteralAnsi("it's") // "'it''s'"
 */
export function quoteLiteralAnsi(value: string): string {
  if (value.includes("\u0000")) throw new Error("NUL characters cannot appear in SQL literals");
  return `'${value.replace(/'/g, "''")}'`;
}
