import type { Client, ScheduleOptionsAction, ScheduleSpec as TemporalSpec } from "@temporalio/client";
import { errorMessage } from "../../util/errors.js";
import { contentHash } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import type { JobsConfig, PipelineJob } from "../jobs-config.js";
import { type RunInput, scheduleIdOf, WORKFLOW_TYPE } from "./run-types.js";
import { temporalPackage } from "./sdk.js";

export interface SyncOptions {
  taskQueue: string;
  /** A step that stops heartbeating this long is retried on another worker (default 30 s). */
  heartbeatTimeoutMs: number;
  logger: Logger;
  /** Operations at once (PostHog uses 100 for thousands of schedules). */
  concurrency?: number;
}

export interface SyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

/** The memo that marks a schedule as ferry's, for one task queue (a project's workers). */
type FerryMemo = {
  ferry: { taskQueue: string; hash: string };
};

/** The input of a pipeline's runs. */
export function runInputOf(job: PipelineJob, heartbeatTimeoutMs: number): RunInput {
  return {
    pipeline: job.name,
    attempts: job.retries.attempts,
    backoffMs: job.retries.backoffMs,
    timeoutMs: job.timeoutMs,
    heartbeatTimeoutMs,
    scheduleId: scheduleIdOf(job.name),
  };
}

function specOf(job: PipelineJob): TemporalSpec {
  const s = job.schedule;
  if (!s) throw new Error(`pipeline ${job.name} has no schedule`);
  return {
    ...(s.everyMs !== undefined
      ? { intervals: [{ every: s.everyMs }] }
      : { cronExpressions: [s.cron as string], timezone: s.timezone }),
    ...(s.jitterMs > 0 ? { jitter: s.jitterMs } : {}),
  };
}

function actionOf(job: PipelineJob, o: SyncOptions): ScheduleOptionsAction {
  return {
    type: "startWorkflow",
    workflowType: WORKFLOW_TYPE,
    workflowId: scheduleIdOf(job.name),
    taskQueue: o.taskQueue,
    args: [runInputOf(job, o.heartbeatTimeoutMs)],
  };
}

/**
 * `ferry schedules sync`: makes the Temporal Schedules of the task queue match the project file: one per scheduled
 * pipeline (`ferry-<name>`; overlap policy SKIP, the pipeline's jitter; a new one runs at once), changed ones updated
 * (a pause stays), and ferry's schedules of this task queue that the file no longer lists deleted. Schedules not made
 * by ferry, or made for another task queue, are left alone.
 *
 * @example
 * const result = await syncSchedules(client, config, { taskQueue: "ferry", heartbeatTimeoutMs: 30_000, logger });
 */
export async function syncSchedules(client: Client, config: JobsConfig, o: SyncOptions): Promise<SyncResult> {
  const { ScheduleOverlapPolicy } =
    await temporalPackage<typeof import("@temporalio/client")>("@temporalio/client");
  const result: SyncResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const existing = new Map<string, FerryMemo["ferry"]>();
  for await (const s of client.schedule.list()) {
    const memo = (s.memo as Partial<FerryMemo> | undefined)?.ferry;
    if (memo && memo.taskQueue === o.taskQueue) existing.set(s.scheduleId, memo);
  }
  const wanted = config.pipelines.filter((p) => p.schedule !== undefined);
  const ops: (() => Promise<void>)[] = [];
  for (const job of wanted) {
    const id = scheduleIdOf(job.name);
    const spec = specOf(job);
    const action = actionOf(job, o);
    const hash = contentHash(JSON.stringify({ spec, action }));
    const memo: FerryMemo = { ferry: { taskQueue: o.taskQueue, hash } };
    const have = existing.get(id);
    existing.delete(id);
    if (have?.hash === hash) {
      result.unchanged.push(job.name);
      continue;
    }
    const handle = client.schedule.getHandle(id);
    // The schedule's memo is fixed at creation: the hash of what was synced last lives in the action's memo too.
    const update = () =>
      handle.update((prev) => ({
        ...prev,
        spec,
        action: { ...action, memo: { ferryHash: hash } },
        policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP },
      }));
    ops.push(async () => {
      if (have) {
        const described = await handle.describe();
        if ((described.action.memo as { ferryHash?: string } | undefined)?.ferryHash === hash) {
          result.unchanged.push(job.name);
          return;
        }
        await update();
        result.updated.push(job.name);
        return;
      }
      try {
        await client.schedule.create({
          scheduleId: id,
          spec,
          action: { ...action, memo: { ferryHash: hash } },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: "1 year" },
          state: { triggerImmediately: true },
          memo,
        });
        result.created.push(job.name);
      } catch (err) {
        // Listing is eventually consistent: a schedule created moments ago may be missing from it.
        if (!/already (exists|running|registered)/i.test(errorMessage(err))) throw err;
        await update();
        result.updated.push(job.name);
      }
    });
  }
  for (const id of existing.keys()) {
    ops.push(async () => {
      await client.schedule.getHandle(id).delete();
      result.deleted.push(id.replace(/^ferry-/, ""));
    });
  }
  await runAll(ops, o.concurrency ?? 20);
  return result;
}

async function runAll(ops: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < ops.length) {
      const op = ops[next++] as () => Promise<void>;
      await op().catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops.length) }, lane));
  if (errors.length > 0) throw errors[0];
}
