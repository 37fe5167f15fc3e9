// The embedded scheduler on a fake clock, running real pipelines (a local REST API into DuckDB files): intervals,
// cron with a time zone, jitter, overlapping runs skipped, retries with backoff, a terminal error pausing the schedule
// (and the alert webhook, a real local HTTP receiver), catch-up after downtime, the concurrency limit, a killed run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";
import { newRunId } from "../../src/orchestration/job-record.js";
import { jitterFor } from "../../src/orchestration/schedule.js";
import { FakeApi } from "../../src/testing/index.js";
import {
  asleep,
  fakeClockScheduler,
  itemStats,
  records,
  restSpec,
  tempProject,
  webhookReceiver,
} from "../helpers/schedules.js";
import { waitFor } from "../helpers/serve.js";

const T0 = Date.parse("2026-01-05T10:20:00Z");
const ITEMS = [1, 2, 3].map((id) => ({ id, name: `n${id}` }));

describe("embedded schedules (fake clock, real pipelines)", () => {
  let api: FakeApi;
  /** Requests to /held wait until `release()`. */
  let held: { release: () => void; promise: Promise<void> };
  const hold = () => {
    let release = () => {};
    const promise = new Promise<void>((r) => {
      release = r;
    });
    held = { release, promise };
  };
  let failures: { status: number; left: number };
  before(async () => {
    hold();
    failures = { status: 500, left: 0 };
    api = await FakeApi.start([
      { path: "/items", handler: () => ({ json: ITEMS }) },
      {
        path: "/held",
        handler: async () => {
          await held.promise;
          return { json: ITEMS };
        },
      },
      {
        path: "/flaky",
        handler: () => {
          if (failures.left > 0) {
            failures.left--;
            return { status: failures.status, json: { error: "nope" } };
          }
          return { json: ITEMS };
        },
      },
      { path: "/denied", handler: () => ({ status: 401, json: { error: "bad token" } }) },
    ]);
  });
  after(() => api.close());

  test("every: a new schedule runs at once, then at each slot; rows and slots recorded", async () => {
    const project = tempProject(
      { "s.yaml": restSpec("hourly", api.url) },
      `pipelines:\n  - { name: hourly, spec: ./s.yaml, destination: "duckdb:hourly.duckdb", schedule: { every: 1h } }\n`,
    );
    const { scheduler, clock } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      await waitFor("the first run", async () =>
        (await records(project.store, "hourly")).find((r) => r.status === "completed"),
      );
      assert.deepEqual(scheduler.nextRuns().hourly, {
        slot: "2026-01-05T11:00:00.000Z",
        at: "2026-01-05T11:00:00.000Z",
      });
      clock.set(Date.parse("2026-01-05T10:59:59Z"));
      clock.set(Date.parse("2026-01-05T11:00:00Z"));
      await waitFor(
        "the 11:00 run",
        async () =>
          (await records(project.store, "hourly")).filter((r) => r.status === "completed").length === 2,
      );
      const rs = await records(project.store, "hourly");
      assert.deepEqual(
        rs.map((r) => [r.status, r.trigger, r.scheduledFor, r.rows, r.attempts]),
        [
          ["completed", "schedule", new Date(T0).toISOString(), { items: 3 }, 1],
          ["completed", "schedule", "2026-01-05T11:00:00.000Z", { items: 3 }, 1],
        ],
      );
      assert.ok(rs.every((r) => typeof r.durationMs === "number" && r.loadIds.length === 1));
    } finally {
      await scheduler.stop();
    }
    assert.deepEqual(await itemStats(join(project.dir, "hourly.duckdb")), { n: 6, distinct: 3 });
    project.cleanup();
  });

  test("a module pipeline (TypeScript) runs at each slot from one import", async () => {
    const src = join(import.meta.dirname, "../../src/index.ts");
    const project = tempProject(
      {
        "shop.ts": `import { resource } from ${JSON.stringify(src)};
let imports = (globalThis as { shopImports?: number }).shopImports ?? 0;
(globalThis as { shopImports?: number }).shopImports = ++imports;
export default resource({ name: "orders", primaryKey: "id", writeDisposition: "append" }, async function* () {
  yield [{ id: 1, total: 10 }, { id: 2, total: 20 }];
});
`,
      },
      `pipelines:\n  - { name: shop, module: ./shop.ts, destination: "duckdb:shop.duckdb", schedule: { every: 1h } }\n`,
    );
    const { scheduler, clock } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      await waitFor("the first run", async () =>
        (await records(project.store, "shop")).some((r) => r.status === "completed"),
      );
      clock.set(Date.parse("2026-01-05T11:00:00Z"));
      await waitFor(
        "the second run",
        async () =>
          (await records(project.store, "shop")).filter((r) => r.status === "completed").length === 2,
      );
      assert.deepEqual(
        (await records(project.store, "shop")).map((r) => r.rows),
        [{ orders: 2 }, { orders: 2 }],
      );
      assert.equal((globalThis as { shopImports?: number }).shopImports, 1, "imported once, run twice");
    } finally {
      await scheduler.stop();
    }
    project.cleanup();
  });

  test("cron in a time zone fires at local time; jitter delays each slot by its own offset and no more", async () => {
    const project = tempProject(
      { "s.yaml": restSpec("berlin", api.url) },
      `pipelines:
  - { name: berlin, spec: ./s.yaml, destination: "duckdb:b.duckdb", schedule: { cron: "30 9 * * *", timezone: Europe/Berlin } }
  - { name: spread, spec: ./s.yaml, destination: "duckdb:s.duckdb", schedule: { every: 1h, jitter: 20m } }
`,
    );
    const { scheduler, clock } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      await waitFor(
        "the first runs",
        async () => (await project.store.list()).filter((r) => r.status === "completed").length === 2,
      );
      // 09:30 in Berlin in January is 08:30 UTC, the next day (T0 is 10:20 UTC).
      assert.equal(scheduler.nextRuns().berlin?.at, "2026-01-06T08:30:00.000Z");
      const slot = Date.parse("2026-01-05T11:00:00Z");
      const j = jitterFor("spread", slot, 20 * 60_000);
      assert.ok(j > 0 && j < 20 * 60_000, `jitter ${j}`);
      assert.equal(scheduler.nextRuns().spread?.at, new Date(slot + j).toISOString());
      clock.set(slot + j - 1);
      // Nothing fires before its jittered time: the loop has looked at the new time and sleeps again.
      await waitFor("the scheduler asleep again", () => asleep(clock));
      assert.equal((await records(project.store, "spread")).length, 1);
      clock.set(slot + j);
      await waitFor("the jittered run", async () => (await records(project.store, "spread")).length === 2);
      assert.equal((await records(project.store, "spread"))[1]?.scheduledFor, new Date(slot).toISOString());
      clock.set(Date.parse("2026-01-06T08:30:00Z"));
      await waitFor("the cron run", async () => (await records(project.store, "berlin")).length === 2);
      const cronRun = (await records(project.store, "berlin"))[1];
      assert.equal(cronRun?.scheduledFor, "2026-01-06T08:30:00.000Z");
      await waitFor(
        "it completes",
        async () => (await project.store.get(cronRun?.id ?? ""))?.status === "completed",
      );
    } finally {
      await scheduler.stop();
    }
    project.cleanup();
  });

  test("a slot that comes while the previous run is still running is skipped and recorded", async () => {
    const project = tempProject(
      { "s.yaml": restSpec("slow", api.url, "held") },
      `pipelines:\n  - { name: slow, spec: ./s.yaml, destination: "duckdb:slow.duckdb", schedule: { every: 1h } }\n`,
    );
    hold();
    const { scheduler, clock } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      await waitFor("the first run to reach the API", () => api.requestsTo("/held").length >= 1);
      clock.set(Date.parse("2026-01-05T11:00:00Z"));
      const skipped = await waitFor("a skipped record", async () =>
        (await records(project.store, "slow")).find((r) => r.status === "skipped"),
      );
      const running = (await records(project.store, "slow")).find((r) => r.status === "running");
      assert.ok(running, "the first run is still running");
      assert.equal(skipped.scheduledFor, "2026-01-05T11:00:00.000Z");
      assert.match(skipped.reason ?? "", new RegExp(`the previous run ${running.id} .* is still running`));
      held.release();
      await waitFor(
        "the first run to complete",
        async () => (await project.store.get(running.id))?.status === "completed",
      );
      assert.equal(api.requestsTo("/held").length, 1, "the skipped slot made no request");
    } finally {
      held.release();
      await scheduler.stop();
    }
    assert.deepEqual(await itemStats(join(project.dir, "slow.duckdb")), { n: 3, distinct: 3 });
    project.cleanup();
  });

  test("transient errors are retried with backoff; exhausted retries fail the job and call the webhook", async () => {
    const hook = await webhookReceiver();
    const project = tempProject(
      { "s.yaml": restSpec("flaky", api.url, "flaky") },
      `pipelines:
  - { name: flaky, spec: ./s.yaml, destination: "duckdb:f.duckdb", schedule: { every: 1h }, retries: { attempts: 3, backoff: 1m } }
alerts: { webhook: "${hook.url}" }
`,
    );
    failures.status = 503;
    failures.left = 2;
    const { scheduler, clock, logger } = fakeClockScheduler(project, T0, { webhook: hook.url });
    try {
      await scheduler.start();
      // Attempt 1 fails: the retry waits 1 minute of the fake clock, attempt 2 fails: 2 minutes, attempt 3 loads.
      await waitFor("the first backoff", () => clock.sleepers.includes(T0 + 60_000));
      clock.set(T0 + 60_000);
      await waitFor("the second backoff", () => clock.sleepers.includes(T0 + 180_000));
      clock.set(T0 + 180_000);
      const done = await waitFor("the run", async () =>
        (await records(project.store, "flaky")).find((r) => r.status !== "running"),
      );
      assert.equal(done.status, "completed");
      assert.equal(done.attempts, 3);
      assert.deepEqual(done.rows, { items: 3 });
      assert.equal(
        logger.lines.filter((l) => l.level === "warn" && /attempt \d\/3 failed .*503/.test(l.msg)).length,
        2,
      );
      assert.equal(hook.alerts().length, 0, "a run that recovered raises no alert");

      // The next slot fails three times: the job fails, the schedule goes on, the webhook hears of it.
      failures.left = 3;
      const slot = Date.parse("2026-01-05T11:00:00Z");
      clock.set(slot);
      await waitFor("backoff 1", () => clock.sleepers.includes(slot + 60_000));
      clock.set(slot + 60_000);
      await waitFor("backoff 2", () => clock.sleepers.includes(slot + 180_000));
      clock.set(slot + 180_000);
      const failed = await waitFor("the failed job", async () =>
        (await records(project.store, "flaky")).find((r) => r.status === "failed"),
      );
      assert.equal(failed.attempts, 3);
      assert.equal(failed.error?.transient, true);
      assert.match(failed.error?.message ?? "", /503/);
      const [alert] = await waitFor("the alert", () =>
        hook.alerts().length === 1 ? hook.alerts() : undefined,
      );
      assert.equal(alert?.kind, "job_failed");
      assert.equal(alert?.pipeline, "flaky");
      assert.equal(alert?.run, failed.id);
      assert.equal(alert?.status, "failed");
      assert.match(alert?.error.message ?? "", /503/);
      assert.match(alert?.hint ?? "", new RegExp(`ferry jobs show ${failed.id}`));
      assert.ok(
        logger.lines.some(
          (l) => l.level === "error" && l.msg.startsWith("ALERT ferry: job failed: pipeline flaky"),
        ),
      );
      assert.ok(scheduler.nextRuns().flaky, "the schedule goes on");
      assert.equal(await project.store.paused("flaky"), undefined);
    } finally {
      failures.left = 0;
      await scheduler.stop();
      await hook.close();
    }
    project.cleanup();
  });

  test("a terminal error (401) pauses the schedule, says why and alerts; resume lets the next slot run", async () => {
    const hook = await webhookReceiver();
    const project = tempProject(
      { "d.yaml": restSpec("denied", api.url, "denied"), "ok.yaml": restSpec("fine", api.url) },
      `pipelines:
  - { name: denied, spec: ./d.yaml, destination: "duckdb:d.duckdb", schedule: { every: 1h }, retries: { attempts: 5, backoff: 1m } }
alerts: { webhook: "${hook.url}" }
`,
    );
    const { scheduler, clock } = fakeClockScheduler(project, T0, { webhook: hook.url });
    try {
      await scheduler.start();
      const paused = await waitFor("the paused job", async () =>
        (await records(project.store, "denied")).find((r) => r.status === "paused"),
      );
      assert.equal(paused.attempts, 1, "a terminal error is not retried");
      assert.equal(paused.error?.transient, false);
      assert.match(paused.error?.message ?? "", /401/);
      const pause = await project.store.paused("denied");
      assert.equal(pause?.by, "error");
      assert.equal(pause?.run, paused.id);
      assert.match(pause?.reason ?? "", /401/);
      const [alert] = await waitFor("the alert", () =>
        hook.alerts().length === 1 ? hook.alerts() : undefined,
      );
      assert.equal(alert?.kind, "schedule_paused");
      assert.equal(alert?.run, paused.id);
      assert.match(alert?.hint ?? "", /ferry jobs resume denied/);

      const before = api.requestsTo("/denied").length;
      clock.set(Date.parse("2026-01-05T12:00:00Z"));
      await waitFor("the scheduler past the 12:00 slot and asleep again", () => asleep(clock));
      assert.equal(api.requestsTo("/denied").length, before, "no run while paused");
      assert.equal(
        (await records(project.store, "denied")).length,
        1,
        "paused slots are not recorded as jobs",
      );

      // Resumed (as `ferry jobs resume` does, from another process): the next slot runs again.
      await project.store.resume("denied");
      await waitFor("the scheduler to see the resume", async () => {
        await scheduler.refreshPauses();
        return true;
      });
      clock.set(Date.parse("2026-01-05T13:00:00Z"));
      await waitFor("a run after the resume", () => api.requestsTo("/denied").length > before);
    } finally {
      await scheduler.stop();
      await hook.close();
    }
    project.cleanup();
  });

  test("after downtime one catch-up run covers all missed slots, then the schedule goes on", async () => {
    const project = tempProject(
      { "s.yaml": restSpec("catchup", api.url) },
      `pipelines:\n  - { name: catchup, spec: ./s.yaml, destination: "duckdb:c.duckdb", schedule: { every: 1h } }\n`,
    );
    const first = fakeClockScheduler(project, T0);
    await first.scheduler.start();
    await waitFor("the first run", async () =>
      (await records(project.store, "catchup")).some((r) => r.status === "completed"),
    );
    await first.scheduler.stop();
    // Down for five slots (11:00 ... 15:00); started again at 15:30.
    const restart = Date.parse("2026-01-05T15:30:00Z");
    const second = fakeClockScheduler(project, restart);
    try {
      await second.scheduler.start();
      await waitFor(
        "the catch-up run",
        async () =>
          (await records(project.store, "catchup")).filter((r) => r.status === "completed").length === 2,
      );
      const rs = await records(project.store, "catchup");
      assert.equal(rs.length, 2, "one catch-up run, not one per missed slot");
      assert.equal(rs[1]?.trigger, "catch-up");
      assert.equal(rs[1]?.scheduledFor, "2026-01-05T15:00:00.000Z");
      assert.equal(second.scheduler.nextRuns().catchup?.slot, "2026-01-05T16:00:00.000Z");
      second.clock.set(Date.parse("2026-01-05T16:00:00Z"));
      await waitFor("the 16:00 run", async () => (await records(project.store, "catchup")).length === 3);
      assert.equal((await records(project.store, "catchup"))[2]?.trigger, "schedule");
    } finally {
      await second.scheduler.stop();
    }
    project.cleanup();
  });

  test("concurrency limits runs across pipelines; the others wait in order", async () => {
    hold();
    const names = ["c1", "c2", "c3"];
    const project = tempProject(
      { "s.yaml": restSpec("c", api.url, "held") },
      `pipelines:\n${names.map((n) => `  - { name: ${n}, spec: ./s.yaml, destination: "duckdb:${n}.duckdb", schedule: { every: 1h } }`).join("\n")}\nscheduler: { concurrency: 1 }\n`,
    );
    const before = api.requestsTo("/held").length;
    const { scheduler, logger } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      await waitFor("one run at the API", () => api.requestsTo("/held").length === before + 1);
      await waitFor("the other two waiting for a place", () => scheduler.queued === 2);
      assert.equal(api.requestsTo("/held").length, before + 1, "the others wait for a free place");
      assert.equal(scheduler.running, 1);
      held.release();
      await waitFor(
        "all three runs",
        async () => (await project.store.list()).filter((r) => r.status === "completed").length === 3,
      );
      // The fake clock stands still: the order shows in the log, not in the records' times.
      const order = logger.lines.filter((l) => / started \(/.test(l.msg)).map((l) => l.msg.split(":")[0]);
      assert.deepEqual(order, names);
    } finally {
      held.release();
      await scheduler.stop();
    }
    project.cleanup();
  });

  test("a run killed with its process is marked at the next start, and the catch-up completes its package", async () => {
    const project = tempProject(
      { "s.yaml": restSpec("killed", api.url) },
      `pipelines:\n  - { name: killed, spec: ./s.yaml, destination: "duckdb:k.duckdb", schedule: { every: 1h } }\n`,
    );
    // The killed process: it had extracted a package (not loaded) and its job record says running.
    const p = pipeline({
      name: "killed",
      destination: `duckdb:${join(project.dir, "k.duckdb")}`,
      dataset: "api",
      dir: project.pipelinesDir,
      logger: silentLogger,
    });
    const { restApiSource } = await import("../../src/sources/rest-api/index.js");
    const { loadId } = await p.extract(
      restApiSource({
        client: { base_url: api.url },
        resources: [
          {
            name: "items",
            endpoint: { path: "items", paginator: "single_page" },
            primary_key: "id",
            write_disposition: "append",
          },
        ],
      }),
    );
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid ?? 999_999;
    const slot = Date.parse("2026-01-05T10:00:00Z");
    const id = newRunId("killed", slot);
    await project.store.save({
      id,
      pipeline: "killed",
      status: "running",
      trigger: "schedule",
      scheduledFor: new Date(slot).toISOString(),
      startedAt: new Date(slot).toISOString(),
      attempts: 1,
      rows: {},
      loadIds: [],
      owner: { pid: dead, host: (await import("node:os")).hostname() },
    });
    const { scheduler, logger } = fakeClockScheduler(project, T0);
    try {
      await scheduler.start();
      const marked = await project.store.get(id);
      assert.equal(marked?.status, "failed");
      assert.equal(marked?.error?.code, "interrupted");
      assert.match(marked?.error?.message ?? "", new RegExp(`process ${dead} ended while it ran`));
      assert.ok(logger.lines.some((l) => l.msg.includes(`run ${id} was killed`)));
      const rerun = await waitFor("the catch-up run", async () =>
        (await records(project.store, "killed")).find((r) => r.id !== id && r.status === "completed"),
      );
      assert.equal(rerun.trigger, "catch-up");
      assert.deepEqual(rerun.pendingCompleted, [loadId]);
      assert.deepEqual(rerun.rows, { items: 6 }, "the killed run's package and a new one");
    } finally {
      await scheduler.stop();
    }
    assert.deepEqual(await itemStats(join(project.dir, "k.duckdb")), { n: 6, distinct: 3 });
    project.cleanup();
  });
});
