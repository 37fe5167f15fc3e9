// Crash safety of the push door (issue 16, "Crash"): the real `ferry serve` CLI is killed with SIGKILL while clients
// send events and while the event loader loads them; after restarts on the same port and dir, every acknowledged uuid
// is stored exactly once, nothing is stored twice, and nothing that was never sent appears.
//
// The big test finds its kill moments by conditions (acks with requests in flight, a load inside the destination's
// transaction seen in the pipeline's packages folder) and checks afterwards, from what the dead process left on disk,
// where each kill landed. The smaller tests stop the server at exact points with test/fixtures/serve-faults.ts.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { describe, test } from "node:test";
import { partitionOf } from "../../src/events/log/partitioner.js";
import { dropSchemas } from "../helpers/backends.js";
import { ensureBuilt } from "../helpers/cli.js";
import {
  loadInProgress,
  logUuids,
  newServeEnv,
  pendingPackages,
  pipelineStage,
  type ServeEnv,
  ServeProcess,
  startedJobsCtime,
  waitFor,
} from "../helpers/serve-crash.js";
import { CaptureFleet } from "../helpers/serve-crash-clients.js";
import { service } from "../helpers/services.js";

interface StoredRow {
  uuid: string;
  distinct_id: string;
  client: number;
  seq: number;
}

/** Every row of a project's `events` table, with what the client put in its properties. */
const storedRows = (env: ServeEnv, dataset: string) =>
  env.store.query<StoredRow>(
    `SELECT uuid, distinct_id, ${env.store.jsonInt("properties", "client")} AS client,
            ${env.store.jsonInt("properties", "seq")} AS seq
     FROM "${dataset}".events`,
  );

const tableExists = async (env: ServeEnv, dataset: string, table: string) =>
  (
    await env.store.query(
      `SELECT 1 AS x FROM information_schema.tables WHERE table_schema = '${dataset}' AND table_name = '${table}'`,
    )
  ).length === 1;

/**
 * The stored events of a project are exactly `expected` (the uuids its clients had acknowledged), each once, with
 * the distinct_id and properties its client sent.
 */
async function assertExactlyOnce(
  env: ServeEnv,
  dataset: string,
  fleet: CaptureFleet,
  expected: ReadonlySet<string>,
): Promise<StoredRow[]> {
  const rows = await storedRows(env, dataset);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.uuid, (counts.get(r.uuid) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(
    twice.slice(0, 10),
    [],
    `${twice.length} uuid(s) stored more than once in ${dataset}.events`,
  );
  const missing = [...expected].filter((u) => !counts.has(u));
  assert.deepEqual(
    missing.slice(0, 10),
    [],
    `${missing.length} acknowledged uuid(s) missing from ${dataset}.events`,
  );
  const neverSent = rows.filter((r) => !fleet.sent.has(r.uuid));
  assert.deepEqual(neverSent.slice(0, 10), [], "rows whose uuid no client sent");
  const wrong = rows.filter((r) => {
    const s = fleet.sent.get(r.uuid);
    return s && (s.distinctId !== r.distinct_id || s.client !== r.client || s.seq !== r.seq);
  });
  assert.deepEqual(wrong.slice(0, 10), [], "rows that differ from what their client sent");
  const unexpected = rows.filter((r) => !expected.has(r.uuid));
  assert.deepEqual(unexpected.slice(0, 10), [], `rows in ${dataset}.events that were not expected there`);
  assert.equal(rows.length, expected.size);
  return rows;
}

/** Uuids the fleet sent to one token. */
const sentTo = (fleet: CaptureFleet, token: string) =>
  new Set([...fleet.sent].filter(([, s]) => s.token === token).map(([u]) => u));

const A = { token: "phc_crash_a", dataset: "web" };
const B = { token: "phc_crash_b", dataset: "app" };
const POSTHOG = { token: "phc_crash", dataset: "posthog" };
const pgService = await service("postgres");

/** One SIGKILL of the big test: what it aimed at, whether it landed there, the log on disk right after it. */
interface Kill {
  /** `term`: SIGTERM (a graceful stop) while clients send, for contrast. */
  kind: "append" | "load" | "package" | "recovery" | "term";
  hit: boolean;
  at: number;
  stage: string;
  log: Set<string>;
  acked: number;
}

/**
 * The kills of the big test, in order: during appends (requests in flight), inside a load's transaction, while a
 * package is extracted or normalized, during the recovery of a package a kill left (twice in a row); and once a
 * SIGTERM, after which everything acknowledged must be loaded.
 */
const PLAN: Kill["kind"][] = [
  "append",
  "load",
  "package",
  "append",
  "recovery",
  "term",
  "load",
  "append",
  "package",
  "load",
];

describe("ferry serve killed with SIGKILL", () => {
  test("100,000 events from 8 retrying clients, the server killed during appends and during loads: every acknowledged uuid is stored exactly once", {
    timeout: 420_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG] });
    t.after(() => env.cleanup());
    const started = performance.now();
    let server = await ServeProcess.start(env);
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 8,
      events: 100_000,
      batchSize: 50,
      deadlineMs: 360_000,
    });
    let fleetDone = false;
    // The clients get their events in steps, so that events keep coming until the last kill landed whatever the
    // speed of the machine: each planned kill gets STEP more events, and a kill waiting for its moment lets a few
    // more through when the clients ran dry. The plan uses about half of the 100,000; the rest follows it.
    const STEP = 5_000;
    let allowance = 0;
    fleet.allow(allowance);
    const sending = fleet.run().finally(() => {
      fleetDone = true;
    });
    sending.catch(() => undefined);
    const kills: Kill[] = [];
    const restartsMs: number[] = [];
    let lastTrickle = 0;
    const allow = (n: number) => {
      allowance = Math.min(100_000, n);
      fleet.allow(allowance);
    };
    const whileSending = <T>(what: string, check: () => T | false) =>
      waitFor(
        what,
        () => {
          if (fleetDone)
            throw new Error(`the clients finished before ${what}; kills so far: ${kills.length}`);
          // A trickle of at most 2,000 events/s keeps loads coming (catching a load needs events to load).
          if (fleet.idle && performance.now() - lastTrickle > 250) {
            lastTrickle = performance.now();
            allow(allowance + 500);
          }
          return check();
        },
        120_000,
        2,
      );
    /** SIGKILL now; where it landed is read from what the dead process left. */
    const kill = async (kind: Kill["kind"], aimedAt: (stage: string) => boolean): Promise<boolean> => {
      const at = performance.now();
      await server.kill();
      const stage = pipelineStage(env, POSTHOG.dataset);
      const hit = aimedAt(stage);
      kills.push({ kind, hit, at, stage, log: logUuids(env), acked: fleet.acked.size });
      return hit;
    };
    const restart = async () => {
      const r0 = performance.now();
      server = await ServeProcess.start(env);
      restartsMs.push(Math.round(performance.now() - r0));
    };
    const loading = (stage: string) => stage.startsWith("loading");
    const pending = (stage: string) => stage !== "no package pending";
    let misses = 0;
    /** Kills until one lands where it aimed: the moment passes between the check and the kill now and then. */
    const aim = async (kind: Kill["kind"], moment: () => boolean, aimedAt: (stage: string) => boolean) => {
      for (;;) {
        await whileSending(`a kill (${kind})`, moment);
        if (await kill(kind, aimedAt)) return;
        assert.ok(++misses <= 15, `15 kills missed the moment they aimed at: ${kills.at(-1)?.stage}`);
        await restart();
      }
    };
    try {
      for (const kind of PLAN) {
        allow(Math.max(allowance, fleet.taken + STEP));
        if (kind === "append") {
          await whileSending("acks past half the allowance with requests in flight", () => {
            return fleet.acked.size >= allowance - STEP / 2 && fleet.inFlight > 0;
          });
          await kill("append", () => true);
        } else if (kind === "load") {
          await aim("load", () => loadInProgress(env, POSTHOG.dataset), loading);
        } else if (kind === "term") {
          await whileSending("acks past half the allowance with requests in flight", () => {
            return fleet.acked.size >= allowance - STEP / 2 && fleet.inFlight > 0;
          });
          const at = performance.now();
          const code = await server.stop();
          assert.equal(code, 0, `ferry serve exited ${code} on SIGTERM:\n${server.stderr}`);
          const stored = new Set((await storedRows(env, POSTHOG.dataset)).map((r) => r.uuid));
          const unloaded = [...fleet.acked].filter((u) => !stored.has(u));
          assert.deepEqual(
            unloaded.slice(0, 5),
            [],
            `${unloaded.length} acknowledged events not loaded on SIGTERM`,
          );
          const stage = pipelineStage(env, POSTHOG.dataset);
          assert.equal(stage, "no package pending");
          kills.push({ kind, hit: true, at, stage, log: logUuids(env), acked: fleet.acked.size });
        } else if (kind === "package") {
          // A package extracted or being normalized: the load's first steps.
          const moment = () =>
            pendingPackages(env, POSTHOG.dataset).length > 0 && !loadInProgress(env, POSTHOG.dataset);
          await aim("package", moment, (stage) => pending(stage) && !loading(stage));
        } else {
          // Kill inside a load, then again while the restarted server completes that package, before it listens.
          for (;;) {
            await aim("load", () => loadInProgress(env, POSTHOG.dataset), loading);
            const leftByKill = startedJobsCtime(env, POSTHOG.dataset);
            server = ServeProcess.spawn(env);
            // The job the kill left in started/ is reset and started again: the recovery's own transaction.
            const recovering = await waitFor(
              "the restarted server to load the pending package again, or to be ready",
              async () =>
                startedJobsCtime(env, POSTHOG.dataset) > leftByKill ||
                ((await server.isReady(env)) && "ready"),
              90_000,
              2,
            );
            if (recovering === true && (await kill("recovery", pending))) break;
            assert.ok(++misses <= 15, "15 kills missed the recovery they aimed at");
            // Ready first (the recovery was over): the server runs on, and the next load is tried.
            if (recovering !== "ready") await restart();
          }
        }
        await restart();
      }
      allow(100_000);
      await sending;
      const stopCode = await server.stop();
      assert.equal(stopCode, 0, `ferry serve exited ${stopCode} on SIGTERM:\n${server.stderr}`);
    } finally {
      fleet.stop();
      await server.kill();
    }

    assert.equal(fleet.acked.size, 100_000, "every batch was acknowledged in the end");
    await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
    const hits = (kind: Kill["kind"]) => kills.filter((k) => k.kind === kind && k.hit).length;
    assert.ok(hits("append") >= 3 && hits("load") >= 4 && hits("package") >= 2 && hits("recovery") >= 1);
    assert.equal(hits("term"), 1);

    // Attempts cut by a kill whose events were durable in the log already (fsync done, no 200): their retries
    // were the duplicates the uuid window had to drop.
    let storedUnacked = 0;
    for (const f of fleet.failures) {
      if (f.reason === "ECONNREFUSED") continue;
      const kill = kills.find((k) => k.at >= f.startedAt);
      if (!kill || f.failedAt < kill.at) continue;
      storedUnacked += f.batch.uuids.filter((u) => kill.log.has(u)).length;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    t.diagnostic(
      `${seconds} s; ${fleet.requests} requests, failed attempts ${JSON.stringify(fleet.failureCounts())}; ` +
        `restarts ${restartsMs.join("/")} ms; ${storedUnacked} event(s) stored before their ack (kill after the fsync), retried without duplicates`,
    );
    for (const k of kills)
      t.diagnostic(`kill (${k.kind}${k.hit ? "" : ", missed"}) at ${k.acked} acks: ${k.stage}`);
  });

  test("acknowledged events survive a kill before any load ran; retried requests after the restart are not stored twice; a torn tail is cut", {
    timeout: 120_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG], batchInterval: "1h", batchEvents: 1_000_000 });
    t.after(() => env.cleanup());
    let server = await ServeProcess.start(env);
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 4,
      events: 2_000,
      batchSize: 50,
      deadlineMs: 60_000,
    });
    try {
      await fleet.run();
      assert.equal(fleet.acked.size, 2_000);
      await server.kill();
      assert.equal(pipelineStage(env, POSTHOG.dataset), "no package pending");
      assert.equal(existsSync(join(env.dir, "events_posthog", "state.json")), false, "no load has run");
      assert.deepEqual(logUuids(env), fleet.acked, "the log holds exactly the acknowledged events");

      // A write the kill cut short, as a crash of the machine can leave it: a record header announcing 400 bytes
      // and 100 of them (SIGKILL alone leaves whole writes in the page cache).
      const p0 = join(env.dir, "_serve", "log", "p0");
      const seg = readdirSync(p0).filter((n) => n.endsWith(".seg"))[0] as string;
      const torn = Buffer.alloc(108, 0x41);
      torn.writeUInt32LE(400, 0);
      torn.writeUInt32LE(0x12345678, 4);
      appendFileSync(join(p0, seg), torn);

      server = await ServeProcess.start(env);
      assert.match(server.stderr, /partition 0: cut a torn tail of 108 bytes/);
      // Every request again, as clients retry when an answer was lost: the uuid window rebuilt from disk drops them.
      for (const batch of fleet.batches) assert.equal(await fleet.sendUntilAcked(batch), 1);
      const code = await server.stop();
      assert.equal(code, 0, server.stderr);
    } finally {
      await server.kill();
    }
    await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
  });

  test("events fsynced but not acknowledged (killed before the 200): the client's retry is stored once", {
    timeout: 120_000,
  }, async (t) => {
    ensureBuilt();
    // One partition: the batch is one write, complete on disk when the fsync returns.
    const env = await newServeEnv({ projects: [POSTHOG], partitions: 1 });
    t.after(() => env.cleanup());
    let server = await ServeProcess.start(env, { point: "log-synced" });
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 1,
      events: 500,
      batchSize: 50,
      deadlineMs: 60_000,
    });
    try {
      const first = fleet.makeBatch(POSTHOG.token, 99, 0, 50);
      const retried = fleet.sendUntilAcked(first);
      await server.paused("log-synced");
      await server.kill();
      assert.equal(fleet.acked.size, 0, "no 200 was sent");
      assert.deepEqual(logUuids(env), new Set(first.uuids), "the unacknowledged batch is durable in the log");

      server = await ServeProcess.start(env);
      assert.ok((await retried) >= 2, "the batch was sent again");
      await fleet.run();
      const code = await server.stop();
      assert.equal(code, 0, server.stderr);
    } finally {
      await server.kill();
    }
    assert.equal(fleet.acked.size, 550);
    await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
  });

  test("an I/O error on one partition's write answers 503; the client's retry is stored once", {
    timeout: 120_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG], partitions: 4 });
    t.after(() => env.cleanup());
    const server = await ServeProcess.start(env, { failWrite: "/_serve/log/p1/" });
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 1,
      events: 500,
      batchSize: 50,
      deadlineMs: 60_000,
    });
    try {
      const batch = fleet.makeBatch(POSTHOG.token, 99, 0, 50);
      const parts = new Set(
        batch.uuids.map((u) => partitionOf(POSTHOG.token, fleet.sent.get(u)!.distinctId, 4)),
      );
      assert.ok(parts.has(1) && parts.size > 1, "the batch goes to partition 1 and others");
      assert.equal(await fleet.sendUntilAcked(batch), 2, "answered 503 once, then 200");
      assert.deepEqual(
        fleet.failures.map((f) => f.reason),
        ["503"],
      );
      assert.match(server.stdout, /FAILED write .*p1/);
      await fleet.run();
      const code = await server.stop();
      assert.equal(code, 0, server.stderr);
    } finally {
      await server.kill();
    }
    await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
  });

  for (const [point, where] of [
    ["load-inserted", "inside the load's open transaction (rows inserted, not committed)"],
    ["local-commit", "after the destination committed the package, before the local state was written"],
  ] as const) {
    for (const backend of ["duckdb", "postgres"] as const) {
      const skip = backend === "postgres" && pgService.skip;
      test(`${backend}: a kill ${where}: the restart completes the package, events stored once`, {
        timeout: 120_000,
        skip,
      }, async (t) => {
        ensureBuilt();
        // Postgres is shared: a dataset of this run's own.
        const project =
          backend === "postgres"
            ? { ...POSTHOG, dataset: `serve_crash_${randomBytes(4).toString("hex")}` }
            : POSTHOG;
        const ds = project.dataset;
        const env = await newServeEnv({
          projects: [project],
          ...(backend === "postgres" ? { postgres: pgService.url } : {}),
        });
        t.after(() => env.cleanup());
        let server = await ServeProcess.start(env, { point });
        const fleet = new CaptureFleet({
          url: env.url,
          tokens: [project.token],
          clients: 2,
          events: 1_000,
          batchSize: 50,
          deadlineMs: 60_000,
        });
        try {
          // One request of 500 events; the load that follows within the batch interval stops at the point.
          const first = fleet.makeBatch(project.token, 99, 0, 500);
          const firstAcked = fleet.sendUntilAcked(first);
          await server.paused(point);
          await server.kill();
          const [pkg] = pendingPackages(env, ds);
          assert.ok(pkg !== undefined, "a package is pending");
          assert.equal(pipelineStage(env, ds), "loading: rows inserted, commit or local commit pending");
          if (point === "load-inserted") {
            assert.equal(await tableExists(env, ds, "events"), false, "nothing was committed");
          } else {
            assert.deepEqual(
              await env.store.query(`SELECT load_id FROM "${ds}"._ferry_loads WHERE load_id = '${pkg}'`),
              [{ load_id: pkg }],
              "the destination committed the package",
            );
            assert.equal((await storedRows(env, ds)).length, 500);
          }

          server = await ServeProcess.start(env);
          if (point === "local-commit")
            assert.match(server.stderr, /was already committed by the destination/);
          await firstAcked;
          await fleet.run();
          const code = await server.stop();
          assert.equal(code, 0, server.stderr);
          assert.equal(fleet.acked.size, 1_500);
          await assertExactlyOnce(env, ds, fleet, fleet.acked);
          const loads = await env.store.query<{ n: number; d: number }>(
            `SELECT COUNT(*)::INTEGER AS n, COUNT(DISTINCT load_id)::INTEGER AS d FROM "${ds}"._ferry_loads`,
          );
          assert.equal(loads[0]?.n, loads[0]?.d, "each package committed once");
        } finally {
          await server.kill();
          if (backend === "postgres") await dropSchemas(pgService.url, [ds]);
        }
      });
    }
  }

  for (const [point, skip, where] of [
    ["local-commit", 0, "the first project committed (destination only), the second prepared, not loaded"],
    ["load-inserted", 1, "the first project committed, the second inside its open transaction"],
  ] as const) {
    test(`two projects, killed while draining on SIGTERM after ${where}: each project's events stored once`, {
      timeout: 120_000,
    }, async (t) => {
      ensureBuilt();
      // A long batch interval: the first load is the drain on SIGTERM, one micro-batch holding both projects. Without
      // persons each project's package has one job, so the pause lands at the second project's load.
      const env = await newServeEnv({
        projects: [A, B],
        batchInterval: "1h",
        batchEvents: 1_000_000,
        noPersons: true,
      });
      t.after(() => env.cleanup());
      let server = await ServeProcess.start(env, { point, skip });
      const fleet = new CaptureFleet({
        url: env.url,
        tokens: [A.token, B.token],
        clients: 4,
        events: 1_200,
        batchSize: 50,
        deadlineMs: 60_000,
      });
      try {
        await fleet.run();
        server.child.kill("SIGTERM");
        await server.paused(point);
        await server.kill();
        // Which project the micro-batch loaded first depends on the log's order: one is committed, one is not.
        const has = [
          await tableExists(env, A.dataset, "events"),
          await tableExists(env, B.dataset, "events"),
        ];
        assert.equal(has.filter(Boolean).length, 1, `one project committed: ${has}`);
        const first = has[0] ? A : B;
        assert.equal((await storedRows(env, first.dataset)).length, 600, `${first.dataset} committed`);
        const second = first === A ? B : A;
        assert.equal(
          pipelineStage(env, point === "local-commit" ? first.dataset : second.dataset),
          "loading: rows inserted, commit or local commit pending",
        );
        // A batch's packages are all prepared before the first loads: the other project's waits, normalized.
        assert.equal(
          pipelineStage(env, point === "local-commit" ? second.dataset : first.dataset),
          point === "local-commit" ? "normalized, load not begun" : "no package pending",
        );

        server = await ServeProcess.start(env);
        const code = await server.stop();
        assert.equal(code, 0, server.stderr);
      } finally {
        await server.kill();
      }
      assert.equal(fleet.acked.size, 1_200);
      await assertExactlyOnce(env, A.dataset, fleet, sentTo(fleet, A.token));
      await assertExactlyOnce(env, B.dataset, fleet, sentTo(fleet, B.token));
    });
  }

  test("a micro-batch is loaded once batch_events are waiting, also with a long batch_interval", {
    timeout: 60_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG], batchInterval: "1h", batchEvents: 500 });
    t.after(() => env.cleanup());
    const server = await ServeProcess.start(env);
    try {
      const fleet = new CaptureFleet({
        url: env.url,
        tokens: [POSTHOG.token],
        clients: 1,
        events: 1_000,
        batchSize: 50,
        deadlineMs: 30_000,
      });
      await fleet.run();
      // Generous for loading 500 events (a load of 10,000 takes well under a second here).
      await waitFor(
        "the first load",
        () => existsSync(join(env.dir, "events_posthog", "state.json")),
        10_000,
        20,
      );
    } finally {
      await server.kill();
    }
  });

  test("after a kill, the uuid window rebuilt from disk still holds the newest dedup_window events of every partition", {
    timeout: 120_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG], dedupWindow: 200 });
    t.after(() => env.cleanup());
    let server = await ServeProcess.start(env);
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 1,
      events: 2_000,
      batchSize: 50,
      deadlineMs: 60_000,
    });
    try {
      await fleet.run();
      const newest = fleet.batches.at(-1)!;
      // The same server drops the retry of its newest batch (the window in memory) ...
      assert.equal(await fleet.sendUntilAcked(newest), 1);
      await server.kill();
      // ... and so must a restarted one: those 50 are among the newest 200 events.
      server = await ServeProcess.start(env);
      assert.equal(await fleet.sendUntilAcked(newest), 1);
      const code = await server.stop();
      assert.equal(code, 0, server.stderr);
      await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
    } finally {
      await server.kill();
    }
  });

  test("a new --dir against a destination that holds events (a new machine, or an emptied dir): new events are loaded", {
    timeout: 120_000,
  }, async (t) => {
    ensureBuilt();
    const env = await newServeEnv({ projects: [POSTHOG] });
    t.after(() => env.cleanup());
    let server = await ServeProcess.start(env);
    const fleet = new CaptureFleet({
      url: env.url,
      tokens: [POSTHOG.token],
      clients: 2,
      events: 1_000,
      batchSize: 50,
      deadlineMs: 60_000,
    });
    try {
      await fleet.run();
      assert.equal(await server.stop(), 0, server.stderr);
      assert.equal((await storedRows(env, POSTHOG.dataset)).length, 1_000);
      rmSync(env.dir, { recursive: true, force: true });
      server = await ServeProcess.start(env);
      for (let seq = 0; seq < 1_000; seq += 50)
        await fleet.sendUntilAcked(fleet.makeBatch(POSTHOG.token, 7, seq, 50));
      assert.equal(await server.stop(), 0, server.stderr);
      await assertExactlyOnce(env, POSTHOG.dataset, fleet, fleet.acked);
    } finally {
      await server.kill();
    }
  });
});
