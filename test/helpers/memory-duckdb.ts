import { DuckDBInstance } from "@duckdb/node-api";

/** A fresh in-memory DuckDB (UTC session) for running generated SQL and reading results back. */
export interface MemoryDuckDb {
  /** Runs statements in order. */
  run(...sql: string[]): Promise<void>;
  /** Rows with every value as DuckDB's exact text (BIGINT, DECIMAL, timestamps as strings; BLOB as `\xNN`). */
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): void;
}

/**
 * Opens a fresh in-memory database.
 *
 * @example
 * const db = await memoryDuckDb();
 * try { await db.run("CREATE TABLE t (x INT)"); } finally { db.close(); }
 */
export async function memoryDuckDb(): Promise<MemoryDuckDb> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return {
    async run(...sql) {
      for (const s of sql) await conn.run(s);
    },
    async rows(sql) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
