import { setting } from "../config/settings.js";
import type { EventMetrics } from "../events/metrics.js";
import type { ServeConfig } from "../events/serve-config.js";
import { pipelineRunner } from "../orchestration/job-runner.js";
import { EventFeed } from "../ui/event-feed.js";
import { createDashboard, type Dashboard, startUi } from "../ui/ui-server.js";
import { ConfigError } from "../util/errors.js";
import { type Logger, registerSecret } from "../util/log.js";
import { jobsProjectOf, projectTargetLoader, readJobsProject } from "./jobs-project.js";

export interface UiFlags {
  host?: string;
  port?: string;
  dir?: string;
  config?: string;
}

const print = (text: string) => process.stdout.write(`${text}\n`);

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 8020;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`--port must be a port number (0-65535), not ${raw}`);
  return port;
}

function uiToken(): string | undefined {
  const token = setting("uiToken");
  registerSecret(token);
  return token;
}

/**
 * Tells how to open the dashboard. A link holding a token ferry generated goes to stdout only (never to the logs);
 * otherwise `ferry ui` prints the address and `ferry serve` logs it.
 */
function announce(dashboard: Dashboard, base: string, dir: string, logger?: Logger): void {
  const where = `(pipelines of ${dir})`;
  if (dashboard.tokenGenerated) {
    print(`dashboard: ${dashboard.link(base)} ${where}`);
    print("an access token is required off 127.0.0.1 (it is in the link); set FERRY_UI_TOKEN to choose it");
    return;
  }
  const line = `dashboard: ${base}/ui/ ${where}${dashboard.token ? "; the access token is FERRY_UI_TOKEN's" : ""}`;
  if (logger) logger.info(line);
  else print(line);
}

/** `ferry ui`: the dashboard of the pipelines of a working dir (and of the project file's pipelines) until SIGINT/SIGTERM. */
export async function uiCommand(flags: UiFlags, logger: Logger): Promise<void> {
  const project = await readJobsProject(flags);
  const ui = await startUi({
    dir: project.dir,
    jobs: project.config,
    runner: pipelineRunner(projectTargetLoader(project)),
    host: flags.host ?? "127.0.0.1",
    port: parsePort(flags.port),
    ...(uiToken() ? { token: uiToken() as string } : {}),
    logger,
  });
  announce(ui.dashboard, ui.url, project.dir);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      done();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  await ui.close();
}

/** The dashboard `ferry serve` mounts at `/ui`: its feed goes first among the event stages. */
export function serveDashboard(
  raw: unknown,
  flags: { config?: string; dir?: string },
  config: ServeConfig,
  logger: Logger,
): { dashboard: Dashboard; feed: EventFeed; attach(metrics: EventMetrics, base: string): void } {
  const project = jobsProjectOf(raw, flags);
  const feed = new EventFeed();
  const token = uiToken();
  const dashboard = createDashboard({
    dir: project.dir,
    jobs: project.config,
    runner: pipelineRunner(projectTargetLoader(project)),
    host: config.host,
    ...(token ? { token } : {}),
    events: { feed, destination: config.destination, datasets: config.projects.map((p) => p.dataset) },
    logger,
  });
  return {
    dashboard,
    feed,
    attach(metrics, base) {
      feed.attach({ metrics });
      announce(dashboard, base, project.dir, logger);
    },
  };
}
