import { performance } from "node:perf_hooks";
import { errorMessage, FerryError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { Alerter } from "./alerts.js";
import type { Clock } from "./clock.js";
import { type JobRecord, type JobTrigger, newRunId, thisProcess } from "./job-record.js";
import { classifyError, type JobRunner, jobError } from "./job-runner.js";
import type { JobStore } from "./job-store.js";
import type { PipelineJob } from "./jobs-config.js";
import { formatDuration } from "./schedule.js";

/** The error code of a run stopped by a shutdown or killed with its process: the next start runs it again. */
export const INTERRUPTED = "interrupted";

export interface ExecuteOptions {
  job: PipelineJob;
  trigger: JobTrigger;
  scheduledFor?: number;
  reason?: string;
  store: JobStore;
  runner: JobRunner;
  alerts: Alerter;
  clock: Clock;
  logger: Logger;
  /** Aborted when the process stops: the attempt under way is stopped, no retry follows. */
  shutdown?: AbortSignal;
  /** Called once the record is written as running. */
  onStart?: (record: JobRecord) => void;
}

/**
 * Runs one job to its end: attempts with backoff while errors are transient, the record saved as running and again
 * when it ends, an alert when it fails, and its schedule paused when its error is terminal.
 *
 * @example
 * const record = await executeJob({ job, trigger: "manual", store, runner, alerts, clock: systemClock, logger });
 */
export async function executeJob(o: ExecuteOptions): Promise<JobRecord> {
  const { job, store, clock, logger } = o;
  const started = clock.now();
  const t0 = performance.now();
  const record: JobRecord = {
    id: newRunId(job.name, started),
    pipeline: job.name,
    status: "running",
    trigger: o.trigger,
    ...(o.scheduledFor !== undefined ? { scheduledFor: new Date(o.scheduledFor).toISOString() } : {}),
    startedAt: new Date(started).toISOString(),
    attempts: 0,
    rows: {},
    loadIds: [],
    ...(o.reason ? { reason: o.reason } : {}),
    owner: thisProcess(),
  };
  await store.save(record);
  o.onStart?.(record);
  logger.info(`${job.name}: run ${record.id} started (${o.trigger}${o.reason ? `: ${o.reason}` : ""})`);
  for (let attempt = 1; ; attempt++) {
    record.attempts = attempt;
    const err = await attemptOnce(o, record, attempt);
    if (err === undefined) {
      record.status = "completed";
      delete record.error;
      break;
    }
    const stopped = o.shutdown?.aborted === true;
    const cls = stopped ? "interrupted" : classifyError(err);
    record.error = jobError(err);
    if (cls === "interrupted") {
      record.status = "failed";
      record.error = {
        message: `stopped by a shutdown during attempt ${attempt}: ${errorMessage(err)}`,
        code: INTERRUPTED,
        transient: true,
        hint: "the next start of the scheduler runs it again",
      };
      break;
    }
    if (cls === "busy") {
      record.status = "skipped";
      record.reason = errorMessage(err);
      delete record.error;
      break;
    }
    if (cls === "terminal") {
      record.status = "paused";
      record.reason = `paused: ${record.error.message}`;
      await store.pause({
        pipeline: job.name,
        reason: record.error.message,
        at: new Date(clock.now()).toISOString(),
        run: record.id,
        by: "error",
      });
      o.alerts.notify({
        kind: "schedule_paused",
        pipeline: job.name,
        run: record.id,
        status: "paused",
        error: record.error,
        attempts: attempt,
      });
      break;
    }
    if (attempt >= job.retries.attempts) {
      record.status = "failed";
      o.alerts.notify({
        kind: "job_failed",
        pipeline: job.name,
        run: record.id,
        status: "failed",
        error: record.error,
        attempts: attempt,
      });
      break;
    }
    const delay = job.retries.backoffMs * 2 ** (attempt - 1);
    logger.warn(
      `${job.name}: run ${record.id} attempt ${attempt}/${job.retries.attempts} failed (${record.error.message}); retrying in ${formatDuration(delay)}`,
    );
    await store.save(record);
    await clock.sleep(delay, o.shutdown);
    if (o.shutdown?.aborted) {
      record.status = "failed";
      record.error = {
        ...record.error,
        code: INTERRUPTED,
        hint: "the next start of the scheduler runs it again",
      };
      break;
    }
  }
  const finished = clock.now();
  record.finishedAt = new Date(finished).toISOString();
  record.durationMs = Math.round(performance.now() - t0);
  await store.save(record);
  const rows = Object.values(record.rows).reduce((a, b) => a + b, 0);
  if (record.status === "completed")
    logger.info(
      `${job.name}: run ${record.id} completed in ${formatDuration(record.durationMs)}: ${rows} row(s)`,
    );
  else if (record.status === "skipped")
    logger.warn(`${job.name}: run ${record.id} skipped: ${record.reason}`);
  return record;
}

/** One attempt under the job's timeout; the error it ended with, or undefined when it succeeded. */
async function attemptOnce(o: ExecuteOptions, record: JobRecord, attempt: number): Promise<unknown> {
  const controller = new AbortController();
  const timer = new AbortController();
  const onShutdown = () =>
    controller.abort(
      new FerryError("the scheduler is stopping", { transient: true, fields: { pipeline: o.job.name } }),
    );
  o.shutdown?.addEventListener("abort", onShutdown, { once: true });
  if (o.shutdown?.aborted) onShutdown();
  void o.clock.sleep(o.job.timeoutMs, timer.signal).then(() => {
    if (timer.signal.aborted) return;
    controller.abort(
      new FerryError(`the run took longer than its timeout of ${formatDuration(o.job.timeoutMs)}`, {
        transient: true,
        fields: { pipeline: o.job.name },
        hint: `raise timeout: for pipeline ${o.job.name} in ferry.yaml, or make the run smaller`,
      }),
    );
  });
  try {
    const outcome = await o.runner.run(o.job, {
      signal: controller.signal,
      runId: record.id,
      attempt,
      logger: o.logger,
    });
    record.rows = outcome.rows;
    record.loadIds = outcome.loadIds;
    if (outcome.pendingCompleted.length > 0) record.pendingCompleted = outcome.pendingCompleted;
    if (outcome.stagesMs) record.stagesMs = outcome.stagesMs;
    if (outcome.schemaChanges?.length) record.schemaChanges = outcome.schemaChanges;
    return undefined;
  } catch (err) {
    return controller.signal.aborted && controller.signal.reason !== undefined
      ? controller.signal.reason
      : err;
  } finally {
    timer.abort();
    o.shutdown?.removeEventListener("abort", onShutdown);
  }
}
