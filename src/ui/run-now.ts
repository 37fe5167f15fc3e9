import { type Alerter, webhookAlerter } from "../orchestration/alerts.js";
import { systemClock } from "../orchestration/clock.js";
import { executeJob } from "../orchestration/job-execution.js";
import type { JobRunner } from "../orchestration/job-runner.js";
import type { JobStore } from "../orchestration/job-store.js";
import { findJob, type JobsConfig } from "../orchestration/jobs-config.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";

/**
 * The "run now" button: starts a pipeline of the project file as `ferry jobs run` does (recorded in the job history,
 * with its retries) and answers as soon as the run's record exists; the page follows the run through the history.
 */
export class RunNow {
  readonly #running = new Set<Promise<unknown>>();
  readonly #o: { jobs: JobsConfig; store: JobStore; runner: JobRunner; logger: Logger };
  readonly #stop = new AbortController();
  readonly #alerts: Alerter;

  constructor(o: { jobs: JobsConfig; store: JobStore; runner: JobRunner; logger: Logger }) {
    this.#o = o;
    this.#alerts = webhookAlerter({
      ...(o.jobs.alerts.webhook ? { webhook: o.jobs.alerts.webhook } : {}),
      logger: o.logger,
    });
  }

  /** Starts a run; resolves with its id once its record is written. */
  start(pipeline: string): Promise<string> {
    const job = findJob(this.#o.jobs, pipeline);
    return new Promise<string>((resolve, reject) => {
      let started = false;
      const run = executeJob({
        job,
        trigger: "manual",
        reason: "run from the dashboard",
        store: this.#o.store,
        runner: this.#o.runner,
        alerts: this.#alerts,
        clock: systemClock,
        logger: this.#o.logger,
        shutdown: this.#stop.signal,
        onStart: (record) => {
          started = true;
          resolve(record.id);
        },
      })
        .then(() => this.#o.store.prune(pipeline, this.#o.jobs.keepRuns))
        .catch((err) => {
          this.#o.logger.error(
            `${pipeline}: the run started from the dashboard failed: ${errorMessage(err)}`,
          );
          if (!started) reject(err);
        })
        .finally(() => this.#running.delete(run));
      this.#running.add(run);
    });
  }

  /** Stops runs under way (they end at their next page, recorded as interrupted) and waits for them. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#running]);
    await this.#alerts.flush();
  }
}
