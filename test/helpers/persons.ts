/**
 * Person processing tests: a `ferry serve` started in this process, events posted as PostHog's clients post them,
 * and the person tables read back from the destination (DuckDB) and from the person store (SQLite) after the server
 * stopped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import Database from "better-sqlite3";
import { type RunningServe, startServe } from "../../src/events/serve.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";
import type { Logger } from "../../src/util/log.js";
import { type LogLine, memoryLogger } from "./memory-logger.js";
import { waitFor } from "./serve.js";

export interface PersonsServe {
  running: RunningServe;
  url: string;
  dir: string;
  /** The pipelines' dir (`--dir`): the person stores are in `<ferryDir>/_serve/persons/`. */
  ferryDir: string;
  dbPath: string;
  log: Logger & { lines: LogLine[] };
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/** `ferry serve` in this process on a free port, in a temp dir (or `dir`, to restart on what a server left). */
export async function startPersonsServe(
  serve: Record<string, unknown>,
  opts: { dir?: string; destination?: string } = {},
): Promise<PersonsServe> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "ferry-persons-"));
  const dbPath = join(dir, "events.duckdb");
  const ferryDir = join(dir, ".ferry");
  const config = resolveServeConfig(
    { serve },
    { port: 0, destination: opts.destination ?? `duckdb:${dbPath}`, dir: ferryDir },
    ferryDir,
  );
  const log = memoryLogger();
  const running = await startServe(config, { logger: log, statusIntervalMs: 0 });
  return {
    running,
    url: running.address?.url ?? "",
    dir,
    ferryDir,
    dbPath,
    log,
    stop: async () => {
      await running.stop();
    },
    async cleanup() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the server loaded `n` events in all and its log holds nothing more. */
export function waitForLoaded(s: PersonsServe, n: number): Promise<true> {
  const stats = s.running.consumer.stats;
  return waitFor(
    `${n} loaded event(s)`,
    () => stats.loaded >= n && stats.lag === 0,
    90_000,
    () => ({ ...stats, errors: s.log.lines.filter((l) => l.level === "error").map((l) => l.msg) }),
  );
}

/** An event as a test sends it (top-level `$set`/`$set_once` as posthog-node puts them in properties). */
export interface TestEvent {
  event: string;
  distinct_id: string;
  uuid: string;
  timestamp: string;
  properties?: Record<string, unknown>;
}

/** POSTs events to /batch/ as posthog-node does; throws unless the answer is 200. */
export async function send(url: string, token: string, batch: TestEvent[]): Promise<void> {
  const r = await fetch(`${url}/batch/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ api_key: token, batch }),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`/batch/ answered ${r.status}: ${text}`);
}

/** Runs a query on a DuckDB file (read-only; no server may be loading into it). */
export async function queryDuckDb<T = Record<string, unknown>>(path: string, sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  try {
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** A person as the tests compare them, from the destination or the store. */
export interface PersonRow {
  id: string;
  properties: Record<string, unknown>;
  is_identified: boolean;
  created_at: string;
  version: number;
}

export interface DistinctIdRow {
  distinct_id: string;
  person_id: string;
  version: number;
}

export interface GroupRow {
  group_type: string;
  group_key: string;
  properties: Record<string, unknown>;
  created_at: string;
  version: number;
}

/** The person tables of a dataset, sorted, with JSON parsed and timestamps as ISO 8601 (ms). */
export interface PersonTables {
  persons: PersonRow[];
  distinctIds: DistinctIdRow[];
  groups: GroupRow[];
}

const iso = (v: unknown) => new Date(Number(v)).toISOString();

/** The person tables of `dataset` in a DuckDB file (absent tables read as empty). */
export async function destinationPersons(dbPath: string, dataset: string): Promise<PersonTables> {
  const tables = new Set(
    (
      await queryDuckDb<{ t: string }>(
        dbPath,
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = '${dataset}'`,
      )
    ).map((r) => r.t),
  );
  const read = async <T>(table: string, sql: string) =>
    tables.has(table) ? queryDuckDb<T>(dbPath, sql) : [];
  const persons = await read<Record<string, unknown>>(
    "persons",
    `SELECT id, properties::VARCHAR AS properties, is_identified, epoch_ms(created_at)::DOUBLE AS created_at, version, is_deleted FROM "${dataset}".persons ORDER BY id`,
  );
  const ids = await read<Record<string, unknown>>(
    "person_distinct_ids",
    `SELECT distinct_id, person_id, version FROM "${dataset}".person_distinct_ids ORDER BY distinct_id`,
  );
  const groups = await read<Record<string, unknown>>(
    "groups",
    `SELECT group_type, group_key, properties::VARCHAR AS properties, epoch_ms(created_at)::DOUBLE AS created_at, version FROM "${dataset}".groups ORDER BY group_type, group_key`,
  );
  for (const p of persons)
    if (p.is_deleted !== false) throw new Error(`a persons row has is_deleted ${p.is_deleted}`);
  return {
    persons: persons.map((p) => ({
      id: String(p.id),
      properties: JSON.parse(String(p.properties)),
      is_identified: p.is_identified === true,
      created_at: iso(p.created_at),
      version: Number(p.version),
    })),
    distinctIds: ids.map((d) => ({
      distinct_id: String(d.distinct_id),
      person_id: String(d.person_id),
      version: Number(d.version),
    })),
    groups: groups.map((g) => ({
      group_type: String(g.group_type),
      group_key: String(g.group_key),
      properties: JSON.parse(String(g.properties)),
      created_at: iso(g.created_at),
      version: Number(g.version),
    })),
  };
}

/**
 * The applied state of a SQLite person store (no server may hold it), in the same shape. `pending`: what is not
 * applied (rows of a batch after the last one applied, undo copies, a prepared batch).
 */
export function storePersons(path: string): PersonTables & { pending: number; positions: unknown } {
  const db = new Database(path, { readonly: true });
  try {
    const persons = db
      .prepare(
        "SELECT id, properties, is_identified, created_at, version FROM persons WHERE deleted = 0 ORDER BY id",
      )
      .all() as Array<Record<string, unknown>>;
    const ids = db
      .prepare(
        "SELECT d.distinct_id, p.id AS person_id, d.version FROM distinct_ids d JOIN persons p ON p.pk = d.person ORDER BY d.distinct_id",
      )
      .all() as DistinctIdRow[];
    const groups = db
      .prepare(
        "SELECT group_type, group_key, properties, created_at, version FROM groups ORDER BY group_type, group_key",
      )
      .all() as Array<Record<string, unknown>>;
    const pending = (
      db
        .prepare(
          `SELECT (SELECT count(*) FROM persons WHERE batch > b.n OR deleted = 1) + (SELECT count(*) FROM distinct_ids WHERE batch > b.n)
             + (SELECT count(*) FROM groups WHERE batch > b.n) + (SELECT count(*) FROM undo_persons)
             + (SELECT count(*) FROM undo_distinct_ids) + (SELECT count(*) FROM undo_groups)
             + (SELECT count(*) FROM meta WHERE key = 'prepared') AS n
           FROM (SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'batch'), 0) AS n) b`,
        )
        .get() as { n: number }
    ).n;
    const positions = db.prepare("SELECT value FROM meta WHERE key = 'positions'").get() as
      | { value: string }
      | undefined;
    return {
      persons: persons.map((p) => ({
        id: String(p.id),
        properties: JSON.parse(String(p.properties)),
        is_identified: p.is_identified === 1,
        created_at: new Date(String(p.created_at)).toISOString(),
        version: Number(p.version),
      })),
      distinctIds: ids.map((d) => ({ ...d, version: Number(d.version) })),
      groups: groups.map((g) => ({
        group_type: String(g.group_type),
        group_key: String(g.group_key),
        properties: JSON.parse(String(g.properties)),
        created_at: new Date(String(g.created_at)).toISOString(),
        version: Number(g.version),
      })),
      pending,
      positions: positions ? JSON.parse(positions.value) : undefined,
    };
  } finally {
    db.close();
  }
}

/** The SQLite person store of a project of a server whose `--dir` is `ferryDir`. */
export function storePath(ferryDir: string, dataset: string): string {
  return join(ferryDir, "_serve", "persons", `${dataset}.sqlite`);
}

/** Every event of a dataset with its person columns. */
export async function eventPersons(
  dbPath: string,
  dataset: string,
): Promise<
  Array<{
    uuid: string;
    distinct_id: string;
    person_id: string | null;
    person_properties: Record<string, unknown> | null;
    properties: Record<string, unknown>;
  }>
> {
  const rows = await queryDuckDb<Record<string, unknown>>(
    dbPath,
    `SELECT uuid, distinct_id, person_id, person_properties::VARCHAR AS pp, properties::VARCHAR AS props FROM "${dataset}".events`,
  );
  return rows.map((r) => ({
    uuid: String(r.uuid),
    distinct_id: String(r.distinct_id),
    person_id: (r.person_id as string | null) ?? null,
    person_properties: r.pp === null ? null : JSON.parse(String(r.pp)),
    properties: JSON.parse(String(r.props)),
  }));
}

export { type LogLine, memoryLogger, waitFor };
