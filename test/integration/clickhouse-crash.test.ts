// Crash recovery on ClickHouse (no transactions): a child process (test/fixtures/crash-child.ts) loading 20,000 items
// with their child rows is killed with SIGKILL at exact points of a load: half-way through a table's batches, after
// the root table, after the data and state but before the `_ferry_loads` row, after it, after a merge deleted the
// rows it replaces but before it inserted them, between the table swaps of a replace. A proxy in front of the server
// (test/helpers/clickhouse-proxy.ts) holds the statement the crash must come before; the real server (18.16) and
// the modern engine (chdb, standing in for a 26.7 server) are behind it. The next run completes the package: every
// row is there exactly once, child rows included, and the state and load records once per load.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { clickhouseStagingDatabase } from "../../src/destinations/clickhouse/index.js";
import { type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import {
  type ChildArgs,
  type CrashData,
  childRows,
  crashResource,
  type PausePoint,
} from "../fixtures/crash-child.js";
import { dropDatabases } from "../helpers/backends.js";
import { ClickHouseProxy, type ProxyRule } from "../helpers/clickhouse-proxy.js";
import { clickhouseQuery } from "../helpers/clickhouse-tables.js";
import { service } from "../helpers/services.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/crash-child.ts", import.meta.url));
const N = 20_000;
/** Rows per INSERT in the child: a 20,000-row table goes in 4 batches. */
const BATCH_ROWS = 5000;
const TIMEOUT = { timeout: 120_000 };

/** Where the child is stopped: a pause point of its own, or a statement the proxy holds. */
type KillPoint = { pause: PausePoint } | { hold: ProxyRule["match"]; skip?: number };

/** Runs the child until it reaches `at`, then kills it with SIGKILL. */
async function crashAt(
  url: string,
  dir: string,
  dataset: string,
  data: CrashData,
  at: KillPoint,
): Promise<void> {
  const proxy = await ClickHouseProxy.start(url);
  const held = "hold" in at ? proxy.arm({ match: at.hold, skip: at.skip ?? 0, action: "hold" }) : undefined;
  const args: ChildArgs = {
    ...data,
    dir,
    db: "",
    destination: proxy.url,
    name: "crash",
    dataset,
    ...("pause" in at ? { pause: at.pause } : {}),
  };
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      FERRY_LOG_LEVEL: "silent",
      FERRY_CLICKHOUSE_INSERT_BATCH_ROWS: String(BATCH_ROWS),
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child did not reach ${JSON.stringify(at)}: ${err}`)),
        90_000,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      void held?.then(done);
      if ("pause" in at) {
        child.stdout?.on("data", () => {
          if (out.includes(`PAUSED ${at.pause}\n`)) done();
        });
      }
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`child exited before ${JSON.stringify(at)}: ${out} ${err}`));
      });
    });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    await proxy.close();
  }
  assert.equal(child.signalCode, "SIGKILL");
}

const open = (url: string, dir: string, dataset: string): Pipeline =>
  pipeline({ name: "crash", dir, destination: url, dataset, logger: silentLogger });

const one = async (p: Pipeline, sql: string) => (await p.dataset().sql(sql))[0];

/** Ids first..last exactly once, each with its own child rows; one state row and one load row per load. */
async function assertExactlyOnce(p: Pipeline, first: number, last: number, loadIds: string[]): Promise<void> {
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
  const children = childRows(first, last);
  assert.deepEqual(
    await one(p, "select count(*) as n, count(distinct _ferry_id) as d from items__children"),
    { n: children, d: children },
  );
  assert.deepEqual(
    await one(
      p,
      "select count(*) as n from items__children where _ferry_parent_id not in (select _ferry_id from items)",
    ),
    { n: 0 },
    "no orphan child rows",
  );
  const loads = (await p.dataset().sql("select load_id from _ferry_loads order by load_id")).map(
    (r) => r.load_id,
  );
  assert.deepEqual(loads, [...loadIds].sort());
  const states = (
    await p.dataset().sql("select _ferry_load_id as id from _ferry_pipeline_state order by id")
  ).map((r) => r.id);
  assert.deepEqual(states, [...loadIds].sort(), "one state row per load");
}

const batch1: CrashData = { start: 1, count: N, mode: "incremental", tag: "a" };
const rerun: CrashData = { start: 1, count: N + 10_000, mode: "incremental", tag: "b" };

for (const which of ["chdb", "clickhouse"] as const) {
  const svc = await service(which);
  describe(`ClickHouse crash recovery [${which === "chdb" ? "26.7 (chdb)" : "18.16"}]`, {
    skip: svc.skip,
  }, () => {
    /** A fresh dataset and working dir for one test, dropped afterwards. */
    async function withCrashDataset(fn: (dir: string, dataset: string) => Promise<void>): Promise<void> {
      const work = mkdtempSync(join(tmpdir(), "ferry-"));
      const dataset = `crash_${randomBytes(4).toString("hex")}`;
      try {
        await fn(join(work, ".ferry"), dataset);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    }

    /** Kills a first load at `at`, then a run of 30,000 items completes it and loads 10,000 more, each row once. */
    async function killThenRerun(at: KillPoint, check?: (p: Pipeline, dataset: string) => Promise<void>) {
      await withCrashDataset(async (dir, dataset) => {
        await crashAt(svc.url, dir, dataset, batch1, at);
        const p = open(svc.url, dir, dataset);
        await check?.(p, dataset);
        const pending = (await p.packages()).pending.map((x) => x.loadId);
        assert.equal(pending.length, 1);
        const info = await p.run(crashResource(rerun));
        assert.deepEqual(info.pendingCompleted, pending);
        assert.deepEqual(
          info.items,
          { items: 10_000 },
          "the pending package's cursor applies to the new extract",
        );
        await assertExactlyOnce(p, 1, N + 10_000, info.loadIds);
        assert.deepEqual(
          await p.dataset().sql("select tag, count(*) as n from items group by tag order by tag"),
          [
            { tag: "a", n: N },
            { tag: "b", n: 10_000 },
          ],
        );
      });
    }

    test(
      "killed half-way through the root table's batches: the rows it appended are removed, then loaded once",
      TIMEOUT,
      () =>
        // Two batches in: the third INSERT into items is held.
        killThenRerun({ hold: /^INSERT INTO `crash_[0-9a-f]+`\.`items` \(/, skip: 2 }, async (p) => {
          assert.equal(
            (await one(p, "select count(*) as n from items"))?.n,
            2 * BATCH_ROWS,
            "two batches were in",
          );
        }),
    );

    test(
      "killed when the child table's job starts (the root table complete): completed exactly once",
      TIMEOUT,
      () =>
        killThenRerun({ pause: "load-job" }, async (p) => {
          assert.equal((await one(p, "select count(*) as n from items"))?.n, N);
          assert.deepEqual(await p.dataset().sql("select count(*) as n from _ferry_loads"), [{ n: 0 }]);
        }),
    );

    test(
      "killed after the data and state, before the _ferry_loads row: the state is not restored from it, rows once",
      TIMEOUT,
      () =>
        killThenRerun({ hold: /^INSERT INTO `crash_[0-9a-f]+`\.`_ferry_loads` / }, async (p, dataset) => {
          assert.equal((await one(p, "select count(*) as n from _ferry_pipeline_state"))?.n, 1);
          assert.equal((await one(p, "select count(*) as n from _ferry_loads"))?.n, 0);
          // A machine without the working dir finds no completed load to restore from.
          const elsewhere = mkdtempSync(join(tmpdir(), "ferry-"));
          try {
            assert.equal(await open(svc.url, elsewhere, dataset).syncFromDestination(), false);
          } finally {
            rmSync(elsewhere, { recursive: true, force: true });
          }
        }),
    );

    test(
      "killed after the _ferry_loads row, before the local state: the load is not written twice",
      TIMEOUT,
      () => killThenRerun({ pause: "load-committed" }),
    );

    test(
      "merge killed after its deletes, before its inserts: the next run merges again, each key once",
      TIMEOUT,
      () =>
        withCrashDataset(async (dir, dataset) => {
          const first = open(svc.url, dir, dataset);
          await first.run(crashResource({ start: 1, count: N, mode: "merge", tag: "a" }));
          // Ids 10,001..30,000 with tag b: the merge deletes 10,001..20,000, then its insert is held.
          await crashAt(
            svc.url,
            dir,
            dataset,
            { start: 10_001, count: N, mode: "merge", tag: "b" },
            {
              hold: /^INSERT INTO `crash_[0-9a-f]+`\.`items` \(.*\) SELECT /s,
            },
          );
          const p = open(svc.url, dir, dataset);
          assert.equal(
            (await one(p, "select count(*) as n from items"))?.n,
            10_000,
            "the keys of the merge were deleted",
          );
          const info = await p.run(crashResource({ start: 25_001, count: 10_000, mode: "merge", tag: "c" }));
          assert.equal(info.pendingCompleted.length, 1);
          const loads = (await p.dataset().sql("select load_id from _ferry_loads order by load_id")).map(
            (r) => r.load_id,
          );
          assert.equal(loads.length, 3);
          assert.deepEqual(
            await one(p, "select count(*) as n, count(distinct id) as d, max(id) as hi from items"),
            {
              n: 35_000,
              d: 35_000,
              hi: 35_000,
            },
          );
          assert.deepEqual(
            await p.dataset().sql("select tag, count(*) as n from items group by tag order by tag"),
            [
              { tag: "a", n: 10_000 },
              { tag: "b", n: 15_000 },
              { tag: "c", n: 10_000 },
            ],
          );
          assert.deepEqual(await one(p, "select count(*) as n from items__children"), {
            n: childRows(1, 35_000),
          });
          assert.deepEqual(
            await one(
              p,
              "select count(*) as n from items__children c where _ferry_root_id not in (select _ferry_id from items)",
            ),
            { n: 0 },
          );
        }),
    );

    test(
      "replace killed between its table swaps: the next run swaps both, root and child rows consistent",
      TIMEOUT,
      () =>
        withCrashDataset(async (dir, dataset) => {
          const first = open(svc.url, dir, dataset);
          await first.run(crashResource({ start: 1, count: 3000, mode: "replace", tag: "a" }));
          await crashAt(
            svc.url,
            dir,
            dataset,
            { start: 5001, count: 2000, mode: "replace", tag: "b" },
            {
              hold: /^(EXCHANGE TABLES|RENAME TABLE) `crash_[0-9a-f]+`\.`items__children` /,
            },
          );
          const p = open(svc.url, dir, dataset);
          assert.deepEqual(await one(p, "select min(id) as lo, count(*) as n from items"), {
            lo: 5001,
            n: 2000,
          });
          assert.equal(
            (await one(p, "select count(*) as n from items__children"))?.n,
            childRows(1, 3000),
            "old child rows",
          );
          const info = await p.run(crashResource({ start: 9001, count: 1000, mode: "replace", tag: "c" }));
          assert.equal(info.pendingCompleted.length, 1);
          assert.deepEqual(await one(p, "select min(id) as lo, max(id) as hi, count(*) as n from items"), {
            lo: 9001,
            hi: 10_000,
            n: 1000,
          });
          assert.deepEqual(
            await one(
              p,
              "select count(*) as n from items__children where _ferry_parent_id not in (select _ferry_id from items)",
            ),
            { n: 0 },
          );
          assert.equal(
            (await one(p, "select count(*) as n from items__children"))?.n,
            childRows(9001, 10_000),
          );
          const staging = await clickhouseQuery(
            svc.url,
            `SELECT name FROM system.tables WHERE database = '${clickhouseStagingDatabase(dataset)}'`,
          );
          assert.deepEqual(staging, [], "no staging table left");
        }),
    );
  });
}
