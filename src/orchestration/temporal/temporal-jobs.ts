import type { Client } from "@temporalio/client";
import { errorMessage, FerryError } from "../../util/errors.js";
import type { JobStatus } from "../job-record.js";
import type { PipelineJob } from "../jobs-config.js";
import { type RunResult, scheduleIdOf, WORKFLOW_TYPE } from "./run-types.js";
import { runInputOf } from "./schedules-sync.js";

/** A pipeline's Temporal Schedule, as `ferry jobs list --temporal` shows it. */
export interface TemporalScheduleInfo {
  pipeline: string;
  scheduleId: string;
  paused: boolean;
  note?: string;
  nextRun?: string;
  /** Slots skipped because the previous run was still running. */
  skippedOverlaps: number;
  runs: number;
}

/** A run (workflow execution) as ferry's job history shows it. */
export interface TemporalRunInfo {
  id: string;
  runId: string;
  pipeline?: string;
  status: JobStatus;
  temporalStatus: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  rows?: Record<string, number>;
  loadIds?: string[];
  error?: string;
}

const STATUS: Record<string, JobStatus> = {
  RUNNING: "running",
  COMPLETED: "completed",
  FAILED: "failed",
  TIMED_OUT: "failed",
  TERMINATED: "failed",
  CANCELLED: "failed",
  CONTINUED_AS_NEW: "completed",
};

/** The schedules of the pipelines (those that exist), in the project file's order. */
export async function temporalSchedules(
  client: Client,
  jobs: readonly PipelineJob[],
): Promise<TemporalScheduleInfo[]> {
  const out: TemporalScheduleInfo[] = [];
  for (const job of jobs) {
    try {
      const d = await client.schedule.getHandle(scheduleIdOf(job.name)).describe();
      const next = d.info.nextActionTimes[0];
      out.push({
        pipeline: job.name,
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        ...(d.state.note ? { note: d.state.note } : {}),
        ...(next ? { nextRun: next.toISOString() } : {}),
        skippedOverlaps: d.info.numActionsSkippedOverlap,
        runs: d.info.numActionsTaken,
      });
    } catch (err) {
      if (!/not found/i.test(errorMessage(err))) throw err;
    }
  }
  return out;
}

/** The newest runs (of one pipeline, or all), newest first. */
export async function temporalRuns(
  client: Client,
  options: { pipeline?: string; limit: number; taskQueue: string },
): Promise<TemporalRunInfo[]> {
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND TaskQueue = '${options.taskQueue.replace(/'/g, "")}'`;
  const out: TemporalRunInfo[] = [];
  const prefix = options.pipeline ? `${scheduleIdOf(options.pipeline)}-` : undefined;
  for await (const w of client.workflow.list({ query })) {
    if (prefix && !w.workflowId.startsWith(prefix)) continue;
    out.push(runInfo(w));
    if (out.length >= options.limit) break;
  }
  return out;
}

function runInfo(w: {
  workflowId: string;
  runId: string;
  status: { name: string };
  startTime: Date;
  closeTime?: Date | undefined;
}): TemporalRunInfo {
  return {
    id: w.workflowId,
    runId: w.runId,
    pipeline: /^ferry-(.+?)(-manual)?-\d{4}-\d{2}-\d{2}T/.exec(w.workflowId)?.[1],
    status: STATUS[w.status.name] ?? "failed",
    temporalStatus: w.status.name,
    startedAt: w.startTime.toISOString(),
    ...(w.closeTime
      ? { finishedAt: w.closeTime.toISOString(), durationMs: w.closeTime.getTime() - w.startTime.getTime() }
      : {}),
  };
}

/** One run with its result (rows, load ids) or its error. */
export async function temporalRun(client: Client, id: string): Promise<TemporalRunInfo> {
  const handle = client.workflow.getHandle(id);
  let d: Awaited<ReturnType<typeof handle.describe>>;
  try {
    d = await handle.describe();
  } catch (err) {
    throw new FerryError(`no run "${id}" on Temporal: ${errorMessage(err)}`, {
      hint: "ferry jobs list --temporal HOST:PORT shows the run ids",
    });
  }
  const info = runInfo(d);
  if (d.status.name === "COMPLETED") {
    const r = (await handle.result()) as RunResult;
    return { ...info, pipeline: r.pipeline, rows: r.rows, loadIds: r.loadIds };
  }
  if (info.status === "failed") {
    const error = await handle.result().then(
      () => undefined,
      (err: unknown) => rootMessage(err),
    );
    return { ...info, ...(error ? { error } : {}) };
  }
  return info;
}

/** Runs a pipeline now as a workflow and waits for it. */
export async function temporalRunNow(
  client: Client,
  job: PipelineJob,
  o: { taskQueue: string; heartbeatTimeoutMs: number },
): Promise<{ id: string; result?: RunResult; error?: string }> {
  const id = `${scheduleIdOf(job.name)}-manual-${new Date().toISOString()}`;
  try {
    const result = (await client.workflow.execute(WORKFLOW_TYPE, {
      taskQueue: o.taskQueue,
      workflowId: id,
      args: [runInputOf(job, o.heartbeatTimeoutMs)],
    })) as RunResult;
    return { id, result };
  } catch (err) {
    return { id, error: rootMessage(err) };
  }
}

/** Pauses or resumes a pipeline's schedule. */
export async function setSchedulePaused(
  client: Client,
  pipeline: string,
  paused: boolean,
  note: string,
): Promise<void> {
  const handle = client.schedule.getHandle(scheduleIdOf(pipeline));
  try {
    if (paused) await handle.pause(note);
    else await handle.unpause(note);
  } catch (err) {
    if (/not found/i.test(errorMessage(err)))
      throw new FerryError(`pipeline ${pipeline} has no Temporal schedule`, {
        hint: "create it with ferry schedules sync --temporal HOST:PORT",
      });
    throw err;
  }
}

/** The innermost message of a workflow failure (the step's own error). */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  let msg = errorMessage(err);
  for (let i = 0; i < 6 && e instanceof Error; i++) {
    if (e.message) msg = e.message;
    e = e.cause;
  }
  return msg;
}
