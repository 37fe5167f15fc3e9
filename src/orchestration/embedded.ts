import type { Logger } from "../util/log.js";
import { webhookAlerter } from "./alerts.js";
import type { Clock } from "./clock.js";
import { pipelineRunner, type TargetLoader } from "./job-runner.js";
import { JobStore } from "./job-store.js";
import type { JobsConfig } from "./jobs-config.js";
import { describeSchedule } from "./schedule.js";
import { Scheduler } from "./scheduler.js";

export interface EmbeddedSchedulesOptions {
  config: JobsConfig;
  /** The pipelines dir: the job history lives in `<dir>/_jobs`. */
  dir: string;
  /** Builds a job's pipeline (the CLI's reader of specs and modules). */
  load: TargetLoader;
  logger: Logger;
  clock?: Clock;
  controlsPollMs?: number;
}

/**
 * Starts the schedules of the project file's pipelines in this process (`ferry serve`), or returns undefined when
 * no pipeline has a schedule.
 *
 * @example
 * const scheduler = await startEmbeddedSchedules({ config, dir: ".ferry", load, logger });
 * process.on("SIGTERM", () => scheduler?.stop());
 */
export async function startEmbeddedSchedules(o: EmbeddedSchedulesOptions): Promise<Scheduler | undefined> {
  const scheduled = o.config.pipelines.filter((p) => p.schedule !== undefined);
  if (scheduled.length === 0) return undefined;
  const scheduler = new Scheduler({
    jobs: scheduled,
    store: new JobStore(o.dir),
    runner: pipelineRunner(o.load),
    alerts: webhookAlerter({
      ...(o.config.alerts.webhook ? { webhook: o.config.alerts.webhook } : {}),
      logger: o.logger,
    }),
    logger: o.logger,
    concurrency: o.config.concurrency,
    keepRuns: o.config.keepRuns,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.controlsPollMs !== undefined ? { controlsPollMs: o.controlsPollMs } : {}),
  });
  await scheduler.start();
  const shown = scheduled.slice(0, 5).map((p) => `${p.name} (${describeSchedule(p.schedule)})`);
  o.logger.info(
    `schedules: ${scheduled.length} pipeline(s), at most ${o.config.concurrency} run(s) at once: ${shown.join(", ")}${scheduled.length > 5 ? ", ..." : ""}`,
  );
  return scheduler;
}
