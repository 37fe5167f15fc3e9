import pg from "pg";
import type { SqlUrl } from "../connection-url.js";
import type { SqlEngine, SqlLocation, SqlReadOptions, SqlTableInfo, TypedCsvPart } from "../engine.js";
import { connectError, socketFailure } from "../errors.js";
import { exportPostgresCsv } from "./pg-export.js";
import { readPostgresPages } from "./pg-read.js";
import { reflectPostgres } from "./pg-reflect.js";

/**
 * Session settings every connection starts with (sent in the startup packet: no extra round trip), so values
 * arrive in one unambiguous text form: timestamps in UTC, ISO dates, ISO 8601 intervals, exact floats.
 */
const SESSION_OPTIONS = [
  "-c TimeZone=UTC",
  "-c DateStyle=ISO,YMD",
  "-c IntervalStyle=iso_8601",
  "-c extra_float_digits=3",
  "-c bytea_output=hex",
  "-c client_encoding=UTF8",
].join(" ");

/**
 * Type parsers of this connection only (pg's global registry is left alone): every value stays the text the
 * server sent, so nothing is rounded (numeric, int8) or shifted (dates) on the way.
 */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** A Postgres source connection: reflection from pg_catalog, rows through `COPY (SELECT ...) TO STDOUT`. */
class PostgresEngine implements SqlEngine {
  readonly where: SqlLocation;
  readonly defaultSchema = "public";
  readonly #client: pg.Client;
  /** Opens another connection like this one (parallel exports). */
  readonly #open: () => Promise<pg.Client>;
  #closed = false;

  constructor(client: pg.Client, where: SqlLocation, open: () => Promise<pg.Client>) {
    this.#client = client;
    this.where = where;
    this.#open = open;
  }

  reflect(options: { schema: string; includeViews: boolean; tables?: string[] }): Promise<SqlTableInfo[]> {
    return reflectPostgres(this.#client, this.where, options);
  }

  readPages(table: SqlTableInfo, options: SqlReadOptions): AsyncIterable<Record<string, unknown>[]> {
    return readPostgresPages(this.#client, table, options);
  }

  exportTypedCsv(
    table: SqlTableInfo,
    pathFor: (part: number) => string,
  ): Promise<TypedCsvPart[] | undefined> {
    return exportPostgresCsv(this.#client, this.#open, table, pathFor);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // end() waits for the server's goodbye; a connection stopped mid-COPY may never send it.
    await Promise.race([
      this.#client.end().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
  }
}

/**
 * Connects to Postgres; failures name host, port, database and user and say what to check.
 *
 * @example
 * const engine = await connectPostgres(parseSqlUrl("postgres://ferry:secret@127.0.0.1:5432/shop"));
 */
export async function connectPostgres(url: SqlUrl): Promise<SqlEngine> {
  return new PostgresEngine(await connectClient(url), url.where, () => connectClient(url));
}

async function connectClient(url: SqlUrl): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url.url,
    options: SESSION_OPTIONS,
    types: TEXT_TYPES,
    application_name: "ferry",
    connectionTimeoutMillis: 15_000,
  });
  // An idle connection dropped by the server must not crash the process: the next query reports it.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectError(url.where, classify(err), err, url.password);
  }
  return client;
}

function classify(err: unknown) {
  const code = (err as { code?: unknown })?.code;
  // 28P01 invalid_password, 28000 invalid_authorization_specification (pg_hba), 3D000 invalid_catalog_name.
  if (code === "28P01" || code === "28000") return "auth" as const;
  if (code === "3D000") return "database" as const;
  return socketFailure(err) ?? "other";
}
