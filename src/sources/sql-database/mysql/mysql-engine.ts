import mysql from "mysql2";
import type { SqlUrl } from "../connection-url.js";
import type { SqlEngine, SqlLocation, SqlReadOptions, SqlTableInfo } from "../engine.js";
import { connectError, socketFailure } from "../errors.js";
import { readMysqlPages } from "./mysql-read.js";
import { type MysqlQuery, reflectMysql } from "./mysql-reflect.js";

/**
 * Driver options that keep every value exact: BIGINT and DECIMAL as strings (no float rounding), dates and
 * timestamps as the server's text (no shift by the local time zone), JSON as text (parsed here).
 */
export const MYSQL_VALUE_OPTIONS = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  decimalNumbers: false,
  dateStrings: true,
  jsonStrings: true,
  timezone: "Z",
  charset: "utf8mb4",
} as const;

/** A MySQL/MariaDB source connection: reflection from information_schema, rows through a streaming query. */
class MysqlEngine implements SqlEngine {
  readonly where: SqlLocation;
  readonly defaultSchema: string;
  readonly #conn: mysql.Connection;
  #closed = false;

  constructor(conn: mysql.Connection, where: SqlLocation) {
    this.#conn = conn;
    this.where = where;
    this.defaultSchema = where.database;
  }

  readonly #query: MysqlQuery = (sql, values) =>
    new Promise((resolve, reject) => {
      this.#conn.query({ sql, values }, (err, rows) =>
        err ? reject(err) : resolve(rows as Record<string, unknown>[]),
      );
    });

  reflect(options: { schema: string; includeViews: boolean; tables?: string[] }): Promise<SqlTableInfo[]> {
    return reflectMysql(this.#query, this.where, options);
  }

  readPages(table: SqlTableInfo, options: SqlReadOptions): AsyncIterable<Record<string, unknown>[]> {
    return readMysqlPages(this.#conn, table, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // destroy(), not end(): end() would wait for a stream that was stopped early to be read to its end.
    this.#conn.destroy();
  }
}

/**
 * Connects to MySQL or MariaDB (session time zone UTC); failures name host, port, database and user.
 *
 * @example
 * const engine = await connectMysql(parseSqlUrl("mysql://ferry:secret@127.0.0.1:3306/shop"));
 */
export async function connectMysql(url: SqlUrl): Promise<SqlEngine> {
  const w = url.where;
  const conn = mysql.createConnection({
    host: w.host,
    port: w.port,
    user: w.user,
    ...(url.password !== undefined ? { password: url.password } : {}),
    ...(w.database ? { database: w.database } : {}),
    connectTimeout: 15_000,
    ...MYSQL_VALUE_OPTIONS,
  });
  // Errors after connecting (a dropped idle connection) surface on the next query, not as a crash.
  conn.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) =>
      conn.query("SET time_zone = '+00:00'", (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    conn.destroy();
    throw connectError(w, classify(err), err, url.password);
  }
  return new MysqlEngine(conn, w);
}

function classify(err: unknown) {
  const code = (err as { code?: unknown })?.code;
  if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_NOT_SUPPORTED_AUTH_MODE") return "auth" as const;
  if (code === "ER_BAD_DB_ERROR" || code === "ER_DBACCESS_DENIED_ERROR") return "database" as const;
  return socketFailure(err) ?? "other";
}
