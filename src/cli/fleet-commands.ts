import type { Command } from "commander";
import { environment } from "../config/environment.js";
import { setting } from "../config/settings.js";
import { consoleLogger, type Logger, type LogLevel } from "../util/log.js";
import { type JobsFlags, jobsList, jobsPause, jobsResume, jobsRun, jobsShow } from "./jobs-command.js";
import { ErrorReported } from "./serve-command.js";
import {
  schedulesSync,
  type TemporalFlags,
  temporalJobs,
  type WorkerFlags,
  workerCommand,
} from "./temporal-commands.js";

type Print = (text: string) => void;

/** Long-running commands report what they do unless told otherwise (FERRY_LOG_LEVEL, --verbose). */
function logger(verbose: boolean): Logger {
  const level: LogLevel = verbose ? "debug" : environment().FERRY_LOG_LEVEL ? setting("logLevel") : "info";
  return consoleLogger(level);
}

/**
 * `ferry jobs ...`, `ferry worker` and `ferry schedules sync`: pipelines' schedules and job history, embedded or on
 * Temporal (`--temporal HOST:PORT`).
 */
export function registerFleetCommands(cmd: Command, print: Print, verbose: () => boolean): void {
  const jobs = cmd
    .command("jobs")
    .description(
      "schedules and job history of the project file's pipelines: list | show | run | pause | resume",
    );
  const common = (c: Command) =>
    c
      .option("--config <file>", "project file (default ferry.yaml when present)")
      .option(
        "--dir <path>",
        "pipelines dir holding the job history (default: serve.dir, FERRY_PIPELINES_DIR or .ferry)",
      )
      .option("--json", "machine-readable output")
      .option("--temporal <host:port>", "the jobs of a Temporal cluster instead of the local job history")
      .option("--namespace <name>", "Temporal namespace (default: default)")
      .option("--task-queue <name>", "Temporal task queue (default: ferry)")
      .option(
        "--heartbeat-timeout <duration>",
        "Temporal runs: a step silent this long is retried (default 30s)",
      );
  common(
    jobs.command("list").description("each pipeline's schedule, pause and last run, then the newest runs"),
  )
    .option("--pipeline <name>", "only this pipeline")
    .option("--limit <n>", "runs to show (default 20)")
    .action(async (o: JobsFlags & TemporalFlags) => {
      if (o.temporal) return temporalJobs.list(o, print);
      await jobsList(o, print);
    });
  common(jobs.command("show <run>").description("one run: status, rows per table, duration, error")).action(
    async (run: string, o: JobsFlags & TemporalFlags) => {
      if (o.temporal) return temporalJobs.show(run, o, print);
      await jobsShow(run, o, print);
    },
  );
  common(
    jobs.command("run <pipeline>").description("run a pipeline now (with its retries), recorded as a job"),
  ).action(async (name: string, o: JobsFlags & TemporalFlags) => {
    const ok = o.temporal
      ? await temporalJobs.run(name, o, print)
      : await jobsRun(name, o, print, logger(verbose()));
    if (!ok) throw new ErrorReported(new Error(`the run of ${name} did not complete`));
  });
  common(jobs.command("pause <pipeline>").description("pause a pipeline's schedule"))
    .option("--reason <text>", "why (shown by jobs list)")
    .action(async (name: string, o: JobsFlags & TemporalFlags) => {
      if (o.temporal) return temporalJobs.pause(name, o, print);
      await jobsPause(name, o, print);
    });
  common(jobs.command("resume <pipeline>").description("resume a paused schedule")).action(
    async (name: string, o: JobsFlags & TemporalFlags) => {
      if (o.temporal) return temporalJobs.resume(name, o, print);
      await jobsResume(name, o, print);
    },
  );

  cmd
    .command("worker")
    .description(
      "run the project file's pipelines as Temporal workflows (extract, normalize and load as activities)",
    )
    .requiredOption("--temporal <host:port>", "the Temporal frontend, e.g. 127.0.0.1:7233")
    .option("--namespace <name>", "Temporal namespace (default: default)")
    .option("--task-queue <name>", "task queue to poll (default: ferry)")
    .option("--config <file>", "project file (default ferry.yaml when present)")
    .option("--dir <path>", "pipelines dir (default: serve.dir, FERRY_PIPELINES_DIR or .ferry)")
    .option("--max-activities <n>", "steps run at once by this worker (default 4)")
    .option(
      "--state-store <url>",
      "keep pipelines' working state in object storage (s3://, gs://, az://, file://) when workers do not share a disk",
    )
    .action(async (o: WorkerFlags) => {
      await workerCommand(o, logger(verbose()));
    });
  const schedules = cmd
    .command("schedules")
    .description("Temporal Schedules of the project file's pipelines: sync");
  schedules
    .command("sync")
    .description(
      "create, update and delete Temporal Schedules to match the project file (overlap skip, jitter)",
    )
    .requiredOption("--temporal <host:port>", "the Temporal frontend, e.g. 127.0.0.1:7233")
    .option("--namespace <name>", "Temporal namespace (default: default)")
    .option("--task-queue <name>", "task queue the runs go to (default: ferry)")
    .option("--config <file>", "project file (default ferry.yaml when present)")
    .option(
      "--heartbeat-timeout <duration>",
      "a step silent this long is retried on another worker (default 30s)",
    )
    .option("--json", "machine-readable output")
    .action(async (o: TemporalFlags) => {
      await schedulesSync(o, print, logger(verbose()));
    });
}
