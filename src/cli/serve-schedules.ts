import { startEmbeddedSchedules } from "../orchestration/embedded.js";
import type { Scheduler } from "../orchestration/scheduler.js";
import type { Logger } from "../util/log.js";
import { jobsProjectOf, projectTargetLoader } from "./jobs-project.js";

/**
 * The schedules `ferry serve` runs beside capture (or alone with `--no-capture`): the project file's scheduled
 * pipelines, or undefined when it has none.
 */
export async function startProjectSchedules(
  raw: unknown,
  flags: { config?: string; dir?: string },
  logger: Logger,
): Promise<Scheduler | undefined> {
  const project = jobsProjectOf(raw, flags);
  return startEmbeddedSchedules({
    config: project.config,
    dir: project.dir,
    load: projectTargetLoader(project),
    logger,
  });
}
