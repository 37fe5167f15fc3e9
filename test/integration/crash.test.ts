// Crash recovery: a child process runs a pipeline and is killed with SIGKILL at a chosen point of extract,
// normalize or load (see test/fixtures/crash-child.ts). The next run must complete the pending package first,
// then extract new data, and every row must end up in the destination exactly once.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type LoadInfo, type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import {
  type ChildArgs,
  type CrashData,
  childRows,
  crashResource,
  type PausePoint,
} from "../fixtures/crash-child.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/crash-child.ts", import.meta.url));
const N = 20_000;
const TIMEOUT = { timeout: 120_000 };

interface Env {
  tmp: string;
  dir: string;
  db: string;
  name: string;
  dataset: string;
}

function newEnv(): Env {
  const tmp = mkdtempSync(join(tmpdir(), "ferry-"));
  return {
    tmp,
    dir: join(tmp, ".ferry"),
    db: join(tmp, "crash.duckdb"),
    name: "crash",
    dataset: "crash_data",
  };
}

/** Runs a test body in a fresh env (temp dir) and always removes it. */
async function withEnv(body: (env: Env) => Promise<void>): Promise<void> {
  const env = newEnv();
  try {
    await body(env);
  } finally {
    rmSync(env.tmp, { recursive: true, force: true });
  }
}

const open = (env: Env): Pipeline =>
  pipeline({
    name: env.name,
    dir: env.dir,
    destination: `duckdb:${env.db}`,
    dataset: env.dataset,
    logger: silentLogger,
  });

const lockPath = (env: Env) => join(env.dir, env.name, ".lock");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the child, waits until it reports `PAUSED <point>` (it then blocks), and returns it still running.
 * The returned `kill` sends SIGKILL and resolves once the process is gone (reaped).
 */
async function startPaused(
  env: Env,
  data: CrashData,
  pause: PausePoint,
  skip = 0,
  workers?: number,
): Promise<{ child: ChildProcess; pid: number; kill: () => Promise<void> }> {
  const args: ChildArgs = {
    ...data,
    dir: env.dir,
    db: env.db,
    name: env.name,
    dataset: env.dataset,
    pause,
    skip,
    ...(workers !== undefined ? { workers } : {}),
  };
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FERRY_LOG_LEVEL: "silent" },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  let out = "";
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child did not pause at ${pause} within 150 s; stderr: ${err}`)),
        // Generous: generating and extracting 400k records takes long on a busy 2-core machine.
        150_000,
      );
      child.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes(`PAUSED ${pause}\n`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(
          new Error(
            `child exited (code ${code}, signal ${signal}) before pausing at ${pause}: ${out} ${err}`,
          ),
        );
      });
    });
  } catch (e) {
    await kill();
    throw e;
  }
  return { child, pid: child.pid!, kill };
}

/** Runs the child to the pause point and kills it there with SIGKILL. */
async function crashAt(
  env: Env,
  data: CrashData,
  pause: PausePoint,
  skip = 0,
  workers?: number,
): Promise<number> {
  const c = await startPaused(env, data, pause, skip, workers);
  try {
    assert.equal(isAlive(c.pid), true, "the paused child is still running");
    process.kill(c.pid, "SIGKILL");
  } finally {
    await c.kill();
  }
  assert.equal(c.child.signalCode, "SIGKILL");
  return c.pid;
}

const one = async (p: Pipeline, sql: string): Promise<Record<string, unknown>> => {
  const rows = await p.dataset().sql(sql);
  assert.equal(rows.length, 1);
  return rows[0]!;
};

const pendingIds = async (p: Pipeline): Promise<string[]> =>
  (await p.packages()).pending.map((x) => x.loadId);

/** Stage of each pending package, and for normalized ones which job folders hold files: shows where the kill hit. */
async function pendingStages(p: Pipeline): Promise<string[]> {
  const out: string[] = [];
  for (const pkg of (await p.packages()).pending) {
    const stage = await pkg.stage();
    if (stage !== "normalized") {
      out.push(`${stage}${existsSync(pkg.normalizingDir) ? " (normalizing)" : ""}`);
      continue;
    }
    const started = (await pkg.jobs("started")).length;
    const completed = (await pkg.jobs("completed")).length;
    out.push(`normalized started=${started} completed=${completed}`);
  }
  return out;
}

/**
 * Asserts the destination holds the ids first..last exactly once, each with exactly its own children
 * (no orphans, no duplicates), and that `tags` says which run wrote which id range.
 */
async function assertExactlyOnce(
  p: Pipeline,
  first: number,
  last: number,
  tags: Array<[number, number, string]>,
) {
  const total = last - first + 1;
  assert.deepEqual(
    await one(p, "select count(*) as n, count(distinct id) as d, min(id) as lo, max(id) as hi from items"),
    {
      n: total,
      d: total,
      lo: first,
      hi: last,
    },
  );
  const expectedChildren = childRows(first, last);
  assert.deepEqual(
    await one(
      p,
      "select count(*) as n, count(distinct (_ferry_parent_id, _ferry_list_idx)) as d, count(distinct _ferry_id) as ids from items__children",
    ),
    { n: expectedChildren, d: expectedChildren, ids: expectedChildren },
  );
  const orphans = await one(
    p,
    "select count(*) as n from items__children c left join items p on c._ferry_parent_id = p._ferry_id where p._ferry_id is null",
  );
  assert.equal(orphans.n, 0, "child rows without a parent");
  // Every parent has exactly its own children, written by the same run as the parent.
  const wrong = await one(
    p,
    `select count(*) as n from (select p.id, count(c._ferry_id) as k, count(*) filter (where c.label like p.tag || '-' || p.id || '-%') as mine
       from items p left join items__children c on c._ferry_parent_id = p._ferry_id group by p.id, p._ferry_id, p.tag
       having k <> (p.id % 3) + 1 or mine <> k)`,
  );
  assert.equal(wrong.n, 0, "parents with missing, extra or foreign children");
  for (const [lo, hi, tag] of tags) {
    const r = await one(
      p,
      `select count(*) as n from items where id between ${lo} and ${hi} and tag = '${tag}'`,
    );
    assert.equal(r.n, hi - lo + 1, `ids ${lo}..${hi} written by run "${tag}"`);
  }
}

const loadsTable = async (p: Pipeline): Promise<string[]> =>
  (await p.dataset().sql("select load_id from _ferry_loads order by load_id")).map((r) => String(r.load_id));

/** After a successful run nothing is left pending, failed or locked, and every load has one `_ferry_loads` row. */
async function assertClean(env: Env, p: Pipeline, info: LoadInfo, loads: number) {
  const pk = await p.packages();
  assert.deepEqual({ pending: pk.pending.length, failed: pk.failed.length }, { pending: 0, failed: 0 });
  assert.equal(existsSync(lockPath(env)), false, "the lock is released");
  const loaded = await loadsTable(p);
  assert.equal(loaded.length, loads);
  assert.equal(new Set(loaded).size, loads);
  for (const id of info.loadIds) assert.ok(loaded.includes(id), `load ${id} is recorded in _ferry_loads`);
}

const tableExists = async (p: Pipeline, table: string): Promise<boolean> =>
  (await p.dataset().tables()).includes(table);

const batch1 = (mode: CrashData["mode"]): CrashData => ({ start: 1, count: N, mode, tag: "a" });

test(
  "killed mid-extract: the half-written package is discarded and the data extracted again",
  TIMEOUT,
  async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("incremental"), "extract");
      const p = open(env);
      assert.deepEqual(await pendingStages(p), ["extracting"], "the interrupted package is on disk");
      assert.equal(existsSync(env.db) && (await tableExists(p, "items")), false, "nothing was loaded");
      // The rerun yields ids 1..30000; the cursor was never committed, so all of them load.
      const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, []);
      assert.deepEqual(info.items, { items: 30_000 });
      assert.equal(info.loadIds.length, 1);
      await assertExactlyOnce(p, 1, 30_000, [[1, 30_000, "b"]]);
      await assertClean(env, p, info, 1);
    }),
);

for (const point of ["normalize", "load-job"] as const) {
  test(`killed during ${point}: the pending package is loaded first, then only new ids`, TIMEOUT, async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("incremental"), point);
      const p = open(env);
      const pending = await pendingIds(p);
      assert.deepEqual(await pendingStages(p), [
        point === "normalize" ? "extracted (normalizing)" : "normalized started=1 completed=1",
      ]);
      if (point === "load-job") {
        // The transaction was open (root rows inserted, tables created) when the process died: all rolled back.
        assert.equal(await tableExists(p, "items"), false);
        assert.equal(await tableExists(p, "_ferry_loads"), false);
      }
      const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, pending);
      assert.equal(info.loadIds.length, 2);
      assert.equal(info.loadIds[0], pending[0]);
      assert.deepEqual(
        info.items,
        { items: 10_000 },
        "the cursor of the pending package applies to the new extract",
      );
      assert.deepEqual(info.rows, { items: 30_000, items__children: childRows(1, 30_000) });
      await assertExactlyOnce(p, 1, 30_000, [
        [1, N, "a"],
        [N + 1, 30_000, "b"],
      ]);
      await assertClean(env, p, info, 2);
    }),
  );
}

test(
  "killed while normalize workers write a package of several extracted files: the rerun loads it exactly once",
  { timeout: 180_000 },
  async () =>
    withEnv(async (env) => {
      // 400k records are about 52 MB extracted: four 16 MB files, the first on the main thread, then two workers.
      const big: CrashData = { start: 1, count: 400_000, mode: "append", tag: "a" };
      await crashAt(env, big, "normalize-workers", 0, 2);
      const p = open(env);
      const pending = await pendingIds(p);
      assert.deepEqual(await pendingStages(p), ["extracted (normalizing)"]);
      const info = await p.run(crashResource({ start: 400_001, count: 1000, mode: "append", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, pending);
      assert.deepEqual(info.rows, { items: 401_000, items__children: childRows(1, 401_000) });
      await assertExactlyOnce(p, 1, 401_000, [
        [1, 400_000, "a"],
        [400_001, 401_000, "b"],
      ]);
      await assertClean(env, p, info, 2);
    }),
);

test(
  "killed while workers normalize a package that is still being extracted: it is discarded, the rerun loads every id once",
  { timeout: 180_000 },
  async () =>
    withEnv(async (env) => {
      // 800 pages, 5 ms apart: the first 16 MB file is done long before the last page.
      const big: CrashData = { start: 1, count: 400_000, mode: "append", tag: "a", pageDelayMs: 5 };
      await crashAt(env, big, "stream-normalize", 0, 2);
      const p = open(env);
      assert.deepEqual(await pendingStages(p), ["extracting (normalizing)"]);
      const info = await p.run(crashResource({ start: 1, count: 401_000, mode: "append", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, [], "the half-extracted package is not loaded");
      assert.deepEqual(info.rows, { items: 401_000, items__children: childRows(1, 401_000) });
      await assertExactlyOnce(p, 1, 401_000, [[1, 401_000, "b"]]);
      await assertClean(env, p, info, 1);
    }),
);

test("killed after the destination committed, before local state: not loaded twice", TIMEOUT, async () =>
  withEnv(async (env) => {
    await crashAt(env, batch1("incremental"), "load-committed");
    const p = open(env);
    const pending = await pendingIds(p);
    assert.deepEqual(await pendingStages(p), ["normalized started=0 completed=2"]);
    assert.deepEqual(await loadsTable(p), pending, "the destination committed the package");
    assert.equal((await one(p, "select count(*) as n from items")).n, N);
    assert.equal(existsSync(join(env.dir, env.name, "state.json")), false, "local state was not written yet");
    const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "b" }));
    assert.deepEqual(info.pendingCompleted, pending);
    assert.deepEqual(info.items, { items: 10_000 }, "the committed cursor applies to the new extract");
    await assertExactlyOnce(p, 1, 30_000, [
      [1, N, "a"],
      [N + 1, 30_000, "b"],
    ]);
    const firstLoad = await one(p, `select count(*) as n from items where _ferry_load_id = '${pending[0]}'`);
    assert.equal(firstLoad.n, N);
    await assertClean(env, p, info, 2);
  }),
);

test(
  "killed while a loaded package's files are deleted: the next run is not blocked by the leftovers",
  TIMEOUT,
  async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("incremental"), "package-remove");
      const p = open(env);
      assert.equal((await loadsTable(p)).length, 1, "the destination committed the package");
      assert.equal(
        existsSync(join(env.dir, env.name, "state.json")),
        true,
        "the package was committed locally",
      );
      const packagesDir = join(env.dir, env.name, "packages");
      assert.equal(readdirSync(packagesDir).length, 1, "the half-deleted package is still on disk");
      assert.deepEqual(await pendingIds(p), [], "a half-deleted package is not pending");
      const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, []);
      assert.deepEqual(info.items, { items: 10_000 });
      await assertExactlyOnce(p, 1, 30_000, [
        [1, N, "a"],
        [N + 1, 30_000, "b"],
      ]);
      await assertClean(env, p, info, 2);
      assert.deepEqual(readdirSync(packagesDir), [], "the leftovers were removed");
    }),
);

for (const point of ["load-job", "load-committed"] as const) {
  test(`append without incremental, killed at ${point}: the first batch exactly once`, TIMEOUT, async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("append"), point);
      const p = open(env);
      const pending = await pendingIds(p);
      const info = await p.run(crashResource({ start: N + 1, count: 10_000, mode: "append", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, pending);
      assert.equal(pending.length, 1);
      await assertExactlyOnce(p, 1, 30_000, [
        [1, N, "a"],
        [N + 1, 30_000, "b"],
      ]);
      await assertClean(env, p, info, 2);
    }),
  );
}

test(
  "merge, killed inside the load transaction: pending merged, then the overlapping batch updates",
  TIMEOUT,
  async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("merge"), "load-job");
      const p = open(env);
      const pending = await pendingIds(p);
      assert.equal(pending.length, 1);
      // Ids 10001..20000 come again with tag "b" (and their own children): they replace the first batch's rows.
      const info = await p.run(crashResource({ start: 10_001, count: N, mode: "merge", tag: "b" }));
      assert.deepEqual(info.pendingCompleted, pending);
      await assertExactlyOnce(p, 1, 30_000, [
        [1, 10_000, "a"],
        [10_001, 30_000, "b"],
      ]);
      await assertClean(env, p, info, 2);
    }),
);

test("a stale .lock of the killed process does not block the rerun; a live one does", TIMEOUT, async () =>
  withEnv(async (env) => {
    const c = await startPaused(env, batch1("incremental"), "load-job");
    const p = open(env);
    try {
      assert.equal(readFileSync(lockPath(env), "utf8").trim(), String(c.pid));
      await assert.rejects(p.run(), (e: Error) => {
        assert.match(e.message, new RegExp(`pipeline "crash" is being run by process ${c.pid}`));
        return true;
      });
      assert.equal(
        readFileSync(lockPath(env), "utf8").trim(),
        String(c.pid),
        "a refused run leaves the lock alone",
      );
      process.kill(c.pid, "SIGKILL");
    } finally {
      await c.kill();
    }
    assert.equal(isAlive(c.pid), false);
    assert.equal(
      readFileSync(lockPath(env), "utf8").trim(),
      String(c.pid),
      "the dead process's lock is still there",
    );
    const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "b" }));
    assert.equal(info.pendingCompleted.length, 1);
    await assertExactlyOnce(p, 1, 30_000, [
      [1, N, "a"],
      [N + 1, 30_000, "b"],
    ]);
    await assertClean(env, p, info, 2);
  }),
);

test(
  "killed twice (normalize, then after the next package committed) before a successful run",
  TIMEOUT,
  async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("incremental"), "normalize");
      const p = open(env);
      const [p1] = await pendingIds(p);
      assert.ok(p1);
      // Second run: completes p1 (its commit is the first "committed" event, let through), extracts 20001..30000
      // as p2, and is killed right after the destination committed p2.
      await crashAt(env, { start: 1, count: N + 10_000, mode: "incremental", tag: "b" }, "load-committed", 1);
      const pending = await pendingIds(p);
      assert.equal(pending.length, 1);
      assert.notEqual(pending[0], p1, "p1 was completed by the killed run");
      assert.deepEqual(await loadsTable(p), [p1, pending[0]]);
      const info = await p.run(crashResource({ start: 1, count: N + 20_000, mode: "incremental", tag: "c" }));
      assert.deepEqual(info.pendingCompleted, pending);
      assert.deepEqual(info.items, { items: 10_000 });
      await assertExactlyOnce(p, 1, 40_000, [
        [1, N, "a"],
        [N + 1, 30_000, "b"],
        [30_001, 40_000, "c"],
      ]);
      await assertClean(env, p, info, 3);
    }),
);

test(
  "killed twice (inside the load transaction, then mid-extract of the next run) before a successful run",
  TIMEOUT,
  async () =>
    withEnv(async (env) => {
      await crashAt(env, batch1("incremental"), "load-job");
      const p = open(env);
      const [p1] = await pendingIds(p);
      assert.ok(p1);
      // Second run: completes p1, then dies while extracting its own data.
      await crashAt(env, { start: 1, count: N + 10_000, mode: "incremental", tag: "b" }, "extract");
      assert.deepEqual(await loadsTable(p), [p1]);
      const pending = await pendingIds(p);
      assert.equal(pending.length, 1, "only the half-extracted package is left");
      assert.notEqual(pending[0], p1);
      const info = await p.run(crashResource({ start: 1, count: N + 10_000, mode: "incremental", tag: "c" }));
      assert.deepEqual(info.pendingCompleted, [], "the half-extracted package is discarded, not loaded");
      assert.deepEqual(info.items, { items: 10_000 });
      await assertExactlyOnce(p, 1, 30_000, [
        [1, N, "a"],
        [N + 1, 30_000, "c"],
      ]);
      await assertClean(env, p, info, 2);
    }),
);
