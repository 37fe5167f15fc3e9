/**
 * `postgres`: the SQL source reading a 10-column Postgres table (ints, numerics, text, timestamps, jsonb) of N rows
 * into DuckDB, against the floor of `psql -c "\copy ... to stdout" > /dev/null` measured in the same run.
 * The table (`ferry_bench.sql_source`) is generated in the server with generate_series, once, and again only when
 * N changes. Server: `FERRY_BENCH_POSTGRES_URL` (default: the test server of `scripts/services.sh`).
 *
 *   npm run bench -- postgres --records 1000000,5000000
 */

import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { pipeline, silentLogger } from "../../src/index.js";
import { connectEngine, sqlTable } from "../../src/sources/sql-database/index.js";
import { DEFAULT_CHUNK_SIZE } from "../../src/sources/sql-database/options.js";
import type { Scenario } from "./scenario.js";

const DEFAULT_URL = "postgres://ferry:ferry@127.0.0.1:55432/ferry_test";
const SCHEMA = "ferry_bench";
const TABLE = "sql_source";
const VERSION = "v1";

type PgClient = import("pg").Client;

async function connect(url: string): Promise<PgClient> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const u = new URL(url);
    throw new Error(
      `postgres bench: Postgres is not reachable at ${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)} ` +
        `(${(err as Error).message || (err as { code?: string }).code}). Start it with \`scripts/services.sh up postgres\` ` +
        "or set FERRY_BENCH_POSTGRES_URL=postgres://user:password@host:port/database",
    );
  }
  return client;
}

/** Creates the table unless it exists with this size (the size and layout version live in its comment). */
async function ensureTable(client: PgClient, n: number): Promise<boolean> {
  const tag = `rows=${n} ${VERSION}`;
  const existing = await client.query("SELECT obj_description(to_regclass($1), 'pg_class') AS tag", [
    `${SCHEMA}.${TABLE}`,
  ]);
  if (existing.rows[0]?.tag === tag) return false;
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await client.query(`DROP TABLE IF EXISTS ${SCHEMA}.${TABLE}`);
  await client.query(`
    CREATE TABLE ${SCHEMA}.${TABLE} AS
    SELECT i::bigint AS id,
      (i % 50000)::int AS customer_id,
      (i % 17 + 1)::int AS quantity,
      ((i % 100000) / 100.0)::numeric(12,2) AS amount,
      round(i::numeric / 7, 6)::numeric(18,6) AS ratio,
      'customer ' || (i % 5000) AS name,
      md5(i::text) AS code,
      timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS created_at,
      timestamp '2023-06-01 00:00:00' + (i % 1000000) * interval '1 millisecond' AS updated_at,
      jsonb_build_object('k', i, 'tag', 't' || (i % 10), 'ok', i % 2 = 0) AS payload
    FROM generate_series(1, ${n}) AS i`);
  await client.query(`ALTER TABLE ${SCHEMA}.${TABLE} ADD PRIMARY KEY (id)`);
  // Set hint bits and visibility now, so neither timed read pays for them.
  await client.query(`VACUUM (FREEZE, ANALYZE) ${SCHEMA}.${TABLE}`);
  await client.query(`COMMENT ON TABLE ${SCHEMA}.${TABLE} IS '${tag}'`);
  return true;
}

/** Times `psql -c "\copy t to stdout" > /dev/null`; the password goes through PGPASSWORD, not the command line. */
function psqlFloor(url: string): Promise<number> {
  const u = new URL(url);
  const env = {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || "5432",
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
  };
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(
      "psql",
      ["-X", "-v", "ON_ERROR_STOP=1", "-c", `\\copy ${SCHEMA}.${TABLE} to stdout`],
      {
        env,
        stdio: ["ignore", openSync("/dev/null", "w"), "pipe"],
      },
    );
    let err = "";
    child.stderr?.on("data", (d) => {
      err += String(d);
    });
    child.on("error", (e) =>
      reject(new Error(`postgres bench: cannot run psql (${e.message}); install postgresql-client`)),
    );
    child.on("close", (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - started) / 1e6)
        : reject(new Error(`postgres bench: psql failed (${code}): ${err.trim()}`)),
    );
  });
}

/**
 * The source alone: streams every page of the table through the engine (COPY, parsing, records) and drops it.
 * Tells what the source costs apart from the pipeline stages that follow it.
 */
async function sourceOnly(url: string, n: number): Promise<{ ms: number; cpuMs: number; peakRssMb: number }> {
  const engine = await connectEngine(url);
  let peak = process.memoryUsage().rss;
  try {
    const [table] = await engine.reflect({ schema: SCHEMA, includeViews: false, tables: [TABLE] });
    if (!table) throw new Error(`postgres bench: ${SCHEMA}.${TABLE} is missing`);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    let rows = 0;
    for await (const page of engine.readPages(table, { chunkSize: DEFAULT_CHUNK_SIZE })) {
      rows += page.length;
      if (rows % 200_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (rows !== n) throw new Error(`postgres bench: the source read ${rows} rows, expected ${n}`);
    const used = process.cpuUsage(cpu);
    return {
      ms: Number(process.hrtime.bigint() - started) / 1e6,
      cpuMs: (used.user + used.system) / 1000,
      peakRssMb: Math.round(peak / 1024 / 1024),
    };
  } finally {
    await engine.close();
  }
}

export const postgres: Scenario = {
  name: "postgres",
  defaultRecords: 5_000_000,
  async run({ records: n, dir, peakRssMb }) {
    const url = process.env.FERRY_BENCH_POSTGRES_URL ?? DEFAULT_URL;
    const client = await connect(url);
    let created: boolean;
    try {
      created = await ensureTable(client, n);
    } finally {
      await client.end();
    }

    const p = pipeline({
      name: "bench_postgres",
      destination: `duckdb:${join(dir, "postgres.duckdb")}`,
      dir: join(dir, ".ferry"),
      logger: silentLogger,
    });
    const started = Date.now();
    const cpu = process.cpuUsage();
    const info = await p.run(await sqlTable({ url, schema: SCHEMA, table: TABLE }));
    const measuredMs = Date.now() - started;
    const used = process.cpuUsage(cpu);
    if (info.rows[TABLE] !== n) throw new Error(`expected ${n} rows, got ${info.rows[TABLE]}`);
    // ferry's own peak; the floor and the source-alone pass run after it in this process.
    const ferryPeakRssMb = peakRssMb();
    const floorMs = await psqlFloor(url);
    const alone = await sourceOnly(url, n);
    const rowsPerSec = Math.round(n / (measuredMs / 1000));
    const floorRowsPerSec = Math.round(n / (floorMs / 1000));
    return {
      records: n,
      rows: n,
      measuredMs,
      peakRssMb: ferryPeakRssMb,
      stagesMs: {
        extract: info.durationsMs.extract,
        normalize: info.durationsMs.normalize,
        load: info.durationsMs.load,
      },
      extra: {
        tableCreated: created ? "yes" : "no (reused)",
        psqlFloorMs: Math.round(floorMs),
        psqlFloorRowsPerSec: floorRowsPerSec,
        shareOfFloor: Number((rowsPerSec / floorRowsPerSec).toFixed(3)),
        // CPU time of this process (all threads): comparable across runs on a busy machine, unlike wall time.
        cpuMs: Math.round((used.user + used.system) / 1000),
        sourceOnlyMs: Math.round(alone.ms),
        sourceOnlyCpuMs: Math.round(alone.cpuMs),
        sourceOnlyRowsPerSec: Math.round(n / (alone.ms / 1000)),
        sourceOnlyShareOfFloor: Number((floorMs / alone.ms).toFixed(3)),
        sourceOnlyPeakRssMb: alone.peakRssMb,
        targetRowsPerSec: 300_000,
      },
    };
  },
};
