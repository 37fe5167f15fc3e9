import type { Context as ActivityContext } from "@temporalio/activity";
import type { ApplicationFailure as ApplicationFailureClass, Client } from "@temporalio/client";
import type { ProgressEvent } from "../../pipeline/load-info.js";
import type { Pipeline } from "../../pipeline/pipeline.js";
import type { RunData } from "../../pipeline/run-data.js";
import { ConfigError, errorMessage, isFerryError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { Semaphore } from "../../util/semaphore.js";
import type { Alerter } from "../alerts.js";
import type { TargetLoader } from "../job-runner.js";
import { classifyError } from "../job-runner.js";
import type { PipelineJob } from "../jobs-config.js";
import type { WorkingStore } from "../working-store.js";
import {
  type ExtractOutput,
  type LoadOutput,
  type RunFailure,
  type StepInput,
  TERMINAL_ERROR,
  TRANSIENT_ERROR,
} from "./run-types.js";

/** What the activities need from the worker process. */
export interface ActivityDeps {
  /** The worker's project file's pipelines, by name. */
  jobs: ReadonlyMap<string, PipelineJob>;
  load: TargetLoader;
  working: WorkingStore;
  alerts: Alerter;
  logger: Logger;
  /** The SDK's activity context and failure class (imported when the worker starts: the SDK is optional). */
  context: () => ActivityContext;
  ApplicationFailure: typeof ApplicationFailureClass;
  /** A client of the worker's cluster (pauses schedules). */
  client: () => Client;
  /**
   * The steps this worker runs at once. The SDK is given many more activity slots than this: with free slots the
   * server hands a run's next step straight to the worker that finished the one before (eager dispatch) instead of
   * waiting for a poll, which is most of Temporal's cost per run; the steps themselves wait here for a place.
   */
  slots: Semaphore;
}

/** The activities of `ferryPipelineRun`, by name. */
export type FerryActivities = ReturnType<typeof createActivities>;

/**
 * The steps of a run as Temporal activities. Each one pulls the pipeline's working dir (when workers do not share a
 * disk), runs one step of the pipeline while heartbeating its progress, and pushes the working dir. A retried step
 * starts again from the last pushed copy: a half-extracted package is discarded, a package being normalized is
 * normalized again, a load that did not commit is loaded again (and one that did is only finished locally).
 */
export function createActivities(deps: ActivityDeps) {
  const step = async <T>(
    input: StepInput,
    name: string,
    fn: (p: Pipeline, data: RunData, signal: AbortSignal) => Promise<T>,
  ): Promise<T> => {
    const ctx = deps.context();
    const job = deps.jobs.get(input.pipeline);
    if (!job) {
      throw deps.ApplicationFailure.create({
        type: TERMINAL_ERROR,
        nonRetryable: true,
        message: `pipeline "${input.pipeline}" is not in this worker's project file`,
        details: [
          {
            code: "config",
            hint: "start ferry worker with the project file that lists it (--config), then ferry jobs resume",
          },
        ],
      });
    }
    const beat = heartbeater(ctx, name, input);
    const release = await deps.slots.acquire();
    try {
      const target = await deps.load(job, { logger: deps.logger, onProgress: beat.progress });
      await deps.working.pull(job.name, target.pipeline.dir);
      const out = await fn(target.pipeline, target.data, ctx.cancellationSignal);
      await deps.working.push(job.name, target.pipeline.dir);
      return out;
    } catch (err) {
      throw toFailure(deps, err);
    } finally {
      release();
      beat.stop();
    }
  };
  return {
    ferryExtract(input: StepInput): Promise<ExtractOutput> {
      return step(input, "extract", (p, data, signal) => p.extract(data, { signal, loadId: input.loadId }));
    },
    ferryNormalize(input: StepInput): Promise<{ tables: number }> {
      return step(input, "normalize", async (p) => {
        const info = await p.normalize();
        return { tables: info.schemaChanges.filter((c) => c.kind === "new_table").length };
      });
    },
    ferryLoad(input: StepInput): Promise<LoadOutput> {
      return step(input, "load", async (p) => {
        const info = await p.load();
        return { loadIds: info.loadIds, rows: info.rows };
      });
    },
    async ferryRunFailed(f: RunFailure): Promise<void> {
      deps.alerts.notify({
        kind: f.terminal ? "schedule_paused" : "job_failed",
        pipeline: f.pipeline,
        run: f.run,
        status: f.terminal ? "paused" : "failed",
        error: {
          message: f.message,
          transient: !f.terminal,
          ...(f.code ? { code: f.code } : {}),
          ...(f.hint ? { hint: f.hint } : {}),
        },
        attempts: f.attempts,
        ...(f.terminal
          ? {
              hint: `${f.hint ? `${f.hint}; ` : ""}fix the cause, then: ferry jobs resume ${f.pipeline} --temporal <host:port>`,
            }
          : {
              hint: `${f.hint ? `${f.hint}; ` : ""}details: ferry jobs show ${f.run} --temporal <host:port>`,
            }),
      });
      if (!f.terminal) return;
      try {
        await deps
          .client()
          .schedule.getHandle(f.scheduleId)
          .pause(`ferry: paused by run ${f.run}: ${f.message}`);
      } catch (err) {
        // A run started by hand for a pipeline without a schedule: nothing to pause.
        if (!/not found/i.test(errorMessage(err))) throw err;
      }
      await deps.alerts.flush(20_000);
    },
  };
}

/** Heartbeats with the step's latest progress on each progress event and at least every few seconds. */
function heartbeater(ctx: ActivityContext, step: string, input: StepInput) {
  let last: Record<string, unknown> = { step, pipeline: input.pipeline, loadId: input.loadId };
  const counts: Record<string, number> = {};
  const beat = () => ctx.heartbeat(last);
  beat();
  const timer = setInterval(beat, 2_000);
  timer.unref();
  return {
    progress: (e: ProgressEvent) => {
      if ("resource" in e) counts[e.resource] = e.items;
      else if ("table" in e && e.stage === "normalize") counts[e.table] = e.items;
      last = { step, pipeline: input.pipeline, loadId: input.loadId, stage: e.stage, counts };
      beat();
    },
    stop: () => clearInterval(timer),
  };
}

function toFailure(deps: ActivityDeps, err: unknown): Error {
  if (err instanceof deps.ApplicationFailure) return err;
  const cls = classifyError(err);
  const details = [
    {
      ...(isFerryError(err) ? { code: err.code } : {}),
      ...(isFerryError(err) && err.hint ? { hint: err.hint } : {}),
    },
  ];
  if (cls === "terminal")
    return deps.ApplicationFailure.create({
      type: TERMINAL_ERROR,
      nonRetryable: true,
      message: errorMessage(err),
      details,
      cause: err instanceof Error ? err : undefined,
    });
  return deps.ApplicationFailure.create({
    type: TRANSIENT_ERROR,
    message: errorMessage(err),
    details,
    ...(err instanceof Error ? { cause: err } : {}),
  });
}

/** Turns a missing pipeline map entry into a clear error for `ferry worker` at start. */
export function jobsByName(pipelines: readonly PipelineJob[]): ReadonlyMap<string, PipelineJob> {
  if (pipelines.length === 0)
    throw new ConfigError("ferry worker has no pipelines: the project file lists none", {
      hint: "list them under pipelines: in ferry.yaml (or pass --config <file>)",
    });
  return new Map(pipelines.map((p) => [p.name, p]));
}
