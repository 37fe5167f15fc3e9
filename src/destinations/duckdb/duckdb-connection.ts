import type { DuckDBConnection, DuckDBInstance, DuckDBValue, DuckDBValueConverter } from "@duckdb/node-api";
import type { QueryRow } from "../destination.js";
import type { SqlConnection } from "../sql/sql-connection.js";

type DuckDbApi = typeof import("@duckdb/node-api");

/**
 * Query results as plain JS values that lose nothing: BIGINT as number when safe (bigint otherwise), DECIMAL as
 * number when its digits fit a double exactly (string otherwise), TIME as "HH:MM:SS", TIMESTAMPTZ as Date.
 */
function plainConverter(api: DuckDbApi): DuckDBValueConverter<unknown> {
  const { DuckDBTypeId, JSDuckDBValueConverter } = api;
  const convert: DuckDBValueConverter<unknown> = (value, type, self) => {
    if (value === null) return null;
    switch (type.typeId) {
      case DuckDBTypeId.BIGINT:
      case DuckDBTypeId.HUGEINT:
      case DuckDBTypeId.UBIGINT:
      case DuckDBTypeId.UHUGEINT: {
        const v = value as bigint;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case DuckDBTypeId.DECIMAL: {
        const text = String(value);
        const n = Number(text);
        return text.replace(/^-?0*|\.|0+$/g, "").length <= 15 ? n : text;
      }
      case DuckDBTypeId.TIME:
        return String(value);
      default:
        return JSDuckDBValueConverter(value, type, self as never);
    }
  };
  return convert;
}

/** Adapts a DuckDB connection to the shared SQL loader. */
export class DuckDbConnection implements SqlConnection {
  readonly #conn: DuckDBConnection;
  readonly #instance: DuckDBInstance;
  readonly #convert: DuckDBValueConverter<unknown>;

  readonly #ownsInstance: boolean;

  /** `ownsInstance`: close the database with the connection (not for a shared in-memory database). */
  constructor(api: DuckDbApi, instance: DuckDBInstance, conn: DuckDBConnection, ownsInstance = true) {
    this.#instance = instance;
    this.#ownsInstance = ownsInstance;
    this.#conn = conn;
    this.#convert = plainConverter(api);
  }

  async execute(sql: string, params?: unknown[]): Promise<void> {
    await this.#conn.run(sql, params as DuckDBValue[] | undefined);
  }

  async query(sql: string, params?: unknown[]): Promise<QueryRow[]> {
    const reader = await this.#conn.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.convertRowObjects(this.#convert) as QueryRow[];
  }

  async begin(): Promise<void> {
    await this.#conn.run("BEGIN TRANSACTION");
  }

  async commit(): Promise<void> {
    await this.#conn.run("COMMIT");
  }

  async rollback(): Promise<void> {
    await this.#conn.run("ROLLBACK").catch(() => undefined);
  }

  async close(): Promise<void> {
    // Closing a database file would checkpoint its WAL synchronously on the caller's thread (about 100 ms after a small
    // load into a big table, blocking a server's event loop). The WAL stays instead: committed data is durable in it,
    // readers replay it, and DuckDB checkpoints during a later commit once the WAL passes its threshold, which costs
    // less than a checkpoint per load (each rewrites the table's metadata: 175 against 99 ms per 10,000-row load into
    // a table of 20M rows, docs/benchmarks.md).
    if (this.#ownsInstance)
      await this.#conn.run("PRAGMA disable_checkpoint_on_shutdown").catch(() => undefined);
    this.#conn.closeSync();
    if (this.#ownsInstance) this.#instance.closeSync();
  }
}
