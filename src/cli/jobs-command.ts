import { webhookAlerter } from "../orchestration/alerts.js";
import { systemClock } from "../orchestration/clock.js";
import { executeJob } from "../orchestration/job-execution.js";
import type { JobRecord } from "../orchestration/job-record.js";
import { pipelineRunner } from "../orchestration/job-runner.js";
import { JobStore } from "../orchestration/job-store.js";
import { findJob } from "../orchestration/jobs-config.js";
import { planSchedule } from "../orchestration/plan.js";
import { describeSchedule, formatDuration } from "../orchestration/schedule.js";
import { FerryError } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { projectTargetLoader, readJobsProject } from "./jobs-project.js";

export interface JobsFlags {
  config?: string;
  dir?: string;
  json?: boolean;
  pipeline?: string;
  limit?: string;
  reason?: string;
}

type Print = (text: string) => void;

const fmt = (n: number) => n.toLocaleString("en-US");
const when = (iso: string | undefined) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");
const totalRows = (r: JobRecord) => Object.values(r.rows).reduce((a, b) => a + b, 0);

/** `ferry jobs list`: each pipeline's schedule, pause and last run, then the newest runs. */
export async function jobsList(flags: JobsFlags, print: Print): Promise<void> {
  const project = await readJobsProject(flags);
  const store = new JobStore(project.dir);
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new FerryError(`--limit must be a whole number >= 1, not ${flags.limit}`);
  const pauses = await store.pauses();
  const now = Date.now();
  const jobs = project.config.pipelines.filter(
    (p) => flags.pipeline === undefined || p.name === flags.pipeline,
  );
  if (flags.pipeline !== undefined && jobs.length === 0) findJob(project.config, flags.pipeline);
  const pipelines = [];
  for (const job of jobs) {
    const last = await store.latest(job.name);
    const lastScheduled = await store.latest(job.name, (r) => r.scheduledFor !== undefined, 200);
    const plan = planSchedule(
      job,
      lastScheduled ? Date.parse(lastScheduled.scheduledFor as string) : undefined,
      now,
    );
    const paused = pauses.get(job.name);
    pipelines.push({
      name: job.name,
      schedule: describeSchedule(job.schedule),
      state: paused ? "paused" : job.schedule ? "active" : "manual",
      ...(paused ? { pausedBecause: paused.reason, pausedAt: paused.at, pausedBy: paused.by } : {}),
      nextRun:
        paused || !job.schedule
          ? undefined
          : plan.catchUp
            ? "at the next start of ferry serve"
            : plan.next
              ? new Date(plan.next.at).toISOString()
              : undefined,
      lastRun: last
        ? { id: last.id, status: last.status, startedAt: last.startedAt, rows: totalRows(last) }
        : undefined,
    });
  }
  const runs = await store.list({ ...(flags.pipeline ? { pipeline: flags.pipeline } : {}), limit });
  if (flags.json) return print(JSON.stringify({ dir: store.dir, pipelines, runs }, null, 2));
  if (pipelines.length === 0 && runs.length === 0)
    return print(
      "no pipelines in the project file and no job history (list them under pipelines: in ferry.yaml)",
    );
  const w = Math.max(8, ...pipelines.map((p) => p.name.length));
  print(
    `${"pipeline".padEnd(w)}  ${"schedule".padEnd(24)}  ${"state".padEnd(7)}  ${"last run".padEnd(10)}  next run`,
  );
  for (const p of pipelines) {
    print(
      `${p.name.padEnd(w)}  ${p.schedule.padEnd(24)}  ${p.state.padEnd(7)}  ${(p.lastRun?.status ?? "-").padEnd(10)}  ${when(p.nextRun)}`,
    );
    if (p.pausedBecause)
      print(`${"".padEnd(w)}  paused by ${p.pausedBy} at ${when(p.pausedAt)}: ${p.pausedBecause}`);
  }
  if (runs.length === 0) return;
  print("");
  print(`runs (newest first, at most ${limit}):`);
  for (const r of runs) print(`  ${runLine(r)}`);
}

function runLine(r: JobRecord): string {
  const took = r.durationMs !== undefined ? formatDuration(r.durationMs) : "...";
  const extra =
    r.status === "completed"
      ? `${fmt(totalRows(r))} row(s)`
      : r.status === "skipped"
        ? (r.reason ?? "")
        : (r.error?.message ?? "");
  return `${r.id}  ${r.status.padEnd(9)}  ${r.trigger.padEnd(8)}  ${when(r.startedAt)}  ${took.padStart(7)}  ${extra}`;
}

/** `ferry jobs show <run>`: one run in full. */
export async function jobsShow(id: string, flags: JobsFlags, print: Print): Promise<void> {
  const project = await readJobsProject(flags);
  const record = await new JobStore(project.dir).get(id);
  if (!record)
    throw new FerryError(`no run "${id}" in ${project.dir}`, {
      hint: "ferry jobs list shows the run ids (pass the --dir or --config ferry serve ran with)",
    });
  if (flags.json) return print(JSON.stringify(record, null, 2));
  print(formatRecord(record));
}

export function formatRecord(r: JobRecord): string {
  const lines = [
    `run:        ${r.id}`,
    `pipeline:   ${r.pipeline}`,
    `status:     ${r.status}${r.reason && r.status !== "paused" ? ` (${r.reason})` : ""}`,
    `trigger:    ${r.trigger}${r.scheduledFor ? ` (slot ${when(r.scheduledFor)})` : ""}`,
    `started:    ${when(r.startedAt)}`,
    `finished:   ${when(r.finishedAt)}${r.durationMs !== undefined ? ` (took ${formatDuration(r.durationMs)})` : ""}`,
    `attempts:   ${r.attempts}`,
    `process:    ${r.owner.pid} on ${r.owner.host}`,
  ];
  if (r.loadIds.length > 0) lines.push(`load ids:   ${r.loadIds.join(", ")}`);
  if (r.pendingCompleted?.length)
    lines.push(`completed pending packages of an earlier run: ${r.pendingCompleted.join(", ")}`);
  const tables = Object.entries(r.rows).sort(([a], [b]) => a.localeCompare(b));
  if (tables.length > 0) {
    const w = Math.max(5, ...tables.map(([t]) => t.length));
    lines.push(`rows:       ${fmt(totalRows(r))}`);
    for (const [t, n] of tables) lines.push(`  ${t.padEnd(w)}  ${fmt(n)}`);
  }
  if (r.error) {
    lines.push(`error:      ${r.error.message}${r.error.code ? ` [${r.error.code}]` : ""}`);
    lines.push(
      `            ${r.error.transient ? "transient (retried)" : "terminal (retrying cannot fix it)"}`,
    );
    if (r.error.hint) lines.push(`hint:       ${r.error.hint}`);
  }
  if (r.status === "paused")
    lines.push(`the schedule is paused; after fixing the cause: ferry jobs resume ${r.pipeline}`);
  return lines.join("\n");
}

/** `ferry jobs run <pipeline>`: runs it now in this process (with its retries), recorded in the job history. */
export async function jobsRun(
  name: string,
  flags: JobsFlags,
  print: Print,
  logger: Logger,
): Promise<boolean> {
  const project = await readJobsProject(flags);
  const job = findJob(project.config, name);
  const store = new JobStore(project.dir);
  const alerts = webhookAlerter({
    ...(project.config.alerts.webhook ? { webhook: project.config.alerts.webhook } : {}),
    logger,
  });
  const shutdown = new AbortController();
  const onSignal = () => shutdown.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const paused = await store.paused(name);
    if (paused) logger.warn(`${name}: its schedule is paused (${paused.reason}); running it by hand anyway`);
    const record = await executeJob({
      job,
      trigger: "manual",
      store,
      runner: pipelineRunner(projectTargetLoader(project)),
      alerts,
      clock: systemClock,
      logger,
      shutdown: shutdown.signal,
    });
    await store.prune(name, project.config.keepRuns);
    await alerts.flush();
    print(flags.json ? JSON.stringify(record, null, 2) : formatRecord(record));
    if (paused && record.status === "completed")
      print(`the schedule stays paused: ferry jobs resume ${name}`);
    return record.status === "completed";
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** `ferry jobs pause <pipeline>`: no scheduled runs until resumed (a run under way finishes). */
export async function jobsPause(name: string, flags: JobsFlags, print: Print): Promise<void> {
  const project = await readJobsProject(flags);
  findJob(project.config, name);
  const store = new JobStore(project.dir);
  const record = {
    pipeline: name,
    reason: flags.reason ?? "paused by a user",
    at: new Date().toISOString(),
    by: "user" as const,
  };
  await store.pause(record);
  if (flags.json) return print(JSON.stringify({ pipeline: name, paused: true, reason: record.reason }));
  print(`paused the schedule of ${name}; ferry jobs resume ${name} starts it again`);
}

/** `ferry jobs resume <pipeline>`. */
export async function jobsResume(name: string, flags: JobsFlags, print: Print): Promise<void> {
  const project = await readJobsProject(flags);
  const job = findJob(project.config, name);
  const store = new JobStore(project.dir);
  const before = await store.paused(name);
  await store.resume(name);
  if (flags.json)
    return print(
      JSON.stringify({
        pipeline: name,
        paused: false,
        wasPaused: before !== undefined,
        ...(before ? { reason: before.reason } : {}),
      }),
    );
  if (!before) return print(`${name} was not paused`);
  const next = job.schedule ? `; next run ${describeSchedule(job.schedule)}` : "";
  print(
    `resumed the schedule of ${name} (it was paused: ${before.reason})${next}; ferry jobs run ${name} runs it now`,
  );
}
