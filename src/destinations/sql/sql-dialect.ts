import type { Column } from "../../schema/types.js";

/** How a SQL destination spells names and types. */
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
}

/** Standard SQL double-quote identifier quoting, used by DuckDB and Postgres. */
export function quoteIdentAnsi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteralAnsi(value: string): string {
  if (value.includes("\u0000")) throw new Error("NUL characters cannot appear in SQL literals");
  return `'${value.replace(/'/g, "''")}'`;
}
