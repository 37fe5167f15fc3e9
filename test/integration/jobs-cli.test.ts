// `ferry jobs ...` and `ferry serve --no-capture` as users run them (the built CLI in its own process), against a
// local REST API into DuckDB files: runs by hand, the job history, pause and resume from another process, a terminal
// error, and `ferry serve` killed -9 in the middle of a scheduled run's load (the next start marks the run killed and
// its catch-up run completes the package: every row exactly once).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { JobRecord } from "../../src/orchestration/job-record.js";
import { FakeApi } from "../../src/testing/index.js";
import { ferryAsync } from "../helpers/cli.js";
import { FerryProcess } from "../helpers/ferry-process.js";
import { loadsOf, restSpec } from "../helpers/schedules.js";

const ITEMS = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` }));

describe("ferry jobs and ferry serve --no-capture (CLI)", () => {
  let api: FakeApi;
  let dir: string;
  before(async () => {
    api = await FakeApi.start([
      { path: "/items", handler: () => ({ json: ITEMS }) },
      { path: "/denied", handler: () => ({ status: 403, json: { error: "forbidden" } }) },
    ]);
    dir = mkdtempSync(join(tmpdir(), "ferry-jobs-cli-"));
    writeFileSync(join(dir, "items.yaml"), restSpec("x", api.url));
    writeFileSync(join(dir, "denied.yaml"), restSpec("x", api.url, "denied"));
    writeFileSync(
      join(dir, "ferry.yaml"),
      `pipelines:
  - { name: crm, spec: ./items.yaml, destination: "duckdb:crm.duckdb", schedule: { every: 6h } }
  - { name: locked, spec: ./denied.yaml, destination: "duckdb:locked.duckdb" }
  - { name: nightly, spec: ./items.yaml, destination: "duckdb:nightly.duckdb", schedule: { every: 1h } }
`,
    );
    writeFileSync(join(dir, "empty.yaml"), "pipelines: []\n");
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("serve --no-capture without scheduled pipelines says there is nothing to run", async () => {
    const r = await ferryAsync(["serve", "--no-capture", "--config", "empty.yaml"], dir);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /ferry serve --no-capture has nothing to run: no pipeline of the project file has a schedule/,
    );
    assert.match(r.stderr, /hint: add pipelines with a schedule to ferry.yaml/);
  });

  test("serve runs the schedules alongside capture", async () => {
    writeFileSync(
      join(dir, "both.yaml"),
      `pipelines:\n  - { name: beside, spec: ./items.yaml, destination: "duckdb:beside.duckdb", schedule: { every: 1h } }\n`,
    );
    const serve = new FerryProcess(
      ["serve", "--config", "both.yaml", "--token", "phc_test", "--port", "0", "--dir", "both-dir"],
      dir,
    );
    try {
      await serve.waitFor(/capture listening on http:\/\/127\.0\.0\.1:\d+/);
      await serve.waitFor(/schedules: 1 pipeline\(s\), at most 4 run\(s\) at once: beside \(every 1h\)/);
      await serve.waitFor(/beside: run \S+ completed in .*: 25 row\(s\)/);
    } finally {
      assert.equal((await serve.stop()).code, 0, serve.stderr);
    }
    const list = JSON.parse(
      (await ferryAsync(["jobs", "list", "--json", "--config", "both.yaml", "--dir", "both-dir"], dir))
        .stdout,
    ) as {
      runs: JobRecord[];
    };
    assert.deepEqual(
      list.runs.map((r) => [r.pipeline, r.status, r.rows]),
      [["beside", "completed", { items: 25 }]],
    );
  });

  test("jobs run, list, show; pause and resume; unknown pipelines named", async () => {
    const run = await ferryAsync(["jobs", "run", "crm", "--json"], dir);
    assert.equal(run.status, 0, run.stderr);
    const record = JSON.parse(run.stdout) as JobRecord;
    assert.equal(record.status, "completed");
    assert.equal(record.trigger, "manual");
    assert.deepEqual(record.rows, { items: 25 });
    assert.match(run.stderr, new RegExp(`crm: run ${record.id} completed in .*: 25 row\\(s\\)`));

    const shown = await ferryAsync(["jobs", "show", record.id, "--json"], dir);
    assert.deepEqual(JSON.parse(shown.stdout), record);
    const human = await ferryAsync(["jobs", "show", record.id], dir);
    assert.match(human.stdout, /status:\s+completed/);
    assert.match(human.stdout, /rows:\s+25\n\s+items\s+25/);

    const paused = await ferryAsync(["jobs", "pause", "crm", "--reason", "migrating the CRM"], dir);
    assert.equal(paused.status, 0, paused.stderr);
    const list = await ferryAsync(["jobs", "list", "--json"], dir);
    const listed = JSON.parse(list.stdout) as {
      pipelines: {
        name: string;
        state: string;
        pausedBecause?: string;
        schedule: string;
        lastRun?: { id: string };
      }[];
      runs: JobRecord[];
    };
    assert.deepEqual(
      listed.pipelines.map((p) => [p.name, p.state, p.schedule]),
      [
        ["crm", "paused", "every 6h"],
        ["locked", "manual", "manual"],
        ["nightly", "active", "every 1h"],
      ],
    );
    assert.equal(listed.pipelines[0]?.pausedBecause, "migrating the CRM");
    assert.equal(listed.pipelines[0]?.lastRun?.id, record.id);
    assert.deepEqual(
      listed.runs.map((r) => r.id),
      [record.id],
    );
    const text = await ferryAsync(["jobs", "list"], dir);
    assert.match(text.stdout, /crm\s+every 6h\s+paused\s+completed/);
    assert.match(text.stdout, /paused by user at .*: migrating the CRM/);

    const resumed = await ferryAsync(["jobs", "resume", "crm"], dir);
    assert.match(resumed.stdout, /resumed the schedule of crm \(it was paused: migrating the CRM\)/);
    const again = await ferryAsync(["jobs", "resume", "crm"], dir);
    assert.match(again.stdout, /crm was not paused/);

    const unknown = await ferryAsync(["jobs", "run", "nope"], dir);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no pipeline "nope" in the project file/);
    assert.match(unknown.stderr, /hint: pipelines: crm, locked, nightly/);
    const noRun = await ferryAsync(["jobs", "show", "crm-20260101T000000000Z-abcd"], dir);
    assert.equal(noRun.status, 1);
    assert.match(noRun.stderr, /no run "crm-20260101T000000000Z-abcd"/);
  });

  test("a terminal error (403) is not retried, pauses the pipeline and says why; exit code 1", async () => {
    const r = await ferryAsync(["jobs", "run", "locked"], dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /status:\s+paused/);
    assert.match(r.stdout, /attempts:\s+1\n/);
    assert.match(r.stdout, /error:\s+GET .*\/denied failed with status 403/);
    assert.match(r.stdout, /terminal \(retrying cannot fix it\)/);
    assert.match(r.stdout, /the schedule is paused; after fixing the cause: ferry jobs resume locked/);
    assert.match(r.stderr, /ALERT ferry: schedule paused: pipeline locked/);
    const list = JSON.parse(
      (await ferryAsync(["jobs", "list", "--json", "--pipeline", "locked"], dir)).stdout,
    ) as {
      pipelines: { state: string; pausedBecause: string }[];
    };
    assert.equal(list.pipelines[0]?.state, "paused");
    assert.match(list.pipelines[0]?.pausedBecause ?? "", /403/);
  });

  test("serve --no-capture killed -9 during a scheduled load: the next start marks the run and completes it", async () => {
    const first = new FerryProcess(["serve", "--no-capture"], dir, {}, { point: "load-inserted" });
    try {
      // crm (resumed) and nightly never ran on a schedule: both run at once; the first load blocks for good.
      await first.waitFor(/PAUSED load-inserted/);
    } finally {
      await first.kill9();
    }
    const during = JSON.parse((await ferryAsync(["jobs", "list", "--json"], dir)).stdout) as {
      runs: JobRecord[];
    };
    const killed = during.runs.filter((r) => r.status === "running");
    assert.ok(killed.length >= 1, JSON.stringify(during.runs.map((r) => [r.pipeline, r.status])));

    const second = new FerryProcess(["serve", "--no-capture"], dir);
    try {
      for (const k of killed) {
        await second.waitFor(
          new RegExp(`${k.pipeline}: run ${k.id} was killed with process \\d+; running it again now`),
        );
        await second.waitFor(new RegExp(`${k.pipeline}: run \\S+ completed in`));
      }
      // A pause made by another process reaches the running scheduler.
      await ferryAsync(["jobs", "pause", "nightly"], dir);
      await second.waitFor(/nightly: schedule paused \(paused by a user\)/, 30_000);
    } finally {
      const stopped = await second.stop();
      assert.equal(stopped.code, 0, second.stderr);
    }
    for (const k of killed) {
      const marked = JSON.parse(
        (await ferryAsync(["jobs", "show", k.id, "--json"], dir)).stdout,
      ) as JobRecord;
      assert.equal(marked.status, "failed");
      assert.equal(marked.error?.code, "interrupted");
      assert.match(marked.error?.message ?? "", /the run was killed: process \d+ ended while it ran/);
    }
    // Every package exactly once: each load holds the 25 items once, and every load is a recorded one (a killed
    // run's package, when it was extracted, is completed by the catch-up run before it extracts its own).
    for (const db of ["crm.duckdb", "nightly.duckdb"]) {
      const { loads, recorded } = await loadsOf(join(dir, db));
      assert.ok(loads.length >= 1, db);
      assert.deepEqual(
        loads,
        loads.map(() => ({ n: 25, d: 25 })),
        db,
      );
      assert.equal(recorded, loads.length, db);
    }
  });
});
