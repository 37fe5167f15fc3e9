/**
 * `fleet`: `records` small syncs (a local REST API of 10 items into one DuckDB file per pipeline, 20 pipelines) run
 * three ways in one process, each measured against the first:
 * - floor: the same syncs back to back, nothing around them (the spec read and `run()`, as a job does);
 * - embedded: through the embedded scheduler of `ferry serve` (job history on disk, retries, alerts), at concurrency
 *   1 (its overhead per job against the floor) and at concurrency 4 (its throughput); the slots come from a fake
 *   clock moved on as soon as a round of runs is done, so what is measured is the scheduler's capacity, not waiting;
 * - temporal: through Temporal on one `ferry worker` process (the real dev server at FERRY_TEST_TEMPORAL_ADDRESS,
 *   default 127.0.0.1:57233; skipped when it does not answer): runs one at a time (overhead per job) and 8 in flight
 *   (throughput; the worker runs 4 steps at once).
 * Reports syncs per hour and per day and the overhead per job. Target: one 2-core worker sustains 100,000 small syncs
 * a day (70 a minute) and Temporal adds at most 200 ms per job.
 *
 *   npm run bench -- fleet                  # 100 syncs per way
 *   npm run bench -- fleet --records 1000
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { projectTargetLoader } from "../../src/cli/jobs-project.js";
import { silentLogger } from "../../src/index.js";
import { webhookAlerter } from "../../src/orchestration/alerts.js";
import { FakeClock } from "../../src/orchestration/clock.js";
import { pipelineRunner } from "../../src/orchestration/job-runner.js";
import { JobStore } from "../../src/orchestration/job-store.js";
import { parseJobsConfig } from "../../src/orchestration/jobs-config.js";
import { Scheduler } from "../../src/orchestration/scheduler.js";
import { runInputOf } from "../../src/orchestration/temporal/schedules-sync.js";
import { FakeApi } from "../../src/testing/index.js";
import type { Scenario } from "./scenario.js";

const PIPELINES = 20;
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const TEMPORAL = process.env.FERRY_TEST_TEMPORAL_ADDRESS ?? "127.0.0.1:57233";
const NAMESPACE = process.env.FERRY_TEST_TEMPORAL_NAMESPACE ?? "ferry-test";
const ITEMS = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, tags: ["a"] }));

const perHour = (n: number, ms: number) => Math.round((n / ms) * 3_600_000);

function reachable(address: string): Promise<boolean> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const s = connect({ host: host ?? "127.0.0.1", port: Number(port) });
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function project(dir: string, api: string, every: string): string {
  writeFileSync(
    join(dir, "items.yaml"),
    `pipeline: { name: x, destination: duckdb, dataset: api }
source:
  type: rest_api
  client: { base_url: "${api}", max_attempts: 1 }
  resources:
    - { name: items, endpoint: { path: items, paginator: single_page }, primary_key: id, write_disposition: append }
`,
  );
  const lines = Array.from(
    { length: PIPELINES },
    (_, i) =>
      `  - { name: p${i}, spec: ./items.yaml, destination: "duckdb:${join(dir, `p${i}.duckdb`)}", schedule: { every: ${every} } }`,
  );
  const file = join(dir, "ferry.yaml");
  writeFileSync(file, `pipelines:\n${lines.join("\n")}\n`);
  return file;
}

/** The embedded scheduler: rounds of PIPELINES runs, the fake clock moved to the next slot after each round. */
async function embedded(dir: string, api: string, n: number, concurrency: number): Promise<number> {
  const sub = join(dir, `embedded-${concurrency}`);
  mkdirSync(sub, { recursive: true });
  const config = parseJobsConfig(parseYaml(readFileSync(project(sub, api, "1h"), "utf8")), sub);
  const store = new JobStore(join(sub, ".ferry"));
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const scheduler = new Scheduler({
    jobs: config.pipelines,
    store,
    runner: pipelineRunner(projectTargetLoader({ dir: join(sub, ".ferry"), dirGiven: true })),
    alerts: webhookAlerter({ logger: silentLogger }),
    logger: silentLogger,
    concurrency,
    keepRuns: 100,
    clock,
  });
  const rounds = Math.ceil(n / PIPELINES);
  const started = performance.now();
  let done = 0;
  const completedAll = async (target: number) => {
    for (;;) {
      const c = scheduler.counts.completed + scheduler.counts.failed;
      // Wait for the runs to be let go too: a slot that comes while one is still held would be skipped.
      if (c >= target && scheduler.running === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await scheduler.start(); // round 1: a new schedule runs at once
  for (let r = 1; r <= rounds; r++) {
    done = r * PIPELINES;
    await completedAll(done);
    if (r < rounds) clock.advance(3_600_000);
  }
  const ms = performance.now() - started;
  await scheduler.stop();
  if (scheduler.counts.failed > 0) throw new Error(`${scheduler.counts.failed} embedded run(s) failed`);
  return ms / done;
}

/** Temporal: `n` runs on one `ferry worker` process, `inFlight` at a time; ms per sync. */
async function temporal(dir: string, api: string, n: number, inFlight: number[]): Promise<number[]> {
  const sub = join(dir, "temporal");
  mkdirSync(sub, { recursive: true });
  project(sub, api, "24h");
  const queue = `ferry-bench-${Date.now()}`;
  const worker = spawn(
    process.execPath,
    [
      CLI,
      "worker",
      "--temporal",
      TEMPORAL,
      "--namespace",
      NAMESPACE,
      "--task-queue",
      queue,
      "--max-activities",
      "4",
    ],
    { cwd: sub, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, FERRY_LOG_LEVEL: "info" } },
  );
  let stderr = "";
  const ready = new Promise<void>((resolve, reject) => {
    worker.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes("worker ready")) resolve();
    });
    worker.once("exit", () => reject(new Error(`ferry worker exited:\n${stderr}`)));
  });
  await ready;
  const { Client, Connection } = await import("@temporalio/client");
  const client = new Client({
    connection: await Connection.connect({ address: TEMPORAL }),
    namespace: NAMESPACE,
  });
  const config = parseJobsConfig(parseYaml(readFileSync(join(sub, "ferry.yaml"), "utf8")), sub);
  const out: number[] = [];
  try {
    let seq = 0;
    const one = async () => {
      const i = seq++;
      const job = config.pipelines[i % PIPELINES];
      if (!job) throw new Error("no job");
      await client.workflow.execute("ferryPipelineRun", {
        taskQueue: queue,
        workflowId: `bench-${queue}-${i}`,
        args: [runInputOf(job, 30_000)],
      });
    };
    // Warm up: the worker's first workflow task loads the bundle.
    await one();
    for (const k of inFlight) {
      const started = performance.now();
      let left = n;
      const lane = async () => {
        while (left > 0) {
          left--;
          await one();
        }
      };
      await Promise.all(Array.from({ length: k }, lane));
      out.push((performance.now() - started) / n);
    }
  } finally {
    await client.connection.close();
    worker.kill("SIGTERM");
    await new Promise((r) => worker.once("exit", r));
  }
  return out;
}

export const fleet: Scenario = {
  name: "fleet",
  defaultRecords: 100,
  async run({ records, dir }) {
    const api = await FakeApi.start([{ path: "/items", handler: () => ({ json: ITEMS }) }]);
    try {
      // Floor: the same syncs back to back.
      const floorDir = join(dir, "floor");
      mkdirSync(floorDir, { recursive: true });
      const config = parseJobsConfig(
        parseYaml(readFileSync(project(floorDir, api.url, "1h"), "utf8")),
        floorDir,
      );
      const load = projectTargetLoader({ dir: join(floorDir, ".ferry"), dirGiven: true });
      // Warm-up (untimed, in a dir of its own): the JIT and the drivers' first loads would count against the floor.
      const warmDir = join(dir, "warm");
      mkdirSync(warmDir, { recursive: true });
      const warm = parseJobsConfig(parseYaml(readFileSync(project(warmDir, api.url, "1h"), "utf8")), warmDir);
      const warmLoad = projectTargetLoader({ dir: join(warmDir, ".ferry"), dirGiven: true });
      for (const job of warm.pipelines) {
        const target = await warmLoad(job, { logger: silentLogger });
        await target.pipeline.run(target.data);
      }
      const t0 = performance.now();
      for (let i = 0; i < records; i++) {
        const job = config.pipelines[i % PIPELINES];
        if (!job) throw new Error("no job");
        const target = await load(job, { logger: silentLogger });
        await target.pipeline.run(target.data);
      }
      const floorMs = (performance.now() - t0) / records;
      const emb1 = await embedded(dir, api.url, records, 1);
      const emb4 = await embedded(dir, api.url, records, 4);
      const extra: Record<string, number | string> = {
        pipelines: PIPELINES,
        floorMsPerSync: Math.round(floorMs),
        floorSyncsPerHour: perHour(1, floorMs),
        embeddedMsPerSync: Math.round(emb1),
        embeddedOverheadMsPerJob: Math.round(emb1 - floorMs),
        embeddedConcurrency4SyncsPerHour: perHour(1, emb4),
        embeddedConcurrency4SyncsPerDay: perHour(1, emb4) * 24,
      };
      if (await reachable(TEMPORAL)) {
        const [seq = 0, par = 0] = await temporal(dir, api.url, records, [1, 8]);
        extra.temporalMsPerSync = Math.round(seq);
        extra.temporalOverheadMsPerJob = Math.round(seq - floorMs);
        extra.temporal8InFlightSyncsPerHour = perHour(1, par);
        extra.temporal8InFlightSyncsPerDay = perHour(1, par) * 24;
      } else {
        extra.temporal = `skipped: nothing answers at ${TEMPORAL} (scripts/services.sh up temporal)`;
      }
      extra.target = "100,000 syncs/day on one 2-core worker (70/min); Temporal overhead <= 200 ms/job";
      return { records, rows: records * ITEMS.length * 2, extra };
    } finally {
      await api.close();
    }
  },
};
