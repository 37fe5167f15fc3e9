import type { ProgressEvent } from "../pipeline/load-info.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { RunData } from "../pipeline/run-data.js";
import { errorMessage, isFerryError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { JobError, JobRecord } from "./job-record.js";
import type { PipelineJob } from "./jobs-config.js";

/** What a finished run reports to the job history. */
export interface JobOutcome {
  rows: Record<string, number>;
  loadIds: string[];
  pendingCompleted: string[];
  stagesMs?: JobRecord["stagesMs"];
  schemaChanges?: JobRecord["schemaChanges"];
}

export interface JobRunContext {
  /** Aborted when the run times out or the scheduler stops. */
  signal: AbortSignal;
  runId: string;
  attempt: number;
  logger: Logger;
}

/**
 * Runs one attempt of a pipeline job. The scheduler decides when, and what to do with its errors; the runner only
 * runs. The CLI gives a runner that builds pipelines from the project file's specs and modules.
 */
export interface JobRunner {
  run(job: PipelineJob, ctx: JobRunContext): Promise<JobOutcome>;
}

/** A pipeline and the data it runs, built from a job's spec or module. */
export interface JobTarget {
  pipeline: Pipeline;
  data: RunData;
}

/** Builds a job's pipeline (the CLI reads specs and imports modules; orchestration does not know how). */
export type TargetLoader = (
  job: PipelineJob,
  options: { logger: Logger; onProgress?: (e: ProgressEvent) => void },
) => Promise<JobTarget>;

/**
 * The runner of real pipelines: builds the job's pipeline and runs it (pending packages of an interrupted run are
 * completed first, as `run()` always does).
 *
 * @example
 * const runner = pipelineRunner(loadTargetFromProject);
 * await runner.run(job, { signal, runId, attempt: 1, logger });
 */
export function pipelineRunner(load: TargetLoader): JobRunner {
  return {
    async run(job, ctx) {
      const target = await load(job, { logger: ctx.logger });
      const info = await target.pipeline.run(target.data, { signal: ctx.signal });
      return {
        rows: info.rows,
        loadIds: info.loadIds,
        pendingCompleted: info.pendingCompleted,
        stagesMs: info.durationsMs,
        schemaChanges: info.schemaChanges,
      };
    },
  };
}

/** How the scheduler treats an error. */
export type ErrorClass = "transient" | "terminal" | "busy";

/**
 * - `busy`: the pipeline is being run by another process (its lock is held): the run is skipped, as an overlap;
 * - `terminal`: ferry's own error that says retrying cannot help (bad configuration, 401/403, a schema contract):
 *   the schedule is paused until someone fixes the cause;
 * - `transient`: anything else (ferry's transient errors, and errors ferry does not know, such as a bug in a
 *   resource's code or a killed worker): retried with backoff, then the job fails and the schedule goes on.
 */
export function classifyError(err: unknown): ErrorClass {
  if (isFerryError(err, "pipeline_busy")) return "busy";
  if (!isFerryError(err)) return "transient";
  if (err.transient) return "transient";
  // A resource's own code failing with an error ferry does not know (a network error of a user's fetch): unknown.
  if (err.code === "extract" && err.cause !== undefined && !isFerryError(err.cause)) return "transient";
  return "terminal";
}

/** An error as the job history and alerts keep it. */
export function jobError(err: unknown): JobError {
  const cls = classifyError(err);
  return {
    message: errorMessage(err),
    ...(isFerryError(err) ? { code: err.code } : {}),
    transient: cls !== "terminal",
    ...(isFerryError(err) && err.hint ? { hint: err.hint } : {}),
  };
}
