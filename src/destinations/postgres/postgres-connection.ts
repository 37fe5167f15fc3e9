import { pipeline } from "node:stream/promises";
import type { Client, ClientConfig } from "pg";
import { DestinationError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { QueryRow } from "../destination.js";
import type { SqlConnection } from "../sql/sql-connection.js";
import { connectError, type PostgresTarget, withServerContext } from "./postgres-errors.js";
import { resultTypes } from "./postgres-results.js";

type PgModule = typeof import("pg");

const rethrow = (err: unknown): never => {
  throw withServerContext(err);
};
type CopyModule = typeof import("pg-copy-streams");

/**
 * How to open a session: the connection string (password included) and where it points, safe to print.
 *
 * @example
 * const { connectionString, target } = parsePostgresUrl(url);
 * const session: PostgresSession = { connectionString, target };
 */
export interface PostgresSession {
  connectionString: string;
  target: PostgresTarget;
  /** Seconds to wait for a connection before giving up (default 15). */
  connectTimeoutSeconds?: number;
}

/**
 * A pg Client adapted to the shared SQL loader. Sessions run in UTC with application_name `ferry`. A connection
 * lost between transactions is reopened on the next statement; one lost inside a transaction fails every
 * statement until `rollback()` (nothing half-done can continue on a new session).
 *
 * @example
 * const conn = await PostgresConnection.open({ connectionString: url, target }, logger);
 * await conn.query("select 1 as x"); // [{ x: 1 }]
 */
export class PostgresConnection implements SqlConnection {
  readonly #pg: PgModule;
  readonly #copy: CopyModule;
  readonly #session: PostgresSession;
  readonly #log: Logger;
  #client: Client | undefined;
  #broken = false;
  #inTransaction = false;

  private constructor(pg: PgModule, copy: CopyModule, session: PostgresSession, log: Logger) {
    this.#pg = pg;
    this.#copy = copy;
    this.#session = session;
    this.#log = log;
  }

  /** Connects now, so a wrong URL or a server that is down fails here with a clear message. */
  static async open(session: PostgresSession, log: Logger): Promise<PostgresConnection> {
    // CommonJS packages: their exports are the default export of the ESM namespace.
    const pgNs = (await import("pg")) as PgModule & { default?: PgModule };
    const copyNs = (await import("pg-copy-streams")) as CopyModule & { default?: CopyModule };
    const conn = new PostgresConnection(pgNs.default ?? pgNs, copyNs.default ?? copyNs, session, log);
    await conn.#ready();
    return conn;
  }

  get target(): PostgresTarget {
    return this.#session.target;
  }

  async #connect(): Promise<Client> {
    const config: ClientConfig = {
      connectionString: this.#session.connectionString,
      application_name: "ferry",
      connectionTimeoutMillis: (this.#session.connectTimeoutSeconds ?? 15) * 1000,
      keepAlive: true,
      types: resultTypes(this.#pg.types.getTypeParser),
    };
    const client = new this.#pg.Client(config);
    // A socket error or a terminated backend arrives as an 'error' event: without a listener it would end the process.
    client.on("error", (err) => {
      this.#broken = true;
      this.#log.debug(`postgres connection lost: ${err.message}`);
    });
    client.on("end", () => {
      this.#broken = true;
    });
    try {
      await client.connect();
      await client.query("SET TIME ZONE 'UTC'");
    } catch (err) {
      await client.end().catch(() => undefined);
      throw connectError(err, this.#session.target);
    }
    return client;
  }

  async #ready(): Promise<Client> {
    if (this.#client && !this.#broken) return this.#client;
    if (this.#client && this.#inTransaction) {
      throw new DestinationError(
        "the connection to Postgres was lost in the middle of a load; nothing of it was committed",
        { transient: true, hint: "ferry retries the whole package on a new connection" },
      );
    }
    const old = this.#client;
    this.#client = undefined;
    if (old) await old.end().catch(() => undefined);
    this.#broken = false;
    this.#client = await this.#connect();
    return this.#client;
  }

  async execute(sql: string, params?: unknown[]): Promise<void> {
    const client = await this.#ready();
    await client.query(sql, params).catch(rethrow);
  }

  async query(sql: string, params?: unknown[]): Promise<QueryRow[]> {
    const client = await this.#ready();
    const result = await client.query(sql, params).catch(rethrow);
    return result.rows as QueryRow[];
  }

  /**
   * Streams `COPY ... FROM STDIN` data: chunks of rows in COPY's text format, written with backpressure (the
   * next chunk waits for the socket to drain). Returns the rows the server stored. A failing source aborts the
   * COPY (the server discards it); a lost connection rejects.
   */
  async copyFrom(sql: string, chunks: AsyncIterable<string>): Promise<number> {
    const client = await this.#ready();
    const stream = client.query(this.#copy.from(sql));
    await pipeline(chunks, stream).catch(rethrow);
    return stream.rowCount;
  }

  async begin(): Promise<void> {
    const client = await this.#ready();
    await client.query("BEGIN");
    this.#inTransaction = true;
  }

  async commit(): Promise<void> {
    const client = await this.#ready();
    try {
      await client.query("COMMIT");
    } finally {
      this.#inTransaction = false;
    }
  }

  async rollback(): Promise<void> {
    const client = this.#client;
    const live = client !== undefined && !this.#broken;
    this.#inTransaction = false;
    // A lost connection took its transaction with it: the server rolled back.
    if (live) await client.query("ROLLBACK").catch(() => undefined);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
