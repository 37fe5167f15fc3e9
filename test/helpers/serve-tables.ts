/**
 * The `events` table of `ferry serve` read back for tests: from DuckDB (in this process when no load can run, or from
 * another process, as a second program would), from Postgres, and a process that holds a DuckDB file open.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { REPO, waitFor } from "./serve.js";

/** The child that holds or queries a DuckDB file from another process. */
export const DUCKDB_CHILD = join(import.meta.dirname, "serve-duckdb-child.ts");

/** A row of `events` as tests compare it: timestamps as ISO 8601 (ms), JSON columns parsed. */
export interface EventRow {
  uuid: string;
  event: string;
  distinct_id: string;
  timestamp: string;
  created_at: string;
  properties: Record<string, unknown>;
  set: Record<string, unknown> | null;
  set_once: Record<string, unknown> | null;
  elements_chain: string | null;
  ip: string | null;
  [materialized: string]: unknown;
}

/** The SELECT of `events` for DuckDB: timestamps as epoch ms, JSON as text (plus `extra` columns as they are). */
export function duckdbEventsSql(dataset: string, extra: string[] = []): string {
  const more = extra.map((c) => `, "${c}"`).join("");
  return (
    `SELECT uuid, event, distinct_id, epoch_ms(timestamp)::DOUBLE AS timestamp, epoch_ms(created_at)::DOUBLE AS created_at, ` +
    `properties::VARCHAR AS properties, "set"::VARCHAR AS "set", set_once::VARCHAR AS set_once, elements_chain, ip${more} ` +
    `FROM "${dataset}".events ORDER BY timestamp, uuid`
  );
}

/** Rows as DuckDB's JSON reader gives them -> EventRow. */
export function toEventRows(rows: Array<Record<string, unknown>>): EventRow[] {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));
  return rows.map((r) => ({
    ...r,
    uuid: String(r.uuid),
    event: String(r.event),
    distinct_id: String(r.distinct_id),
    timestamp: new Date(Number(r.timestamp)).toISOString(),
    created_at: new Date(Number(r.created_at)).toISOString(),
    properties: json(r.properties),
    set: json(r.set),
    set_once: json(r.set_once),
    elements_chain: (r.elements_chain as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
  }));
}

/** Runs a query on a DuckDB file opened read-only in this process (only when no load can run at the same time). */
export async function queryDuckDb(path: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  try {
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Waits until the `events` table of a DuckDB file that a server in ANOTHER process writes holds exactly `n` rows
 * (reading between its loads: a locked file or a table not made yet is tried again).
 */
export async function waitForDuckDbRows(
  path: string,
  dataset: string,
  n: number,
  timeoutMs = 90_000,
): Promise<void> {
  let last: unknown;
  await waitFor(
    `${n} rows in ${dataset}.events of ${path}`,
    async () => {
      try {
        last = Number((await queryDuckDb(path, `SELECT count(*) AS n FROM "${dataset}".events`))[0]?.n);
      } catch (err) {
        last = String((err as Error).message);
        if (/lock|does not exist|No such file/i.test(String(last))) return undefined;
        throw err;
      }
      return last === n;
    },
    timeoutMs,
    () => last,
  );
}

/** The `events` rows of a dataset in a DuckDB file (read in this process; see `queryDuckDb`). */
export async function duckdbEvents(path: string, dataset: string, extra: string[] = []): Promise<EventRow[]> {
  return toEventRows(await queryDuckDb(path, duckdbEventsSql(dataset, extra)));
}

/** The `events` rows of a dataset in Postgres (`url`), read while the server runs (Postgres has no file lock). */
export async function postgresEvents(
  url: string,
  dataset: string,
  extra: string[] = [],
): Promise<EventRow[]> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const more = extra.map((c) => `, "${c}"`).join("");
    const { rows } = await client.query(
      `SELECT uuid, event, distinct_id, timestamp, created_at, properties, "set", set_once, elements_chain, ip${more} ` +
        `FROM "${dataset}".events ORDER BY timestamp, uuid`,
    );
    return rows.map((r: Record<string, unknown>) => ({
      ...r,
      timestamp: (r.timestamp as Date).toISOString(),
      created_at: (r.created_at as Date).toISOString(),
    })) as EventRow[];
  } finally {
    await client.end();
  }
}

/** `[column, type]` of a Postgres table, in column order (information_schema's data_type). */
export async function postgresColumns(
  url: string,
  dataset: string,
  table: string,
): Promise<Array<[string, string]>> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
      [dataset, table],
    );
    return rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]);
  } finally {
    await client.end();
  }
}

/**
 * Runs a query from another process (test/helpers/serve-duckdb-child.ts), as a second program reading the file while
 * the server runs would: it waits while the server holds the file for a load.
 */
export function queryDuckDbElsewhere(path: string, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", DUCKDB_CHILD, "query", path, sql], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const parsed = out.trim() ? JSON.parse(out.trim().split("\n").at(-1) as string) : undefined;
      if (code === 0 && Array.isArray(parsed)) resolve(parsed);
      else reject(new Error(`DuckDB reader exited with ${code}: ${out}${err}`));
    });
  });
}

/** Another process holding a DuckDB file open (read-only: DuckDB's lock keeps a writer out until it lets go). */
export interface FileHolder {
  child: ChildProcessWithoutNullStreams;
  /** Closes the file and waits for the process to end (idempotent). */
  release(): Promise<void>;
}

/** Starts a process that opens the DuckDB file and keeps it open until `release()`. */
export async function holdDuckDbFile(path: string): Promise<FileHolder> {
  const child = spawn(process.execPath, ["--import", "tsx", DUCKDB_CHILD, "hold", path], { cwd: REPO });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d;
  });
  const exited = once(child, "exit");
  await waitFor("the reader to open the file", () => out.includes("held") || child.exitCode !== null);
  assert.ok(out.includes("held"), `the reader opened the file: ${out}`);
  return {
    child,
    async release() {
      if (child.exitCode === null) child.stdin.write("release\n");
      const [code] = await exited;
      assert.equal(code, 0, `the reader closed the file: ${out}`);
      assert.ok(out.includes("released"), out);
    },
  };
}
