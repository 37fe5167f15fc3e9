import type { Client } from "@temporalio/client";
import { parseDuration } from "../events/serve-config.js";
import { findJob } from "../orchestration/jobs-config.js";
import { formatDuration } from "../orchestration/schedule.js";
import { connectClient } from "../orchestration/temporal/connect.js";
import { syncSchedules } from "../orchestration/temporal/schedules-sync.js";
import {
  setSchedulePaused,
  temporalRun,
  temporalRunNow,
  temporalRuns,
  temporalSchedules,
} from "../orchestration/temporal/temporal-jobs.js";
import { runTemporalWorker } from "../orchestration/temporal/worker.js";
import { ObjectWorkingStore, sharedDisk, type WorkingStore } from "../orchestration/working-store.js";
import { openObjectStore } from "../storage/open.js";
import { ConfigError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { projectTargetLoader, readJobsProject } from "./jobs-project.js";

export interface TemporalFlags {
  temporal?: string;
  namespace?: string;
  taskQueue?: string;
  config?: string;
  dir?: string;
  json?: boolean;
  pipeline?: string;
  limit?: string;
  reason?: string;
  heartbeatTimeout?: string;
}

export interface WorkerFlags extends TemporalFlags {
  maxActivities?: string;
  stateStore?: string;
}

type Print = (text: string) => void;

const DEFAULT_HEARTBEAT_TIMEOUT = 30_000;
const queue = (o: TemporalFlags) => o.taskQueue ?? "ferry";
const heartbeat = (o: TemporalFlags) =>
  o.heartbeatTimeout === undefined
    ? DEFAULT_HEARTBEAT_TIMEOUT
    : parseDuration(o.heartbeatTimeout, "--heartbeat-timeout");

async function withClient<T>(o: TemporalFlags, fn: (client: Client) => Promise<T>): Promise<T> {
  if (!o.temporal) throw new ConfigError("this command needs --temporal HOST:PORT");
  const client = await connectClient(o.temporal, o.namespace ?? "default");
  try {
    return await fn(client);
  } finally {
    await client.connection.close().catch(() => undefined);
  }
}

const when = (iso: string | undefined) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");

/** `ferry jobs ... --temporal HOST:PORT`: the same commands on a Temporal cluster's schedules and runs. */
export const temporalJobs = {
  async list(o: TemporalFlags, print: Print): Promise<void> {
    const project = await readJobsProject(o);
    const limit = o.limit === undefined ? 20 : Number(o.limit);
    const jobs = project.config.pipelines.filter((p) => o.pipeline === undefined || p.name === o.pipeline);
    await withClient(o, async (client) => {
      const schedules = await temporalSchedules(client, jobs);
      const runs = await temporalRuns(client, {
        ...(o.pipeline ? { pipeline: o.pipeline } : {}),
        limit,
        taskQueue: queue(o),
      });
      if (o.json) return print(JSON.stringify({ schedules, runs }, null, 2));
      for (const s of schedules) {
        print(
          `${s.pipeline}  ${s.paused ? "paused" : "active"}  next ${when(s.nextRun)}  runs ${s.runs}  skipped (overlap) ${s.skippedOverlaps}${s.note && s.paused ? `  (${s.note})` : ""}`,
        );
      }
      if (runs.length > 0) print("");
      for (const r of runs)
        print(
          `  ${r.id}  ${r.status.padEnd(9)}  ${when(r.startedAt)}  ${r.durationMs !== undefined ? formatDuration(r.durationMs) : "..."}`,
        );
    });
  },
  async show(id: string, o: TemporalFlags, print: Print): Promise<void> {
    await withClient(o, async (client) => {
      const r = await temporalRun(client, id);
      if (o.json) return print(JSON.stringify(r, null, 2));
      print(`run:        ${r.id} (${r.runId})`);
      print(`status:     ${r.status} (${r.temporalStatus})`);
      print(`started:    ${when(r.startedAt)}`);
      print(
        `finished:   ${when(r.finishedAt)}${r.durationMs !== undefined ? ` (took ${formatDuration(r.durationMs)})` : ""}`,
      );
      for (const [t, n] of Object.entries(r.rows ?? {})) print(`  ${t}  ${n}`);
      if (r.error) print(`error:      ${r.error}`);
    });
  },
  async run(name: string, o: TemporalFlags, print: Print): Promise<boolean> {
    const project = await readJobsProject(o);
    const job = findJob(project.config, name);
    return withClient(o, async (client) => {
      const r = await temporalRunNow(client, job, { taskQueue: queue(o), heartbeatTimeoutMs: heartbeat(o) });
      if (o.json) print(JSON.stringify(r, null, 2));
      else if (r.result)
        print(
          `run ${r.id} completed: ${Object.values(r.result.rows).reduce((a, b) => a + b, 0)} row(s) in ${formatDuration(r.result.durationMs)}`,
        );
      else print(`run ${r.id} failed: ${r.error}`);
      return r.result !== undefined;
    });
  },
  async pause(name: string, o: TemporalFlags, print: Print): Promise<void> {
    await withClient(o, (client) =>
      setSchedulePaused(client, name, true, o.reason ?? "paused by a user (ferry jobs pause)"),
    );
    print(
      o.json ? JSON.stringify({ pipeline: name, paused: true }) : `paused the Temporal schedule of ${name}`,
    );
  },
  async resume(name: string, o: TemporalFlags, print: Print): Promise<void> {
    await withClient(o, (client) => setSchedulePaused(client, name, false, "resumed (ferry jobs resume)"));
    print(
      o.json ? JSON.stringify({ pipeline: name, paused: false }) : `resumed the Temporal schedule of ${name}`,
    );
  },
};

/** `ferry schedules sync --temporal HOST:PORT`. */
export async function schedulesSync(o: TemporalFlags, print: Print, logger: Logger): Promise<void> {
  const project = await readJobsProject(o);
  await withClient(o, async (client) => {
    const r = await syncSchedules(client, project.config, {
      taskQueue: queue(o),
      heartbeatTimeoutMs: heartbeat(o),
      logger,
    });
    if (o.json) return print(JSON.stringify(r, null, 2));
    print(
      `schedules on task queue ${queue(o)}: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged, ${r.deleted.length} deleted`,
    );
    for (const [what, names] of Object.entries(r))
      if (what !== "unchanged" && names.length > 0) print(`  ${what}: ${names.join(", ")}`);
  });
}

/** `ferry worker --temporal HOST:PORT`: runs until SIGTERM or SIGINT. */
export async function workerCommand(o: WorkerFlags, logger: Logger): Promise<void> {
  if (!o.temporal) throw new ConfigError("ferry worker needs --temporal HOST:PORT (the Temporal frontend)");
  const project = await readJobsProject(o);
  const maxActivities = o.maxActivities === undefined ? 4 : Number(o.maxActivities);
  if (!Number.isInteger(maxActivities) || maxActivities < 1)
    throw new ConfigError(`--max-activities must be a whole number >= 1, not ${o.maxActivities}`);
  const working: WorkingStore = o.stateStore
    ? new ObjectWorkingStore(await openObjectStore(o.stateStore))
    : sharedDisk;
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    logger.info(`${signal}: stopping (steps under way get 30 s to finish)`);
    stop.abort();
  };
  const onTerm = () => onSignal("SIGTERM");
  const onInt = () => onSignal("SIGINT");
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  try {
    await runTemporalWorker({
      address: o.temporal,
      namespace: o.namespace ?? "default",
      taskQueue: queue(o),
      config: project.config,
      load: projectTargetLoader(project),
      working,
      logger,
      maxActivities,
      signal: stop.signal,
      onReady: () =>
        logger.info(
          `worker ready: task queue ${queue(o)} on ${o.temporal} (namespace ${o.namespace ?? "default"}), ${project.config.pipelines.length} pipeline(s), at most ${maxActivities} step(s) at once, working state in ${working.description}`,
        ),
    });
    logger.info("worker stopped");
  } finally {
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
    await working.close();
  }
}
