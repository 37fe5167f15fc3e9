// Helpers of the schedule tests: a project folder with REST specs and a ferry.yaml, a real local webhook receiver, a
// scheduler over real pipelines with a fake clock, and reading DuckDB results.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { projectTargetLoader } from "../../src/cli/jobs-project.js";
import { pipeline, silentLogger } from "../../src/index.js";
import { type Alert, webhookAlerter } from "../../src/orchestration/alerts.js";
import { FakeClock } from "../../src/orchestration/clock.js";
import type { JobRecord } from "../../src/orchestration/job-record.js";
import { pipelineRunner } from "../../src/orchestration/job-runner.js";
import { JobStore } from "../../src/orchestration/job-store.js";
import { type JobsConfig, parseJobsConfig } from "../../src/orchestration/jobs-config.js";
import { Scheduler } from "../../src/orchestration/scheduler.js";
import { FakeApi, type FakeRequest } from "../../src/testing/index.js";
import type { Logger } from "../../src/util/log.js";
import { memoryLogger } from "./memory-logger.js";

/** A spec of a REST API resource `items` (append, primary key id) from `base` into `duckdb:<db>`. */
export function restSpec(name: string, base: string, path = "items", db = `${name}.duckdb`): string {
  return `pipeline: { name: ${name}, destination: "duckdb:${db}", dataset: api }
source:
  type: rest_api
  client: { base_url: "${base}", max_attempts: 1 }
  resources:
    - name: items
      endpoint: { path: ${path}, paginator: single_page }
      primary_key: id
      write_disposition: append
`;
}

/** A temp project folder: spec files and ferry.yaml written, the config parsed, removed by `cleanup`. */
export interface TempProject {
  dir: string;
  /** The pipelines dir (`<dir>/.ferry`): working dirs and `_jobs`. */
  pipelinesDir: string;
  config: JobsConfig;
  store: JobStore;
  cleanup(): void;
}

export function tempProject(files: Record<string, string>, ferryYaml: string): TempProject {
  const dir = mkdtempSync(join(tmpdir(), "ferry-sched-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "ferry.yaml"), ferryYaml);
  const pipelinesDir = join(dir, ".ferry");
  // Spec destinations name DuckDB files relative to the working directory: make them absolute here.
  const config = parseJobsConfig(parseYaml(ferryYaml.replaceAll("duckdb:", `duckdb:${dir}/`)), dir);
  return {
    dir,
    pipelinesDir,
    config,
    store: new JobStore(pipelinesDir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A real HTTP receiver of alert webhooks (a FakeApi route for POST /hook). */
export async function webhookReceiver(
  status = 200,
): Promise<{ url: string; alerts: () => Alert[]; close(): Promise<void> }> {
  const api = await FakeApi.start([
    { method: "POST", path: "/hook", handler: () => ({ status, json: { ok: true } }) },
  ]);
  return {
    url: `${api.url}/hook`,
    alerts: () => api.requestsTo("/hook").map((r: FakeRequest) => r.json() as Alert),
    close: () => api.close(),
  };
}

/**
 * True once the scheduler's loop sleeps again until a time still to come: it has looked at the clock's time (a slot
 * due then fired or was passed over) and can do nothing more until the clock moves.
 */
export function asleep(clock: FakeClock): boolean {
  const [next] = clock.sleepers;
  return clock.sleepers.length === 1 && next !== undefined && next > clock.now();
}

/** A scheduler over the project's real pipelines, on a fake clock starting at `start`. */
export function fakeClockScheduler(
  project: TempProject,
  start: number,
  options: { webhook?: string; concurrency?: number; logger?: Logger } = {},
): { scheduler: Scheduler; clock: FakeClock; logger: ReturnType<typeof recordingLogger> } {
  const clock = new FakeClock(start);
  const logger = recordingLogger();
  const log = options.logger ?? logger;
  const scheduler = new Scheduler({
    jobs: project.config.pipelines,
    store: project.store,
    runner: pipelineRunner(projectTargetLoader({ dir: project.pipelinesDir, dirGiven: true })),
    alerts: webhookAlerter({
      ...(options.webhook ? { webhook: options.webhook } : {}),
      logger: log,
      backoffMs: 50,
    }),
    logger: log,
    concurrency: options.concurrency ?? project.config.concurrency,
    keepRuns: 1000,
    clock,
    controlsPollMs: 50,
  });
  return { scheduler, clock, logger };
}

/** Every record of a pipeline, oldest first. */
export async function records(store: JobStore, name: string): Promise<JobRecord[]> {
  return (await store.list({ pipeline: name, limit: 10_000 })).reverse();
}

/** Rows and distinct ids of `api.items` in a DuckDB file. */
export async function itemStats(db: string): Promise<{ n: number; distinct: number }> {
  const p = pipeline({
    name: "reader",
    destination: `duckdb:${db}`,
    dataset: "api",
    dir: join(tmpdir(), "ferry-reader-unused"),
    logger: silentLogger,
  });
  const [r] = await p.dataset().sql('select count(*) as n, count(distinct "id") as d from items');
  return { n: Number(r?.n), distinct: Number(r?.d) };
}

/**
 * The loads of `api.items` in a DuckDB file: rows and distinct ids per load id, and the load ids `_ferry_loads`
 * recorded. Every package exactly once: each load has `perLoad` rows, all distinct, and they are the recorded loads.
 */
export async function loadsOf(db: string): Promise<{ loads: { n: number; d: number }[]; recorded: number }> {
  const p = pipeline({
    name: "reader",
    destination: `duckdb:${db}`,
    dataset: "api",
    dir: join(tmpdir(), "ferry-reader-unused"),
    logger: silentLogger,
  });
  const rows = await p
    .dataset()
    .sql(
      'select _ferry_load_id as l, count(*) as n, count(distinct "id") as d from items group by 1 order by 1',
    );
  const [r] = await p.dataset().sql("select count(distinct load_id) as n from _ferry_loads");
  return { loads: rows.map((x) => ({ n: Number(x.n), d: Number(x.d) })), recorded: Number(r?.n) };
}

/** A logger that keeps every line (the scheduler's warnings and alerts are asserted on). */
export const recordingLogger = memoryLogger;
