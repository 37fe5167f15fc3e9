import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobRunner } from "../orchestration/job-runner.js";
import { JobStore } from "../orchestration/job-store.js";
import type { JobsConfig } from "../orchestration/jobs-config.js";
import type { Logger } from "../util/log.js";
import { RunNow } from "./run-now.js";
import type { EventsSource } from "./ui-api.js";
import { isLoopback, newAccessToken } from "./ui-auth.js";
import { UI_PREFIX, type UiHandler, uiHandler } from "./ui-handler.js";

/** What a dashboard shows and how it is reached. */
export interface DashboardOptions {
  /** The pipelines' working dir (as `ferry pipeline list` reads it). */
  dir: string;
  /** The project file's pipelines: they can be run from the page. */
  jobs?: JobsConfig;
  /** Runs them (the CLI builds pipelines from specs and modules). */
  runner?: JobRunner;
  /** The address it is bound to: any but a loopback one needs an access token. */
  host: string;
  /** The access token (default: FERRY_UI_TOKEN; generated when needed and not given). */
  token?: string;
  /** The push door, when the dashboard runs inside `ferry serve`. */
  events?: EventsSource;
  logger: Logger;
}

/** A dashboard handler with what it holds. */
export interface Dashboard {
  handler: UiHandler;
  /** The token requests must carry (undefined on a loopback address without one). */
  token: string | undefined;
  /** True when ferry made the token up (it must be printed for the user). */
  tokenGenerated: boolean;
  /** The address to open: with `?token=` when a token is needed. */
  link(base: string): string;
  /** Waits for runs started from the page (stopped at their next page). */
  close(): Promise<void>;
}

/**
 * Builds the dashboard: its handler, the runs it starts, and its access rule (no token on 127.0.0.1 unless one is
 * given; a token always on any other address).
 *
 * @example
 * const d = createDashboard({ dir: ".ferry", host: "0.0.0.0", logger });
 * console.log(d.link("http://myhost:8020")); // http://myhost:8020/ui/?token=...
 */
export function createDashboard(o: DashboardOptions): Dashboard {
  const loopback = isLoopback(o.host);
  const token = o.token ?? (loopback ? undefined : newAccessToken());
  const store = new JobStore(o.dir);
  const runNow =
    o.jobs && o.runner ? new RunNow({ jobs: o.jobs, store, runner: o.runner, logger: o.logger }) : undefined;
  const handler = uiHandler({
    sources: { dir: o.dir, jobs: o.jobs, store },
    runNow,
    events: o.events,
    token,
    loopbackOnly: loopback,
  });
  return {
    handler,
    token,
    tokenGenerated: token !== undefined && o.token === undefined,
    link: (base) => `${base}${UI_PREFIX}/${token ? `?token=${encodeURIComponent(token)}` : ""}`,
    close: async () => {
      await runNow?.stop();
      o.events?.feed.stop();
    },
  };
}

/** A running `ferry ui`. */
export interface RunningUi {
  url: string;
  dashboard: Dashboard;
  close(): Promise<void>;
}

/**
 * `ferry ui`: the dashboard on its own port.
 *
 * @example
 * const ui = await startUi({ dir: ".ferry", host: "127.0.0.1", port: 8020, logger });
 * console.log(ui.dashboard.link(ui.url));
 */
export async function startUi(o: DashboardOptions & { port: number }): Promise<RunningUi> {
  const dashboard = createDashboard(o);
  const server: Server = createServer((req, res) => {
    if (dashboard.handler(req, res)) return;
    if ((req.url ?? "/") === "/") {
      res.writeHead(302, { location: `${UI_PREFIX}/` });
      res.end();
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end(`the dashboard is at ${UI_PREFIX}/`);
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `the dashboard cannot listen on ${o.host}:${o.port} (${e.message})${e.code === "EADDRINUSE" ? "; choose another port with --port" : ""}`,
        ),
      );
    server.once("error", failed);
    server.listen(o.port, o.host, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}`;
  return {
    url,
    dashboard,
    close: async () => {
      await dashboard.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
