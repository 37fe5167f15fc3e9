import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { DestinationError, LoadPackageFailedError, type Logger } from "../../src/index.js";
import { ensureBuilt, ferry, REPO } from "../helpers/cli.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

/** Another process holding the DuckDB file open (DuckDB allows one writing process). Any stdin line releases it. */
const HOLDER = `
(async () => {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const inst = await DuckDBInstance.create(process.argv[1]);
  const conn = await inst.connect();
  await conn.run("select 1");
  process.stdout.write("held\\n");
  process.stdin.once("data", () => {
    conn.closeSync();
    inst.closeSync();
    process.stdout.write("released\\n");
    process.exit(0);
  });
})();
`;

interface Holder {
  child: ChildProcessWithoutNullStreams;
  release: () => Promise<void>;
}

async function holdDatabase(dbPath: string): Promise<Holder> {
  const child = spawn(process.execPath, ["-e", HOLDER, dbPath], { cwd: REPO });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let released: Promise<void> | undefined;
  await new Promise<void>((ok, fail) => {
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("held")) ok();
    });
    child.once("exit", () => fail(new Error(`holder exited before holding the lock: ${err}`)));
  });
  return {
    child,
    // Idempotent: the timer and the test's cleanup may both call it.
    release: () => {
      released ??= (async () => {
        child.stdin.end("go\n");
        assert.equal(await exited, 0);
        assert.match(out, /released/);
      })();
      return released;
    },
  };
}

/** Logger keeping warnings and errors (to see the retries). */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
}

async function duckdbExec(dbPath: string, sql: string): Promise<void> {
  const inst = await DuckDBInstance.create(dbPath);
  const conn = await inst.connect();
  try {
    await conn.run(sql);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

before(ensureBuilt);

describe("transient load failures: the DuckDB file is locked by another process", () => {
  test("the load retries and succeeds once the other process releases the file", async () => {
    const log = recordingLogger();
    const t = tempPipeline("locked", { retry: { attempts: 6, initialDelayMs: 200 }, logger: log });
    let holder: Holder | undefined;
    try {
      // A first run, so the next one has local state and its first connection is the load's.
      const first = await t.p.run([{ id: 1, note: "first" }], { table: "things" });
      assert.deepEqual(first.rows, { things: 1 });

      holder = await holdDatabase(t.dbPath);
      const h = holder;
      const timer = setTimeout(() => h.release().catch(() => undefined), 500);
      const started = Date.now();
      const info = await t.p.run(
        [
          { id: 2, note: "second" },
          { id: 3, note: "third" },
        ],
        { table: "things" },
      );
      clearTimeout(timer);
      await h.release();
      assert.ok(Date.now() - started >= 450, "the run waited for the lock");
      assert.deepEqual(info.rows, { things: 2 });
      assert.deepEqual(info.pendingCompleted, []);
      assert.equal(info.loadIds.length, 1);
      const retries = log.warnings.filter((w) => /retrying in \d+ ms/.test(w));
      assert.ok(retries.length >= 1, `expected a retry warning, got ${JSON.stringify(log.warnings)}`);
      assert.match(retries[0] ?? "", /Could not set lock/);

      const rows = await t.p.dataset().sql("select id, note from locked.things order by id");
      assert.deepEqual(rows, [
        { id: 1, note: "first" },
        { id: 2, note: "second" },
        { id: 3, note: "third" },
      ]);
      const loads = await t.p.dataset().sql("select count(*)::int as n from locked._ferry_loads");
      assert.deepEqual(loads, [{ n: 2 }]);
    } finally {
      await holder?.release();
      t.cleanup();
    }
  });

  test("a lock that never goes away fails the run; a rerun after release completes the pending package once", async () => {
    const t = tempPipeline("stuck", { retry: { attempts: 2, initialDelayMs: 100 } });
    let holder: Holder | undefined;
    try {
      await t.p.run([{ id: 1 }], { table: "things" });
      holder = await holdDatabase(t.dbPath);
      const err = await t.p.run([{ id: 2 }, { id: 3 }], { table: "things" }).then(
        () => assert.fail("the run should fail while the database is locked"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DestinationError, `got ${String(err)}`);
      assert.equal(err.transient, true);
      assert.match(err.message, /cannot open DuckDB database .*stuck\.duckdb.*Could not set lock/s);
      assert.match(err.hint ?? "", /another process has the database open/);

      // The package was extracted and normalized; it waits for the next run.
      const { pending, failed } = await t.p.packages();
      assert.equal(failed.length, 0);
      assert.equal(pending.length, 1);
      assert.equal(await pending[0]?.stage(), "normalized");
      const pendingId = pending[0]?.loadId;

      await holder.release();
      const info = await t.reopen().run();
      assert.deepEqual(info.pendingCompleted, [pendingId]);
      assert.deepEqual(info.loadIds, [pendingId]);
      assert.deepEqual(info.rows, { things: 2 });
      assert.equal(info.loadId, undefined);

      const rows = await t.p.dataset().sql("select id from stuck.things order by id");
      assert.deepEqual(rows, [{ id: 1 }, { id: 2 }, { id: 3 }]);
      const loads = await t.p
        .dataset()
        .sql("select load_id from stuck._ferry_loads where load_id = $1", [pendingId]);
      assert.equal(loads.length, 1);
      assert.deepEqual((await t.p.packages()).pending, []);

      // Running again loads nothing twice.
      const again = await t.reopen().run();
      assert.deepEqual(again.loadIds, []);
      assert.deepEqual(await t.p.dataset().sql("select count(*)::int as n from stuck.things"), [{ n: 3 }]);
    } finally {
      await holder?.release();
      t.cleanup();
    }
  });
});

describe("terminal load failures: a job the destination rejects", () => {
  let t: ReturnType<typeof tempPipeline>;
  let loadId = "";
  let failure: unknown;

  before(async () => {
    t = tempPipeline("broken", { dataset: "ds" });
    // A table that exists already with a column type the data cannot go into.
    await duckdbExec(
      t.dbPath,
      "create schema ds; create table ds.things(_ferry_id varchar, _ferry_load_id varchar, id bigint, note bigint)",
    );
    failure = await t.p.run([{ id: 1, note: "not a number" }], { table: "things" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const failed = (await t.p.packages()).failed;
    loadId = failed[0]?.loadId ?? "";
  });

  after(() => t.cleanup());

  test("the run rejects with LoadPackageFailedError naming the job and table", () => {
    assert.ok(failure instanceof LoadPackageFailedError, `got ${String(failure)}`);
    assert.equal(failure.transient, false);
    assert.equal(failure.fields.table, "things");
    assert.match(String(failure.fields.job), /^things\..*\.jsonl$/);
    assert.match(failure.message, new RegExp(`load package ${loadId.replace(".", "\\.")} failed`));
    assert.match(failure.message, /load job things\.\S+\.jsonl \(table things\) failed/);
    assert.match(failure.message, /Conversion Error/);
    assert.match(failure.hint ?? "", /failed-jobs/);
  });

  test("the package moves to the failed folder with the job and its .exception", async () => {
    const { pending, failed } = await t.p.packages();
    assert.equal(pending.length, 0);
    assert.equal(failed.length, 1);
    const pkg = failed[0]!;
    assert.equal(pkg.dir, join(t.dir, ".ferry", "broken", "failed", loadId));
    const jobs = await pkg.jobs("failed");
    assert.equal(jobs.length, 1);
    assert.deepEqual(await pkg.jobs("new"), []);
    assert.deepEqual(await pkg.jobs("started"), []);
    const job = jobs[0]!;
    assert.equal(job, (failure as LoadPackageFailedError).fields.job);
    const exception = readFileSync(join(pkg.jobDir("failed"), `${job}.exception`), "utf8");
    assert.match(exception, /Conversion Error/);
    assert.match(exception, /table=things/);
    // The job file still holds the rejected row.
    const lines = readFileSync(join(pkg.jobDir("failed"), job), "utf8")
      .trim()
      .split("\n");
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]!).note, "not a number");
  });

  test("nothing of the package reached the destination", async () => {
    assert.deepEqual(await t.p.dataset().sql("select count(*)::int as n from ds.things"), [{ n: 0 }]);
    const system = await t.p
      .dataset()
      .sql("select table_name from information_schema.tables where table_schema = 'ds' order by table_name");
    // The system tables were created inside the rolled-back transaction.
    assert.deepEqual(system, [{ table_name: "things" }]);
    assert.equal(t.p.state, undefined);
  });

  test("`ferry pipeline <name> failed-jobs` prints the job and its error", () => {
    const job = String((failure as LoadPackageFailedError).fields.job);
    const r = ferry(["pipeline", "broken", "failed-jobs", "--dir", join(t.dir, ".ferry")], t.dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^load ${loadId.replace(".", "\\.")} \\(files in .*failed`, "m"));
    assert.ok(r.stdout.includes(`  ${job}\n`), r.stdout);
    assert.match(r.stdout, /Conversion Error/);

    // FERRY_PIPELINES_DIR instead of --dir.
    const j = ferry(["pipeline", "broken", "failed-jobs", "--json"], t.dir, {
      FERRY_PIPELINES_DIR: join(t.dir, ".ferry"),
    });
    assert.equal(j.status, 0, j.stderr);
    const parsed = JSON.parse(j.stdout) as { loadId: string; jobs: { job: string; error: string }[] }[];
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0]?.loadId, loadId);
    assert.deepEqual(
      parsed[0]?.jobs.map((x) => x.job),
      [job],
    );
    assert.match(parsed[0]?.jobs[0]?.error ?? "", /Conversion Error/);

    // No load was ever committed: info still finds destination and dataset (from the failed package).
    const i = ferry(["pipeline", "broken", "info", "--json", "--dir", join(t.dir, ".ferry")], t.dir);
    assert.equal(i.status, 0, i.stderr);
    const info = JSON.parse(i.stdout) as Record<string, unknown>;
    assert.equal(info.destination, `duckdb:${t.dbPath}`);
    assert.equal(info.dataset, "ds");
    assert.equal(info.stateVersion, 0);
    assert.deepEqual(info.failedPackages, [loadId]);
    assert.deepEqual(info.pendingPackages, []);
  });
});
