import type { Logger } from "../util/log.js";
import type { Alerter } from "./alerts.js";
import { type Clock, systemClock } from "./clock.js";
import { executeJob, INTERRUPTED } from "./job-execution.js";
import { type JobRecord, type JobTrigger, newRunId, type PauseRecord, thisProcess } from "./job-record.js";
import type { JobRunner } from "./job-runner.js";
import { type JobStore, ownerGone } from "./job-store.js";
import type { PipelineJob } from "./jobs-config.js";
import { planSchedule } from "./plan.js";
import { jitterFor, nextSlot } from "./schedule.js";

export interface SchedulerOptions {
  jobs: readonly PipelineJob[];
  store: JobStore;
  runner: JobRunner;
  alerts: Alerter;
  logger: Logger;
  /** Runs at once across pipelines. */
  concurrency: number;
  /** Job records kept per pipeline. */
  keepRuns: number;
  clock?: Clock;
  /** How often pauses and resumes made by other processes (`ferry jobs pause`) are looked for (default 1 s). */
  controlsPollMs?: number;
}

interface Due {
  slot: number;
  trigger: JobTrigger;
  reason?: string;
}

/** A pipeline as the scheduler tracks it. */
interface Entry {
  readonly job: PipelineJob;
  /** The next slot and when it fires (slot + jitter). */
  next?: { slot: number; at: number };
  paused?: PauseRecord;
  /** The run under way. */
  active?: { id: string; since: number; done: Promise<void> };
  /** Waiting for a free place under the concurrency limit. */
  queued?: Due;
}

/**
 * The embedded scheduler of `ferry serve`: runs each scheduled pipeline at its slots, one run of a pipeline at a
 * time (a slot that comes while the previous run is still going is skipped and recorded as such), at most
 * `concurrency` runs at once across pipelines (the others wait in order), with retries and backoff for transient
 * errors; a terminal error pauses the pipeline's schedule (and says why). After downtime each pipeline that missed a
 * slot runs once (not once per missed slot), and so does one whose run was killed with its process.
 *
 * @example
 * const scheduler = new Scheduler({ jobs: config.pipelines, store, runner, alerts, logger, concurrency: 4, keepRuns: 200 });
 * await scheduler.start();
 * process.on("SIGTERM", () => scheduler.stop());
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #clock: Clock;
  readonly #entries: Entry[];
  readonly #waiting: Entry[] = [];
  readonly #shutdown = new AbortController();
  #running = 0;
  #wake = new AbortController();
  #loop: Promise<void> | undefined;
  #poll: NodeJS.Timeout | undefined;
  #pausesVersion = "";
  #release: (() => Promise<void>) | undefined;
  #stopped = false;
  /** Runs finished since the start, by status. */
  readonly counts: Record<JobRecord["status"], number> = {
    running: 0,
    completed: 0,
    failed: 0,
    skipped: 0,
    paused: 0,
  };

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#entries = options.jobs.filter((j) => j.schedule !== undefined).map((job) => ({ job }));
  }

  /** Scheduled pipelines. */
  get size(): number {
    return this.#entries.length;
  }

  /** Runs under way now. */
  get running(): number {
    return this.#running;
  }

  /** Runs waiting for a free place (`scheduler.concurrency`). */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Takes the schedules of the pipelines dir (refused while another process runs them), marks runs killed with
   * their process, plans every pipeline's next slot (a catch-up run now for those that missed one), and starts.
   */
  async start(): Promise<void> {
    this.#release = await this.#o.store.lockScheduler();
    try {
      const pauses = await this.#o.store.pauses();
      this.#pausesVersion = await this.#o.store.pausesVersion();
      const now = this.#clock.now();
      for (const e of this.#entries) {
        e.paused = pauses.get(e.job.name);
        const killed = await this.#recoverKilled(e.job);
        const last = await this.#o.store.latest(e.job.name, (r) => r.scheduledFor !== undefined, 200);
        const plan = planSchedule(e.job, last ? Date.parse(last.scheduledFor as string) : undefined, now);
        e.next = plan.next;
        const interrupted = killed || (last?.status === "failed" && last.error?.code === INTERRUPTED);
        if (e.paused) continue;
        if (plan.catchUp !== undefined) this.#fire(e, plan.catchUp);
        else if (interrupted)
          this.#fire(e, { slot: now, trigger: "catch-up", reason: "its last run was interrupted" });
      }
    } catch (err) {
      await this.#release();
      throw err;
    }
    this.#loop = this.#run();
    const every = this.#o.controlsPollMs ?? 1000;
    this.#poll = setInterval(() => void this.#refreshPauses(), every);
    this.#poll.unref();
  }

  /**
   * Stops: no new runs; runs under way are stopped at their next page (a load under way finishes) and recorded as
   * interrupted, so the next start runs them again. Resolves when they have ended.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#shutdown.abort();
    this.#wake.abort();
    await this.#loop;
    for (const e of this.#waiting) e.queued = undefined;
    this.#waiting.length = 0;
    await Promise.all(this.#entries.map((e) => e.active?.done));
    await this.#o.alerts.flush(10_000);
    await this.#release?.();
  }

  /** The next time each pipeline fires (for status displays and tests). */
  nextRuns(): Record<string, { slot: string; at: string } | undefined> {
    return Object.fromEntries(
      this.#entries.map((e) => [
        e.job.name,
        e.next
          ? { slot: new Date(e.next.slot).toISOString(), at: new Date(e.next.at).toISOString() }
          : undefined,
      ]),
    );
  }

  /** Looks for pauses and resumes made by other processes now (the poll does it every second). */
  async refreshPauses(): Promise<void> {
    await this.#refreshPauses(true);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const now = this.#clock.now();
      let soonest = Number.POSITIVE_INFINITY;
      for (const e of this.#entries) {
        if (e.next && e.next.at <= now) {
          const slot = e.next.slot;
          e.next = this.#after(e.job, now);
          if (e.paused)
            this.#o.logger.debug(`${e.job.name}: slot ${new Date(slot).toISOString()} passed while paused`);
          else this.#fire(e, { slot, trigger: "schedule" });
        }
        if (e.next) soonest = Math.min(soonest, e.next.at);
      }
      this.#wake = new AbortController();
      const wait = Number.isFinite(soonest) ? soonest - this.#clock.now() : 86_400_000;
      if (wait > 0) await this.#clock.sleep(wait, this.#wake.signal);
    }
  }

  /** The first slot after `t`, and when it fires. */
  #after(job: PipelineJob, t: number): { slot: number; at: number } | undefined {
    const spec = job.schedule;
    if (!spec) return undefined;
    const slot = nextSlot(spec, t);
    return slot === undefined ? undefined : { slot, at: slot + jitterFor(job.name, slot, spec.jitterMs) };
  }

  /** A slot came: run, wait for a place, or skip because the previous run is not done. */
  #fire(e: Entry, due: Due): void {
    if (e.active || e.queued) {
      void this.#skip(e, due);
      return;
    }
    if (this.#running < this.#o.concurrency) this.#begin(e, due);
    else {
      e.queued = due;
      this.#waiting.push(e);
    }
  }

  #begin(e: Entry, due: Due): void {
    this.#running++;
    const since = this.#clock.now();
    const done = executeJob({
      job: e.job,
      trigger: due.trigger,
      scheduledFor: due.slot,
      ...(due.reason ? { reason: due.reason } : {}),
      store: this.#o.store,
      runner: this.#o.runner,
      alerts: this.#o.alerts,
      clock: this.#clock,
      logger: this.#o.logger,
      shutdown: this.#shutdown.signal,
      onStart: (r) => {
        if (e.active) e.active.id = r.id;
      },
    })
      .then(async (record) => {
        this.counts[record.status]++;
        if (record.status === "paused") {
          e.paused = (await this.#o.store.paused(e.job.name)) ?? {
            pipeline: e.job.name,
            reason: record.error?.message ?? "terminal error",
            at: record.finishedAt ?? new Date().toISOString(),
            run: record.id,
            by: "error",
          };
        }
        await this.#o.store.prune(e.job.name, this.#o.keepRuns);
      })
      .catch((err: unknown) => {
        // The job store itself failed (disk full?): say so; the next slot tries again.
        this.#o.logger.error(`${e.job.name}: the job history could not be written: ${String(err)}`);
      })
      .finally(() => {
        e.active = undefined;
        this.#running--;
        this.#next();
      });
    e.active = { id: "", since, done };
  }

  /** A place is free: the longest waiting pipeline goes. */
  #next(): void {
    if (this.#stopped) return;
    while (this.#running < this.#o.concurrency && this.#waiting.length > 0) {
      const e = this.#waiting.shift() as Entry;
      const due = e.queued;
      e.queued = undefined;
      if (due && !e.paused) this.#begin(e, due);
    }
  }

  async #skip(e: Entry, due: Due): Promise<void> {
    const now = this.#clock.now();
    const reason = e.active
      ? `the previous run ${e.active.id} (started ${new Date(e.active.since).toISOString()}) is still running`
      : "the previous slot's run is still waiting for a free place (scheduler.concurrency)";
    const iso = new Date(now).toISOString();
    const record: JobRecord = {
      id: newRunId(e.job.name, now),
      pipeline: e.job.name,
      status: "skipped",
      trigger: due.trigger,
      scheduledFor: new Date(due.slot).toISOString(),
      startedAt: iso,
      finishedAt: iso,
      durationMs: 0,
      attempts: 0,
      rows: {},
      loadIds: [],
      reason,
      owner: thisProcess(),
    };
    this.counts.skipped++;
    this.#o.logger.warn(`${e.job.name}: slot ${record.scheduledFor} skipped: ${reason}`);
    await this.#o.store.save(record).catch((err: unknown) => {
      this.#o.logger.error(`${e.job.name}: the job history could not be written: ${String(err)}`);
    });
  }

  /** A run left as running by a process that is gone is recorded as killed; true when there was one. */
  async #recoverKilled(job: PipelineJob): Promise<boolean> {
    const last = await this.#o.store.latest(job.name, () => true, 1);
    if (last === undefined || last.status !== "running" || !ownerGone(last)) return false;
    const at = new Date(this.#clock.now()).toISOString();
    await this.#o.store.save({
      ...last,
      status: "failed",
      finishedAt: at,
      error: {
        message: `the run was killed: process ${last.owner.pid} ended while it ran`,
        code: INTERRUPTED,
        transient: true,
        hint: "its load packages are completed by the next run, which starts now",
      },
    });
    this.#o.logger.warn(
      `${job.name}: run ${last.id} was killed with process ${last.owner.pid}; running it again now (its load packages complete first)`,
    );
    return true;
  }

  async #refreshPauses(force = false): Promise<void> {
    if (this.#stopped) return;
    try {
      const version = await this.#o.store.pausesVersion();
      if (!force && version === this.#pausesVersion) return;
      this.#pausesVersion = version;
      const pauses = await this.#o.store.pauses();
      for (const e of this.#entries) {
        const p = pauses.get(e.job.name);
        if (p && !e.paused) this.#o.logger.warn(`${e.job.name}: schedule paused (${p.reason})`);
        if (!p && e.paused) this.#o.logger.info(`${e.job.name}: schedule resumed`);
        e.paused = p;
      }
    } catch (err) {
      this.#o.logger.warn(`could not read the schedules' pauses: ${String(err)}`);
    }
  }
}
