import type { JobTrigger } from "./job-record.js";
import type { PipelineJob } from "./jobs-config.js";
import { jitterFor, latestSlotBetween, nextSlot } from "./schedule.js";

export interface SchedulePlan {
  /** A run due now: the first run of a new schedule, or one catch-up run for slots missed while nothing ran. */
  catchUp?: { slot: number; trigger: JobTrigger; reason: string };
  /** The next slot and the time it fires (slot + jitter). */
  next?: { slot: number; at: number };
}

/** How far back a cron schedule is searched for a missed slot (a year). */
const LOOK_BACK_MS = 366 * 86_400_000;

/**
 * Where a pipeline's schedule stands at `now`, given the slot of its last scheduled run (undefined: it never ran).
 * Several missed slots make one catch-up run, not one each.
 *
 * @example
 * planSchedule(job, Date.parse("2026-01-01T00:00:00Z"), Date.parse("2026-01-01T13:00:00Z")) // every 6h:
 * // { catchUp: { slot: 12:00, trigger: "catch-up", ... }, next: { slot: 18:00, at: 18:00 } }
 */
export function planSchedule(job: PipelineJob, lastSlot: number | undefined, now: number): SchedulePlan {
  const spec = job.schedule;
  if (!spec) return {};
  const fires = (slot: number) => slot + jitterFor(job.name, slot, spec.jitterMs);
  const upcoming = (): SchedulePlan["next"] => {
    const slot = nextSlot(spec, now);
    return slot === undefined ? undefined : { slot, at: fires(slot) };
  };
  if (lastSlot === undefined) {
    // A new schedule runs at once (as a newly created Temporal schedule does with triggerImmediately).
    return {
      catchUp: { slot: now, trigger: "schedule", reason: "first run of a new schedule" },
      next: upcoming(),
    };
  }
  const latest = latestSlotBetween(spec, Math.max(lastSlot + 1, now - LOOK_BACK_MS), now);
  if (latest === undefined) return { next: upcoming() };
  if (fires(latest) <= now) {
    return {
      catchUp: {
        slot: latest,
        trigger: "catch-up",
        reason: "slots were missed while the scheduler was down",
      },
      next: upcoming(),
    };
  }
  // The latest slot still waits for its jitter; one before it may have been missed.
  const before = latestSlotBetween(spec, Math.max(lastSlot + 1, now - LOOK_BACK_MS), latest - 1);
  return {
    ...(before !== undefined
      ? {
          catchUp: {
            slot: before,
            trigger: "catch-up",
            reason: "slots were missed while the scheduler was down",
          },
        }
      : {}),
    next: { slot: latest, at: fires(latest) },
  };
}
