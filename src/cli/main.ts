#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { environment } from "../config/environment.js";
import { setting } from "../config/settings.js";
import { isSource } from "../extract/source.js";
import type { RunData } from "../pipeline/run-data.js";
import { describeError, errorMessage, FerryError, isFerryError } from "../util/errors.js";
import { consoleLogger, redactSecrets } from "../util/log.js";
import { registerFleetCommands } from "./fleet-commands.js";
import { loadRunTarget } from "./load-target.js";
import {
  listPipelines,
  type MaintenanceFlags,
  pipelineDrop,
  pipelineFailedJobs,
  pipelineInfo,
  pipelineOptimize,
  pipelineSchema,
  pipelineSync,
  pipelineTrace,
  pipelineVacuum,
} from "./pipeline-commands.js";
import { type PluginTestFlags, pluginNew, pluginTest } from "./plugin-commands.js";
import { ProgressDisplay } from "./progress.js";
import type { ServeCommandFlags } from "./serve-command.js";
import { formatLoadInfo } from "./summary.js";

const print = (text: string) => process.stdout.write(`${text}\n`);
let verbose = false;

function program(): Command {
  const cmd = new Command("ferry")
    .description("Move data from APIs, databases and code into DuckDB and other destinations")
    .option("--verbose", "print stack traces and debug logs")
    .showHelpAfterError()
    .exitOverride();
  cmd.hook("preAction", (c) => {
    verbose = Boolean(c.opts().verbose);
  });

  cmd
    .command("run <file>")
    .description(
      "run a pipeline from a TS/JS module (default export: pipeline, source or resource) or a YAML/JSON spec",
    )
    .option("--pipeline <name>", "pipeline name")
    .option("--destination <url>", "destination URL, e.g. duckdb:out.duckdb")
    .option("--dataset <name>", "dataset (schema) name")
    .option("--dir <path>", "pipelines working dir (default .ferry)")
    .option(
      "--select <resources>",
      "run only these resources (comma-separated; their parents still feed them)",
    )
    .option("--json", "print the load info as JSON on stdout")
    .action(
      async (
        file: string,
        o: {
          pipeline?: string;
          destination?: string;
          dataset?: string;
          dir?: string;
          json?: boolean;
          select?: string;
        },
      ) => {
        const progress = new ProgressDisplay(process.stderr, Boolean(process.stderr.isTTY) && !o.json);
        const logger = consoleLogger(verbose ? "debug" : setting("logLevel"));
        const target = await loadRunTarget(file, o, { logger, onProgress: progress.handle });
        const { pipeline } = target;
        const data = o.select ? selectResources(target.data, o.select) : target.data;
        try {
          const info = await pipeline.run(data);
          progress.stop();
          print(o.json ? JSON.stringify(info, null, 2) : formatLoadInfo(info));
        } finally {
          progress.stop();
        }
      },
    );

  cmd
    .command("serve")
    .description(
      "run the push door (a capture API for PostHog's client libraries, an event log, the event loader) and the schedules of the project file's pipelines",
    )
    .option("--config <file>", "project file (default ferry.yaml when present)")
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("--port <port>", "port to listen on (default 8010)")
    .option("--destination <url>", "where events go (default duckdb:events.duckdb)")
    .option("--dataset <name>", "dataset of the --token project (default posthog)")
    .option(
      "--token <token>",
      "a project API key clients send (repeatable)",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option("--dir <path>", "working dir (default .ferry; the event log is in <dir>/_serve)")
    .option(
      "--log <url>",
      "the event log: kafka://host:9092[,host2:9092] (default: embedded, in <dir>/_serve/log)",
    )
    .option("--role <role>", "capture, ingest or all (default all; capture and ingest need a Kafka log)")
    .option("--json", "log JSON lines")
    .option("--no-capture", "run only the schedules of the project file's pipelines (no capture API)")
    .action(async (o: ServeCommandFlags) => {
      // A server reports what it does (where it listens, a status line every 10 s) unless told otherwise.
      const level = verbose ? "debug" : environment().FERRY_LOG_LEVEL ? setting("logLevel") : "info";
      // Loaded when used: `ferry run` does not pay for the push door's modules.
      const { serveCommand } = await import("./serve-command.js");
      await serveCommand(o, level);
    });

  const plugin = cmd.command("plugin").description("write and try plugins for ferry serve: new | test");
  plugin
    .command("new <name>")
    .description("scaffold a plugin (index.ts), its unit test (index.test.ts) and a README in ./<name>")
    .option("--dir <path>", "where to write it (default ./<name>)")
    .action(async (name: string, o: { dir?: string }) => pluginNew(name, o.dir, print));
  plugin
    .command("test <module>")
    .description(
      "run a plugin in the sandbox over sample events (or --events) and print what it changed, dropped or failed on",
    )
    .option("--config <json>", "the plugin's config, as JSON")
    .option(
      "--events <file.jsonl>",
      "events to run it over, one JSON object a line (default: a pageview, an identify, a click, a custom event)",
    )
    .option("--allowed-hosts <hosts>", "hosts meta.fetch and webhooks may reach, comma-separated")
    .option("--timeout <duration>", "time limit of one call (default 1s)")
    .option("--memory <size>", "memory limit of the sandbox (default 128MB)")
    .option("--json", "print the reports as JSON")
    .action(async (module: string, o: PluginTestFlags) => {
      // Plugins' own log lines (console.log, meta.logger) show at info.
      const failed = await pluginTest(module, o, print, consoleLogger(verbose ? "debug" : "info"));
      if (failed > 0)
        throw new FerryError(`the plugin failed on ${failed} event(s)`, { hint: "see the report above" });
    });

  cmd
    .command("ui")
    .description(
      "the web dashboard: pipelines, runs (run one now), schemas, data with a read-only SQL box, plots of runs over time",
    )
    .option("--host <host>", "address to listen on (default 127.0.0.1; any other needs an access token)")
    .option("--port <port>", "port to listen on (default 8020)")
    .option("--dir <path>", "pipelines working dir (default .ferry)")
    .option(
      "--config <file>",
      "project file whose pipelines can be run from the page (default ferry.yaml when present)",
    )
    .action(async (o: { host?: string; port?: string; dir?: string; config?: string }) => {
      const level = verbose ? "debug" : environment().FERRY_LOG_LEVEL ? setting("logLevel") : "info";
      const { uiCommand } = await import("./ui-command.js");
      await uiCommand(o, consoleLogger(level));
    });

  registerFleetCommands(cmd, print, () => verbose);

  const p = cmd
    .command("pipeline")
    .description(
      "inspect and manage pipelines: list | <name> info|schema|trace|failed-jobs|drop|sync|optimize|vacuum",
    );
  p.option("--dir <path>", "pipelines working dir (default .ferry)")
    .option("--json", "machine-readable output")
    .option("--destination <url>", "destination (for sync on a new machine)")
    .option("--dataset <name>", "dataset (for sync on a new machine)")
    .option("--schema <name>", "schema name (schema command)")
    .option("--yes", "confirm drop")
    .option(
      "--table <names>",
      "optimize, vacuum: comma-separated Delta tables (default: all of the pipeline's)",
    )
    .option(
      "--target-file-size <size>",
      "optimize: compact files smaller than this into files of about it (128MB)",
    )
    .option("--retention-hours <hours>", "vacuum: delete files removed longer ago than this (default 168)")
    .option("--force", "vacuum: allow a retention below 168 hours")
    .option("--dry-run", "vacuum: only report what would be deleted")
    .argument("<name-or-list>", "`list`, or a pipeline name")
    .argument("[command]", "info | schema | trace | failed-jobs | drop | sync | optimize | vacuum", "info")
    .action(
      async (name: string, sub: string, flags: MaintenanceFlags & { schema?: string; yes?: boolean }) => {
        if (name === "list") return listPipelines(flags, print);
        const commands: Record<string, () => Promise<void>> = {
          info: () => pipelineInfo(name, flags, print),
          schema: () => pipelineSchema(name, flags, print),
          trace: () => pipelineTrace(name, flags, print),
          "failed-jobs": () => pipelineFailedJobs(name, flags, print),
          drop: () => pipelineDrop(name, flags, print),
          sync: () => pipelineSync(name, flags, print),
          optimize: () => pipelineOptimize(name, flags, print),
          vacuum: () => pipelineVacuum(name, flags, print),
        };
        const run = commands[sub];
        if (!run)
          throw new FerryError(`unknown pipeline command "${sub}"`, {
            hint: `use one of: ${Object.keys(commands).join(", ")}`,
          });
        await run();
      },
    );
  return cmd;
}

function selectResources(data: RunData, list: string): RunData {
  const names = list
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  if (!isSource(data)) {
    throw new FerryError("--select needs a source with several resources", {
      hint: "export a source (source({ resources: [...] })) or drop --select",
    });
  }
  try {
    return data.select(...names);
  } catch (err) {
    throw new FerryError(errorMessage(err), { hint: "pass resource names of the source to --select" });
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isReported(err)) return 1;
    process.stderr.write(`error: ${redactSecrets(describeError(err))}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${redactSecrets(err.stack)}\n`);
    else if (!isFerryError(err)) process.stderr.write("(run with --verbose for the stack trace)\n");
    return 1;
  }
}

/** An error a command has already written (as a JSON log line): only the exit code is left to set. */
function isReported(err: unknown): boolean {
  return err instanceof Error && err.name === "ErrorReported";
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
