// The workflow of a pipeline run. Workflow code is replayed deterministically in Temporal's sandbox: it imports only
// @temporalio/workflow and ./run-types.js (no drivers, no fs); the steps run as activities (activities.ts).
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  TimeoutFailure,
  uuid4,
  workflowInfo,
} from "@temporalio/workflow";
import type { FerryActivities } from "./activities.js";
import { type RunFailure, type RunInput, type RunResult, TERMINAL_ERROR } from "./run-types.js";

/** Steps re-run after their worker was lost (heartbeat timeouts), beyond the attempts the user's retries allow. */
const WORKER_LOSSES = 5;

/**
 * One run of a pipeline: extract, normalize and load as three activities, each retried with the pipeline's backoff
 * while its error is transient and re-run when its worker dies (load packages resume, so no row is lost or loaded
 * twice). A failure is reported (alert; a terminal one pauses the schedule) and fails the run.
 */
export async function ferryPipelineRun(input: RunInput): Promise<RunResult> {
  const info = workflowInfo();
  const started = Date.now();
  const steps = proxyActivities<FerryActivities>({
    startToCloseTimeout: input.timeoutMs,
    heartbeatTimeout: input.heartbeatTimeoutMs,
    retry: {
      maximumAttempts: input.attempts,
      initialInterval: Math.max(1, input.backoffMs),
      backoffCoefficient: 2,
      nonRetryableErrorTypes: [TERMINAL_ERROR],
    },
  });
  const books = proxyActivities<FerryActivities>({
    startToCloseTimeout: "1 minute",
    retry: { initialInterval: "1 second", maximumAttempts: 20 },
  });
  // Workflow time and randomness are replay-safe: the same load id on every replay and every retried extract.
  const step = {
    pipeline: input.pipeline,
    run: info.workflowId,
    loadId: `${started}.${uuid4().replace(/-/g, "").slice(0, 10)}`,
  };
  try {
    const extracted = await surviving(() => steps.ferryExtract(step));
    await surviving(() => steps.ferryNormalize(step));
    const loaded = await surviving(() => steps.ferryLoad(step));
    const finished = Date.now();
    return {
      pipeline: input.pipeline,
      run: info.workflowId,
      loadId: extracted.loadId,
      loadIds: loaded.loadIds,
      items: extracted.items,
      rows: loaded.rows,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
    };
  } catch (err) {
    const failure = failureOf(err, input, info.workflowId);
    await books.ferryRunFailed(failure);
    throw ApplicationFailure.create({
      message: failure.message,
      type: failure.type,
      nonRetryable: true,
      details: [failure],
    });
  }
}

async function surviving<T>(fn: () => Promise<T>): Promise<T> {
  for (let lost = 0; ; lost++) {
    try {
      return await fn();
    } catch (err) {
      const workerLost =
        err instanceof ActivityFailure &&
        err.cause instanceof TimeoutFailure &&
        err.cause.timeoutType === "HEARTBEAT";
      if (!workerLost || lost >= WORKER_LOSSES) throw err;
    }
  }
}

function failureOf(err: unknown, input: RunInput, run: string): RunFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const base = { pipeline: input.pipeline, run, scheduleId: input.scheduleId, attempts: input.attempts };
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { code?: string; hint?: string };
    return {
      ...base,
      message: cause.message,
      type: cause.type ?? "Error",
      terminal: cause.type === TERMINAL_ERROR,
      ...(cause.type === TERMINAL_ERROR ? { attempts: 1 } : {}),
      ...(details.code ? { code: details.code } : {}),
      ...(details.hint ? { hint: details.hint } : {}),
    };
  }
  if (cause instanceof TimeoutFailure)
    return { ...base, message: `a step timed out (${cause.timeoutType})`, type: "Timeout", terminal: false };
  return {
    ...base,
    message: err instanceof Error ? err.message : String(err),
    type: "Error",
    terminal: false,
  };
}
