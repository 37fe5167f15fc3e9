// Crash recovery of the bulk export (Postgres -> typed CSV -> DuckDB): a child process runs the pipeline
// (test/fixtures/sql-export-child.ts) and is killed with SIGKILL while the table's parts are being copied over
// several connections, or while the package loads. The next run must finish with every row exactly once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import { sqlTable } from "../../src/sources/sql-database/index.js";
import type { ExportChildArgs } from "../fixtures/sql-export-child.js";
import { service } from "../helpers/services.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/sql-export-child.ts", import.meta.url));
const PG = await service("postgres");
const SPACE = "ferry_export_crash";
const TABLE = "orders";
/** Rows of the source table: about 110 MB, so it is split into parts (32 MB and more). */
const N = 800_000;

async function pgQuery(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG.url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * Every file below `dir` (recursively); none while a folder in it is renamed away mid-scan (a package moving to its
 * next stage), so the next poll looks again.
 */
function filesBelow(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

interface Env {
  tmp: string;
  args: ExportChildArgs;
  open: () => Pipeline;
}

function newEnv(): Env {
  const tmp = mkdtempSync(join(tmpdir(), "ferry-export-crash-"));
  const args: ExportChildArgs = {
    url: PG.url,
    schema: SPACE,
    table: TABLE,
    dir: join(tmp, ".ferry"),
    db: join(tmp, "crash.duckdb"),
    name: "export_crash",
  };
  const open = () =>
    pipeline({ name: args.name, dir: args.dir, destination: `duckdb:${args.db}`, logger: silentLogger });
  return { tmp, args, open };
}

/**
 * Runs the child and kills it with SIGKILL as soon as `ready(packagesDir)` holds (checked every 5 ms). Fails when
 * the child ends first: the kill must land where the test says.
 */
async function killWhen(env: Env, what: string, ready: (packagesDir: string) => boolean): Promise<void> {
  const packages = join(env.args.dir, env.args.name, "packages");
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(env.args)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  child.stderr.on("data", (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let killed = false;
  const poll = setInterval(() => {
    if (!killed && ready(packages)) {
      killed = true;
      child.kill("SIGKILL");
    }
  }, 5);
  try {
    await exited;
  } finally {
    clearInterval(poll);
  }
  assert.ok(killed, `the child ended before it was killed ${what}: ${out}`);
}

/** Part files being written: at least two at once (the table is split), 4 MB together, no manifest yet. */
function partsInFlight(packages: string): boolean {
  const files = filesBelow(packages);
  if (files.some((f) => f.endsWith("manifest.json"))) return false;
  const parts = files.filter((f) => f.includes("typed-csv"));
  if (parts.length < 2) return false;
  return parts.reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0) >= 4 * 1024 * 1024;
}

/** The package is normalized: its typed CSV load files are linked in and the load is under way or next. */
function loading(packages: string): boolean {
  return filesBelow(packages).some((f) => f.includes(`${join("jobs", "new")}`) && f.endsWith(".csv"));
}

/**
 * How many rows, distinct ids, row ids and load ids the table holds, its id range and sum, and how many ids it
 * holds other than `copies` times.
 */
async function census(p: Pipeline, copies: number) {
  const [row] = await p.dataset().sql(
    `SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS ids, count(DISTINCT _ferry_id)::BIGINT AS row_ids,
         count(DISTINCT _ferry_load_id)::BIGINT AS loads, min(id)::BIGINT AS lo, max(id)::BIGINT AS hi,
         sum(id)::HUGEINT::VARCHAR AS total,
         (SELECT count(*) FROM (SELECT id FROM ${TABLE} GROUP BY id HAVING count(*) <> ${copies}))::BIGINT AS odd
       FROM ${TABLE}`,
  );
  return row;
}

describe("bulk export crash recovery", { skip: PG.skip, timeout: 180_000 }, () => {
  before(async () => {
    await pgQuery(`DROP SCHEMA IF EXISTS ${SPACE} CASCADE; CREATE SCHEMA ${SPACE};
      CREATE TABLE ${SPACE}.${TABLE} AS
        SELECT i::bigint AS id, md5(i::text) || md5((i + 1)::text) AS note, (i % 1000 / 10.0)::numeric(12,2) AS amount,
          timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' AS at,
          jsonb_build_object('k', i, 'tag', 't' || (i % 10)) AS doc
        FROM generate_series(1, ${N}) AS i;
      ALTER TABLE ${SPACE}.${TABLE} ADD PRIMARY KEY (id);`);
    // Outside the transaction a multi-statement query runs in: sets hint bits, so the copies run at full speed.
    await pgQuery(`VACUUM (FREEZE, ANALYZE) ${SPACE}.${TABLE}`);
    const { rows } = await pgQuery(`SELECT pg_relation_size('${SPACE}.${TABLE}') AS size`);
    assert.ok(
      Number(rows[0].size) >= 2 * 32 * 1024 * 1024,
      `the table is too small to split: ${rows[0].size}`,
    );
  });
  after(async () => {
    await pgQuery(`DROP SCHEMA IF EXISTS ${SPACE} CASCADE`);
  });

  const sum = String((N * (N + 1)) / 2);

  it("a kill while the parts are copied leaves nothing; the next run loads every row once", async () => {
    const env = newEnv();
    try {
      await killWhen(env, "while the parts were copied", partsInFlight);
      const p = env.open();
      const info = await p.run(
        await sqlTable({ url: PG.url, schema: SPACE, table: TABLE, writeDisposition: "append" }),
      );
      assert.equal(info.rows[TABLE], N);
      assert.deepEqual(await census(p, 1), {
        n: N,
        ids: N,
        row_ids: N,
        loads: 1,
        lo: 1,
        hi: N,
        total: sum,
        odd: 0,
      });
      const left = await p.packages();
      assert.deepEqual([left.pending.length, left.failed.length], [0, 0]);
      // The killed run's half-written parts were discarded with its package.
      assert.deepEqual(filesBelow(join(env.args.dir, env.args.name, "packages")), []);
    } finally {
      rmSync(env.tmp, { recursive: true, force: true });
    }
  });

  it("a kill while the package loads: the next run loads it once, then the table again", async () => {
    const env = newEnv();
    try {
      await killWhen(env, "while the package loaded", loading);
      const p = env.open();
      // Append: the pending package (the first copy) is loaded or found committed, then the table is read again.
      await p.run(await sqlTable({ url: PG.url, schema: SPACE, table: TABLE, writeDisposition: "append" }));
      assert.deepEqual(await census(p, 2), {
        n: 2 * N,
        ids: N,
        row_ids: 2 * N,
        loads: 2,
        lo: 1,
        hi: N,
        total: String(N * (N + 1)),
        odd: 0,
      });
      const left = await p.packages();
      assert.deepEqual([left.pending.length, left.failed.length], [0, 0]);
    } finally {
      rmSync(env.tmp, { recursive: true, force: true });
    }
  });
});
