import type { SqlConnection } from "../sql/sql-connection.js";

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Bytes of a DuckDB memory limit setting (`"192MB"`, `"1GiB"`, `"512 mb"`); undefined for what it does not read
 * (DuckDB then decides, and ferry never raises the limit).
 *
 * @example
 * memoryLimitBytes("192MB") // 192_000_000
 */
export function memoryLimitBytes(limit: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(limit);
  if (!m) return undefined;
  const unit = UNITS[(m[2] || "b").toLowerCase()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/**
 * What a read_json load needs at least: each reader thread (two unless DuckDB runs with fewer threads) holds two
 * buffers of the maximum object size, plus room for the rows in flight.
 *
 * @example
 * readJsonMemoryNeed(16 * 2 ** 20)    // 128 MiB: two threads
 * readJsonMemoryNeed(16 * 2 ** 20, 1) // 96 MiB: one thread
 */
export function readJsonMemoryNeed(objectSize: number, threads?: number): number {
  const readers = Math.min(threads ?? 2, 2);
  return 2 * readers * objectSize + 64 * 2 ** 20;
}

/**
 * Runs `fn` with DuckDB's memory limit raised to `need` bytes when the configured `limit` is lower (a load file with
 * a 50 MB value needs 200 MB of read buffers), and sets it back afterwards: ordinary loads keep the small limit.
 */
export async function withMemoryFor<T>(
  conn: SqlConnection,
  limit: string,
  need: number,
  fn: () => Promise<T>,
): Promise<T> {
  const have = memoryLimitBytes(limit);
  if (have === undefined || need <= have) return fn();
  await conn.execute(`SET memory_limit = '${Math.ceil(need / 2 ** 20)}MiB'`);
  try {
    return await fn();
  } finally {
    // After a failed statement the transaction may refuse even a SET: the original error is the one to report,
    // and the connection is not reused after a failed load.
    await conn.execute(`SET memory_limit = '${Math.ceil(have / 2 ** 20)}MiB'`).catch(() => undefined);
  }
}
