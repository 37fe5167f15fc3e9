import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { defaultEnvironment } from "../config/environment.js";
import { setting } from "../config/settings.js";
import { type RunningServe, startServe } from "../events/serve.js";
import { resolveServeConfig, type ServeConfig, type ServeFlags } from "../events/serve-config.js";
import type { Scheduler } from "../orchestration/scheduler.js";
import { ConfigError, describeError, errorMessage } from "../util/errors.js";
import { consoleLogger, jsonLogger, type LogLevel } from "../util/log.js";
import { startProjectSchedules } from "./serve-schedules.js";
import { substituteEnv } from "./spec.js";
import { serveDashboard } from "./ui-command.js";

export interface ServeCommandFlags extends ServeFlags {
  config?: string;
  json?: boolean;
  /** false with `--no-capture`: only the schedules of the project file's pipelines run. */
  capture?: boolean;
}

/** The project file: `--config`, else `ferry.yaml` in the working directory when there is one. */
export async function readProjectFile(path: string | undefined): Promise<unknown> {
  const file = projectFilePath(path);
  if (file === undefined) return {};
  let text: string;
  try {
    text = await readFile(resolve(file), "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the project file ${file}: ${errorMessage(err)}`, {
      hint: "pass --config <file>, or run where ferry.yaml is",
    });
  }
  try {
    return substituteEnv(parseYaml(text) ?? {}, file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`the project file ${file} is not valid YAML: ${errorMessage(err)}`);
  }
}

/** The project file in use: `--config`, else `ferry.yaml` when there is one. */
function projectFilePath(path: string | undefined): string | undefined {
  return path ?? (existsSync("ferry.yaml") ? "ferry.yaml" : undefined);
}

/**
 * An error the command has already written (as a JSON log line): the CLI only sets the exit code.
 */
export class ErrorReported extends Error {
  constructor(readonly original: unknown) {
    super(errorMessage(original));
    this.name = "ErrorReported";
  }
}

/** DuckDB settings `ferry serve` starts with unless the environment sets them. */
const SERVE_DUCKDB_DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ["FERRY_DUCKDB_THREADS", "1"],
  ["FERRY_DUCKDB_MEMORY_LIMIT", "64MB"],
  // Micro-batches append a few thousand rows at a time: DuckDB rewrites a row group's rows as it fills, and a row
  // group of 122,880 rows costs a second-long checkpoint now and then; small ones spread that evenly.
  ["FERRY_DUCKDB_ROW_GROUP_SIZE", "16384"],
];

/**
 * `ferry serve`: runs the push door and the schedules of the project file's pipelines until SIGTERM or SIGINT, then
 * stops accepting, loads what the log holds, stops the schedules (runs under way end at their next page) and
 * returns (exit code 0).
 */
export async function serveCommand(flags: ServeCommandFlags, level: LogLevel): Promise<void> {
  const logger = flags.json ? jsonLogger(level) : consoleLogger(level);
  let config: ServeConfig | undefined;
  let running: RunningServe | undefined;
  let scheduler: Scheduler | undefined;
  let ui: ReturnType<typeof serveDashboard> | undefined;
  try {
    const raw = await readProjectFile(flags.config);
    if (flags.capture !== false) {
      // A server loads small batches beside capture on the same cores: one DuckDB thread and a small buffer pool keep
      // its memory bounded at the same rate (docs/capture.md, "Memory"); the user's own values win.
      for (const [name, value] of SERVE_DUCKDB_DEFAULTS) defaultEnvironment(name, value);
      config = resolveServeConfig(raw, flags, setting("pipelinesDir"));
      const file = projectFilePath(flags.config);
      // Plugin modules are found from the project file's folder.
      config.baseDir = file ? dirname(resolve(file)) : process.cwd();
      // The dashboard at /ui on the capture port; its feed watches the events on their way to the destination
      // (on the embedded log: event stages do not run on Kafka yet, so the dashboard has no live tail there).
      ui = serveDashboard(raw, flags, config, logger);
      const stages = config.log === undefined ? [ui.feed.stage] : [];
      running = await startServe(config, { logger, stages, mount: ui.dashboard.handler });
    }
    scheduler = await startProjectSchedules(raw, flags, logger);
    if (!running && !scheduler)
      throw new ConfigError(
        "ferry serve --no-capture has nothing to run: no pipeline of the project file has a schedule",
        {
          hint: "add pipelines with a schedule to ferry.yaml (pipelines: [{ name, spec, schedule: { every: 6h } }]), or drop --no-capture",
        },
      );
  } catch (err) {
    await running?.stop();
    await ui?.dashboard.close();
    if (!flags.json) throw err;
    // Machines read --json logs line by line: a refusal to start is a JSON line too.
    logger.error(describeError(err));
    throw new ErrorReported(err);
  }
  if (running && config) {
    const projects = config.projects.map((p) => `${p.token} -> ${p.dataset}`).join(", ");
    if (running.address) {
      logger.info(
        `capture listening on ${running.address.url} (api_host for PostHog clients)${config.role === "capture" ? "" : `; events go to ${config.destination}`} (${projects})`,
      );
      ui?.attach(running.metrics, running.address.url);
    } else logger.info(`ingesting events into ${config.destination} (${projects})`);
  }
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      logger.info(`${signal}: stopping`);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      done();
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  await scheduler?.stop();
  await ui?.dashboard.close();
  if (!running) return logger.info("stopped: the schedules' runs under way ended");
  const left = await running.stop();
  if (config?.log !== undefined)
    logger.info(
      "stopped: requests under way were answered and the batch under way committed; events not loaded yet stay in Kafka for the group's other members or the next start",
    );
  else if (left === 0) logger.info("stopped: every acknowledged event is loaded");
  else
    logger.warn(
      `stopped with ${left} acknowledged event(s) not loaded yet (the destination stayed unavailable); they are safe in the log and load at the next start`,
    );
}
