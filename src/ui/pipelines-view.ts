import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { JobRecord } from "../orchestration/job-record.js";
import type { JobStore } from "../orchestration/job-store.js";
import type { JobsConfig, PipelineJob } from "../orchestration/jobs-config.js";
import { planSchedule } from "../orchestration/plan.js";
import { describeSchedule } from "../orchestration/schedule.js";
import { readPackageFailure } from "../package/package-failure.js";
import { attachPipeline } from "../pipeline/attach.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { Trace } from "../pipeline/trace.js";
import { exists } from "../util/fs.js";
import { redactSecrets } from "../util/log.js";

/** What the dashboard reads pipelines from: the working dir, the project file's pipelines and the job history. */
export interface PipelineSources {
  dir: string;
  jobs: JobsConfig | undefined;
  store: JobStore;
}

/** One row of the pipelines page. */
export interface PipelineRow {
  name: string;
  destination: string | undefined;
  dataset: string | undefined;
  schedule: string;
  paused?: string;
  nextRun?: string;
  runnable: boolean;
  lastRun?: {
    id?: string;
    status: string;
    startedAt: string;
    rows: number;
    durationMs?: number;
    error?: string;
  };
}

/** A run as the run page shows it: the job record, the stage timings and the failed jobs of its packages. */
export interface RunView {
  run: JobRecord;
  /** From the pipeline's trace when the run is its last one and the record has no timings of its own. */
  steps?: Trace["steps"];
  failedJobs: FailedPackage[];
}

export interface FailedPackage {
  loadId: string;
  dir: string;
  error?: string;
  jobs: { job: string; error: string }[];
}

const total = (rows: Record<string, number>) => Object.values(rows).reduce((a, b) => a + b, 0);

/** Names of the pipelines with a working dir (as `ferry pipeline list` finds them) or a job in the project file. */
export async function pipelineNames(src: PipelineSources): Promise<string[]> {
  const names = new Set<string>(src.jobs?.pipelines.map((p) => p.name) ?? []);
  for (const n of await readdir(src.dir).catch(() => [] as string[])) {
    if (n.startsWith("_")) continue;
    if ((await exists(join(src.dir, n, "state.json"))) || (await exists(join(src.dir, n, "packages"))))
      names.add(n);
  }
  return [...names].sort();
}

/**
 * Opens a pipeline's working dir; undefined when it has none yet (a job that never ran). The state keeps the
 * destination's URL without its password: a pipeline of the project file connects with the file's destination.
 */
export async function openPipeline(src: PipelineSources, name: string): Promise<Pipeline | undefined> {
  const job = src.jobs?.pipelines.find((j) => j.name === name);
  return attachPipeline(name, {
    dir: src.dir,
    ...(job?.destination ? { destination: job.destination } : {}),
    ...(job?.dataset ? { dataset: job.dataset } : {}),
  }).catch(() => undefined);
}

/** A destination URL safe to show: passwords and tokens masked. */
export const maskUrl = (url: string): string => redactSecrets(url);

/** The pipelines page's rows. */
export async function pipelineRows(src: PipelineSources): Promise<PipelineRow[]> {
  const pauses = await src.store.pauses();
  const out: PipelineRow[] = [];
  for (const name of await pipelineNames(src)) {
    const job = src.jobs?.pipelines.find((j) => j.name === name);
    const p = await openPipeline(src, name);
    const last = await src.store.latest(name);
    const trace = last ? undefined : await p?.readTrace();
    const paused = pauses.get(name);
    const destination = job?.destination ?? p?.state?.destination;
    out.push({
      name,
      destination: destination ? maskUrl(destination) : undefined,
      dataset: p?.datasetName ?? job?.dataset,
      schedule: job ? describeSchedule(job.schedule) : "not in the project file",
      ...(paused ? { paused: paused.reason } : {}),
      ...(job && !paused ? nextRun(job, await lastSlot(src.store, name)) : {}),
      runnable: job !== undefined,
      ...(last
        ? {
            lastRun: {
              id: last.id,
              status: last.status,
              startedAt: last.startedAt,
              rows: total(last.rows),
              ...(last.durationMs !== undefined ? { durationMs: last.durationMs } : {}),
              ...(last.error ? { error: last.error.message } : {}),
            },
          }
        : trace
          ? { lastRun: traceRun(trace) }
          : {}),
    });
  }
  return out;
}

async function lastSlot(store: JobStore, name: string): Promise<number | undefined> {
  const r = await store.latest(name, (x) => x.scheduledFor !== undefined, 200);
  return r?.scheduledFor ? Date.parse(r.scheduledFor) : undefined;
}

function nextRun(job: PipelineJob, last: number | undefined): { nextRun?: string } {
  if (!job.schedule) return {};
  const plan = planSchedule(job, last, Date.now());
  if (plan.catchUp) return { nextRun: "at the next start of ferry serve (a catch-up run)" };
  return plan.next ? { nextRun: new Date(plan.next.at).toISOString() } : {};
}

function traceRun(trace: Trace): NonNullable<PipelineRow["lastRun"]> {
  const started = Date.parse(trace.startedAt);
  const finished = trace.finishedAt ? Date.parse(trace.finishedAt) : undefined;
  return {
    status: trace.error ? "failed" : "completed",
    startedAt: trace.startedAt,
    rows: trace.loadInfo ? total(trace.loadInfo.rows) : 0,
    ...(finished !== undefined ? { durationMs: finished - started } : {}),
    ...(trace.error ? { error: trace.error.message } : {}),
  };
}

/**
 * A pipeline's runs, newest first: its job history, or (for a pipeline only ever run with `ferry run`) its last
 * run from the trace.
 */
export async function pipelineRuns(src: PipelineSources, name: string, limit = 200): Promise<JobRecord[]> {
  const runs = await src.store.list({ pipeline: name, limit });
  if (runs.length > 0) return runs;
  const trace = await (await openPipeline(src, name))?.readTrace();
  if (!trace) return [];
  const r = traceRun(trace);
  return [
    {
      id: `${name}-last`,
      pipeline: name,
      status: r.status as JobRecord["status"],
      trigger: "manual",
      startedAt: trace.startedAt,
      ...(trace.finishedAt ? { finishedAt: trace.finishedAt } : {}),
      ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      attempts: 1,
      rows: trace.loadInfo?.rows ?? {},
      loadIds: trace.loadInfo?.loadIds ?? [],
      ...(trace.loadInfo
        ? { stagesMs: trace.loadInfo.durationsMs, schemaChanges: trace.loadInfo.schemaChanges }
        : {}),
      ...(trace.error
        ? {
            error: {
              message: trace.error.message,
              transient: false,
              ...(trace.error.hint ? { hint: trace.error.hint } : {}),
            },
          }
        : {}),
      owner: { pid: 0, host: "" },
    },
  ];
}

/** One run with what its page shows; undefined when there is no such run. */
export async function runView(src: PipelineSources, name: string, id: string): Promise<RunView | undefined> {
  const run = (await src.store.get(id)) ?? (await pipelineRuns(src, name, 1)).find((r) => r.id === id);
  if (!run || run.pipeline !== name) return undefined;
  const p = await openPipeline(src, name);
  const trace = await p?.readTrace();
  // The trace keeps the pipeline's last run only: it belongs to this run when their load ids or start times meet.
  const sameRun =
    trace &&
    (trace.loadInfo?.loadIds.some((l) => run.loadIds.includes(l)) ||
      (Date.parse(trace.startedAt) >= Date.parse(run.startedAt) &&
        (!run.finishedAt || Date.parse(trace.startedAt) <= Date.parse(run.finishedAt))));
  return {
    run,
    ...(sameRun && trace ? { steps: trace.steps } : {}),
    failedJobs: p ? await failedPackages(p) : [],
  };
}

/** What `ferry pipeline <name> failed-jobs` shows: failed packages, their failed jobs and errors. */
export async function failedPackages(p: Pipeline): Promise<FailedPackage[]> {
  const { failed } = await p.packages();
  const out: FailedPackage[] = [];
  for (const pkg of failed) {
    const jobs: { job: string; error: string }[] = [];
    for (const job of await pkg.jobs("failed")) {
      const error = await readFile(join(pkg.jobDir("failed"), `${job}.exception`), "utf8").catch(
        () => "(no error recorded)",
      );
      jobs.push({ job, error: redactSecrets(error) });
    }
    const error = await readPackageFailure(pkg.dir);
    out.push({ loadId: pkg.loadId, dir: pkg.dir, ...(error ? { error: redactSecrets(error) } : {}), jobs });
  }
  return out;
}
