/**
 * Shared by the sql-source-*.test.ts files: the two source servers (Postgres, MariaDB), each test getting its own
 * schema (Postgres) or database (MariaDB), and a way to run setup SQL on them.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import { type Service, service } from "../helpers/services.js";

export interface SourceServer {
  /** `postgres` or `mariadb`. */
  name: string;
  svc: Service;
  /** The URL a source uses for `space` (same database with a schema on Postgres; its own database on MariaDB). */
  url(space: string): string;
  /** The `schema` option for `space` (undefined on MariaDB: the URL's database is the schema). */
  schema(space: string): string | undefined;
  /** Quotes an identifier the server's way. */
  q(name: string): string;
  /** Creates `space` anew (dropping it first). */
  reset(space: string): Promise<void>;
  drop(space: string): Promise<void>;
  /** Runs statements (`;`-separated allowed) inside `space`. */
  exec(space: string, sql: string, values?: unknown[]): Promise<void>;
  /** Runs one query inside `space` and returns its rows. */
  query(space: string, sql: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Statements of this server still streaming a SELECT/COPY of `space`.`table` (as the source reads it). */
  activeReads(space: string, table: string): Promise<number>;
}

const pgServer = (svc: Service): SourceServer => {
  const run = async (sql: string, values?: unknown[]) => {
    const c = new pg.Client({ connectionString: svc.url });
    await c.connect();
    try {
      return (await c.query(sql, values)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };
  const q = (n: string) => `"${n.replaceAll('"', '""')}"`;
  return {
    name: "postgres",
    svc,
    url: () => svc.url,
    schema: (space) => space,
    q,
    reset: async (space) => {
      await run(`DROP SCHEMA IF EXISTS ${q(space)} CASCADE; CREATE SCHEMA ${q(space)}`);
    },
    drop: async (space) => {
      await run(`DROP SCHEMA IF EXISTS ${q(space)} CASCADE`);
    },
    exec: async (space, sql, values) => {
      await run(`SET search_path TO ${q(space)}; ${sql}`, values);
    },
    query: async (space, sql, values) => {
      const c = new pg.Client({ connectionString: svc.url });
      await c.connect();
      try {
        await c.query(`SET search_path TO ${q(space)}`);
        return (await c.query(sql, values)).rows as Record<string, unknown>[];
      } finally {
        await c.end();
      }
    },
    activeReads: async (space, table) => {
      const rows = await run(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY (SELECT%' AND strpos(query, $1) > 0 AND pid <> pg_backend_pid()",
        [` FROM ${q(space)}.${q(table)}`],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
};

const mariaServer = (svc: Service): SourceServer => {
  const base = new URL(svc.url);
  const connect = (database?: string) =>
    mysql.createConnection({
      host: base.hostname,
      port: Number(base.port),
      user: decodeURIComponent(base.username),
      password: decodeURIComponent(base.password),
      multipleStatements: true,
      ...(database ? { database } : {}),
    });
  const q = (n: string) => `\`${n.replaceAll("`", "``")}\``;
  const run = async (database: string | undefined, sql: string, values?: unknown[]) => {
    const c = await connect(database);
    try {
      const [rows] = await c.query(sql, values);
      return rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };
  return {
    name: "mariadb",
    svc,
    url: (space) => {
      const u = new URL(svc.url);
      u.pathname = `/${encodeURIComponent(space)}`;
      return u.toString();
    },
    schema: () => undefined,
    q,
    reset: async (space) => {
      await run(
        undefined,
        `DROP DATABASE IF EXISTS ${q(space)}; CREATE DATABASE ${q(space)} CHARACTER SET utf8mb4`,
      );
    },
    drop: async (space) => {
      await run(undefined, `DROP DATABASE IF EXISTS ${q(space)}`);
    },
    exec: async (space, sql, values) => {
      await run(space, sql, values);
    },
    query: (space, sql, values) => run(space, sql, values),
    activeReads: async (space, table) => {
      const rows = await run(
        undefined,
        "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE 'SELECT%' AND LOCATE(?, INFO) > 0 AND ID <> CONNECTION_ID()",
        [` FROM ${q(space)}.${q(table)}`],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
};

/**
 * Both source servers; a test suite runs once per server (`for (const s of await sourceServers()) describe(...)`),
 * skipped with the reason when a server is not running (a failure under CI=true).
 */
export async function sourceServers(): Promise<SourceServer[]> {
  return [pgServer(await service("postgres")), mariaServer(await service("mysql"))];
}
