import { Readable } from "node:stream";
import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";
import { DestinationError, errorMessage } from "../../util/errors.js";
import { type Logger, redactSecrets } from "../../util/log.js";
import type { QueryRow } from "../destination.js";
import { clickhouseCode, isTransientClickHouseError, serverMessage } from "./clickhouse-errors.js";
import type { ClickHouseUrl } from "./clickhouse-url.js";
import { type ServerFeatures, serverFeatures } from "./server-features.js";
import { type ColumnOverrides, parseTsvResult } from "./tsv-results.js";

/** Settings of one statement (sent as URL parameters, as ClickHouse's HTTP interface takes them). */
export type Settings = Record<string, string | number>;

export interface StatementOptions {
  settings?: Settings;
  /** Names the statement on the server (`system.processes`, `system.query_log`). */
  queryId?: string;
}

/** Long statements (a merge of a big table, a mutation) must not time out on the client's 30 s default. */
const REQUEST_TIMEOUT_MS = 3_600_000;

/** Routes the client's own log lines to ferry's logger at debug level (ferry reports the errors it raises). */
function loggerClass(log: Logger) {
  const line = (p: { module: string; message: string; err?: Error }) =>
    log.debug(
      redactSecrets(`clickhouse client (${p.module}): ${p.message}${p.err ? `: ${p.err.message}` : ""}`),
    );
  return class {
    trace() {}
    debug() {}
    info() {}
    warn = line;
    error = line;
  };
}

/**
 * One ClickHouse server over its HTTP interface (`@clickhouse/client`, loaded when a ClickHouse destination first
 * connects): statements, queries read as `TabSeparatedWithNamesAndTypes` (exact bytes and types, on every server
 * version), and inserts streamed as TabSeparated. Knows the server's version and features.
 *
 * @example
 * const conn = await ClickHouseConnection.open(parseClickHouseUrl("clickhouse://127.0.0.1:8123/default"), log);
 * await conn.command("CREATE DATABASE IF NOT EXISTS `gh`");
 * const rows = await conn.query("SELECT count() AS n FROM `gh`.`issues`");
 */
export class ClickHouseConnection {
  readonly features: ServerFeatures;
  readonly url: ClickHouseUrl;
  readonly #client: ClickHouseClient;
  readonly #log: Logger;

  private constructor(client: ClickHouseClient, url: ClickHouseUrl, features: ServerFeatures, log: Logger) {
    this.#client = client;
    this.url = url;
    this.features = features;
    this.#log = log;
  }

  /**
   * Connects (as `url.database`, or `database` when given) and asks the server's version; a server that cannot be
   * reached or refuses the credentials is a `DestinationError` that says what to check.
   */
  static async open(url: ClickHouseUrl, log: Logger, database?: string): Promise<ClickHouseConnection> {
    const { createClient, ClickHouseLogLevel } = await import("@clickhouse/client");
    const client = createClient({
      url: url.endpoint,
      username: url.username,
      password: url.password,
      database: database ?? url.database,
      application: "ferry",
      request_timeout: REQUEST_TIMEOUT_MS,
      compression: { response: true, request: false },
      clickhouse_settings: url.settings as ClickHouseSettings,
      log: { LoggerClass: loggerClass(log), level: ClickHouseLogLevel.WARN },
    });
    const conn = new ClickHouseConnection(client, url, serverFeatures("0.0"), log);
    try {
      const [row] = await conn.query("SELECT version() AS v");
      return new ClickHouseConnection(client, url, serverFeatures(String(row?.v ?? "0.0")), log);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw connectError(err, url, database ?? url.database);
    }
  }

  /** Runs a statement that returns nothing (DDL, ALTER, INSERT ... SELECT). */
  async command(sql: string, o: StatementOptions = {}): Promise<void> {
    this.#log.debug(`clickhouse: ${abbreviate(sql)}`);
    await this.#client.command({
      query: sql,
      clickhouse_settings: o.settings as ClickHouseSettings,
      ...(o.queryId ? { query_id: o.queryId } : {}),
    });
  }

  /**
   * Runs a query and returns its rows, values decoded by their ClickHouse types (see `parseTsvResult`). The server
   * finishes the query before answering (`wait_end_of_query`), so an error is never half a result.
   */
  async query(sql: string, o: StatementOptions & { overrides?: ColumnOverrides } = {}): Promise<QueryRow[]> {
    this.#log.debug(`clickhouse: ${abbreviate(sql)}`);
    const res = await this.#client.exec({
      query: sql,
      clickhouse_settings: {
        default_format: "TabSeparatedWithNamesAndTypes",
        wait_end_of_query: 1,
        ...o.settings,
      } as ClickHouseSettings,
      ...(o.queryId ? { query_id: o.queryId } : {}),
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res.stream) chunks.push(chunk as Buffer);
    return parseTsvResult(Buffer.concat(chunks), o.overrides);
  }

  /**
   * Streams rows into an `INSERT ... FORMAT TabSeparated` statement: the body is sent as it is produced (memory
   * holds a chunk at a time). Returns the rows the server reports as written, when it reports them.
   */
  async insert(
    sql: string,
    body: Iterable<string> | AsyncIterable<string>,
    o: StatementOptions = {},
  ): Promise<number | undefined> {
    this.#log.debug(`clickhouse: ${abbreviate(sql)}`);
    const res = await this.#client.exec({
      query: sql,
      values: Readable.from(body),
      clickhouse_settings: o.settings as ClickHouseSettings,
      ...(o.queryId ? { query_id: o.queryId } : {}),
    });
    for await (const _ of res.stream) {
      // drained: the answer of an insert is empty
    }
    const written = (res as { summary?: { written_rows?: string } }).summary?.written_rows;
    return written === undefined ? undefined : Number(written);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/** A statement shortened for debug logs (inserts carry no data in their text; big DDL does not flood the log). */
function abbreviate(sql: string): string {
  return sql.length > 300 ? `${sql.slice(0, 300)}...` : sql;
}

/** What to check when the first query of a connection fails. */
function connectError(err: unknown, url: ClickHouseUrl, database: string): DestinationError {
  const code = clickhouseCode(err);
  const where = url.endpoint;
  const hint =
    code === 516 ||
    code === 192 ||
    code === 193 ||
    /Authentication failed|password is incorrect/i.test(errorMessage(err))
      ? `check the user name and password in the URL (clickhouse://user:password@host:port/database): user "${url.username}"`
      : code === 81
        ? `database "${database}" does not exist on ${where}: create it (CREATE DATABASE ...) or fix the database in the URL`
        : /ECONNREFUSED/.test(errorMessage(err)) || (err as { code?: unknown })?.code === "ECONNREFUSED"
          ? `nothing accepts connections on ${where}: check that ClickHouse runs, and the host and HTTP port (8123, or 8443 for clickhouses://) in the URL`
          : `check the destination URL (${url.safeUrl}) and that the server's HTTP interface answers on ${where}`;
  return new DestinationError(`cannot connect to ClickHouse at ${where}: ${serverMessage(err)}`, {
    cause: err,
    transient: isTransientClickHouseError(err),
    hint,
  });
}
