import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from "@duckdb/node-api";
import type { QueryRow } from "../destination.js";
import type { SqlConnection } from "../sql/sql-connection.js";

/** Adapts a DuckDB connection to the shared SQL loader, converting results to plain JS values. */
export class DuckDbConnection implements SqlConnection {
  readonly #conn: DuckDBConnection;
  readonly #instance: DuckDBInstance;

  constructor(instance: DuckDBInstance, conn: DuckDBConnection) {
    this.#instance = instance;
    this.#conn = conn;
  }

  async execute(sql: string, params?: unknown[]): Promise<void> {
    await this.#conn.run(sql, params as DuckDBValue[] | undefined);
  }

  async query(sql: string, params?: unknown[]): Promise<QueryRow[]> {
    const reader = await this.#conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.getRowObjectsJS().map(toPlainRow);
  }

  async close(): Promise<void> {
    this.#conn.closeSync();
    this.#instance.closeSync();
  }
}

/** BIGINTs that fit a JS number become numbers; bigger ones stay bigint. */
function toPlainRow(row: Record<string, unknown>): QueryRow {
  for (const k in row) {
    const v = row[k];
    if (
      typeof v === "bigint" &&
      v >= BigInt(Number.MIN_SAFE_INTEGER) &&
      v <= BigInt(Number.MAX_SAFE_INTEGER)
    ) {
      row[k] = Number(v);
    }
  }
  return row;
}
