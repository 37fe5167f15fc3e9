import { dirname, isAbsolute, resolve } from "node:path";
import { parseDuration } from "../events/serve-config.js";
import { ConfigError } from "../util/errors.js";
import { redactSecrets } from "../util/log.js";
import { parseSchedule, type ScheduleSpec } from "./schedule.js";

/** How a failed run is retried when its error is transient. */
export interface JobRetries {
  /** Attempts in all, the first one included. */
  readonly attempts: number;
  /** Wait before the second attempt; doubles for each one after. */
  readonly backoffMs: number;
}

/** One entry of the project file's `pipelines:` list. */
export interface PipelineJob {
  /** The pipeline's name (it names the working dir, the schedule and the job history; it wins over the spec's). */
  readonly name: string;
  /** Absolute path of a YAML/JSON pipeline spec (as `ferry run` takes it) ... */
  readonly spec?: string;
  /** ... or of a TS/JS module. */
  readonly module?: string;
  /** Overrides of the spec's/module's destination and dataset (one spec, many pipelines). */
  readonly destination?: string;
  readonly dataset?: string;
  /** Without one the pipeline runs only when asked (`ferry jobs run`). */
  readonly schedule?: ScheduleSpec;
  readonly retries: JobRetries;
  /** A run taking longer is stopped and fails. */
  readonly timeoutMs: number;
}

/** The project file's `alerts:` section. */
export interface AlertsConfig {
  /** Called (POST, JSON) when a job fails or a schedule is paused. */
  readonly webhook?: string;
}

/** What the project file says about pipelines, their schedules and alerts. */
export interface JobsConfig {
  readonly pipelines: readonly PipelineJob[];
  readonly alerts: AlertsConfig;
  /** Runs at once across pipelines (the embedded scheduler; Temporal workers have their own limit). */
  readonly concurrency: number;
  /** Job records kept per pipeline (older ones are deleted). */
  readonly keepRuns: number;
}

export const JOB_DEFAULTS = {
  retries: { attempts: 3, backoffMs: 30_000 },
  timeoutMs: 24 * 3_600_000,
  concurrency: 4,
  keepRuns: 200,
} as const;

const PIPELINE_KEYS = [
  "name",
  "spec",
  "module",
  "destination",
  "dataset",
  "schedule",
  "retries",
  "timeout",
] as const;
const RETRY_KEYS = ["attempts", "backoff"] as const;
const ALERT_KEYS = ["webhook"] as const;
const SCHEDULER_KEYS = ["concurrency", "history"] as const;

/**
 * Reads `pipelines:`, `alerts:` and `scheduler:` of a parsed project file. Relative `spec`/`module` paths are taken
 * from the project file's folder (`baseDir`). Unknown keys and wrong values are refused with their place named.
 *
 * @example
 * parseJobsConfig({ pipelines: [{ name: "crm", spec: "./crm.yaml", schedule: { every: "6h" } }] }, "/srv/app")
 *   .pipelines[0].schedule // { every: 21600000, timezone: "UTC", jitterMs: 0 }
 */
export function parseJobsConfig(raw: unknown, baseDir: string): JobsConfig {
  const file = mapping(raw, "the project file");
  const list = file.pipelines ?? [];
  if (!Array.isArray(list))
    throw new ConfigError("pipelines must be a list of { name, spec | module, schedule }");
  const pipelines = list.map((p, i) => pipelineJob(p, `pipelines[${i}]`, baseDir));
  const seen = new Set<string>();
  for (const p of pipelines) {
    if (seen.has(p.name))
      throw new ConfigError(`two pipelines are named "${p.name}"`, {
        hint: "give each pipeline its own name",
      });
    seen.add(p.name);
  }
  const alerts = mapping(file.alerts, "alerts");
  known(alerts, ALERT_KEYS, "alerts");
  const scheduler = mapping(file.scheduler, "scheduler");
  known(scheduler, SCHEDULER_KEYS, "scheduler");
  return {
    pipelines,
    alerts: alerts.webhook === undefined ? {} : { webhook: webhookUrl(alerts.webhook) },
    concurrency: int(scheduler.concurrency ?? JOB_DEFAULTS.concurrency, "scheduler.concurrency", 1, 10_000),
    keepRuns: int(scheduler.history ?? JOB_DEFAULTS.keepRuns, "scheduler.history", 1, 1_000_000),
  };
}

/** The project file's folder: relative paths in it are taken from there. */
export function projectBaseDir(projectFile: string | undefined): string {
  return projectFile === undefined ? process.cwd() : dirname(resolve(projectFile));
}

/** The pipeline of that name, or a ConfigError listing the known ones. */
export function findJob(config: JobsConfig, name: string): PipelineJob {
  const job = config.pipelines.find((p) => p.name === name);
  if (job) return job;
  const names = config.pipelines.map((p) => p.name);
  throw new ConfigError(`no pipeline "${name}" in the project file`, {
    hint:
      names.length > 0
        ? `pipelines: ${names.join(", ")}`
        : "list it under pipelines: in ferry.yaml (or pass --config <file>)",
  });
}

function pipelineJob(raw: unknown, where: string, baseDir: string): PipelineJob {
  const o = mapping(raw, where);
  known(o, PIPELINE_KEYS, where);
  const name = text(o.name, `${where}.name`);
  if (!/^[\w.-]+$/.test(name))
    throw new ConfigError(`${where}.name ${JSON.stringify(name)} is not a valid pipeline name`, {
      hint: "use letters, digits, '_', '-' and '.'",
    });
  const at = `pipelines "${name}"`;
  if ((o.spec === undefined) === (o.module === undefined))
    throw new ConfigError(
      `${at} needs exactly one of spec (a YAML/JSON pipeline spec) or module (a TS/JS file)`,
    );
  const path = (v: unknown, key: string) => {
    const p = text(v, `${at}.${key}`);
    return isAbsolute(p) ? p : resolve(baseDir, p);
  };
  const retries = mapping(o.retries, `${at}.retries`);
  known(retries, RETRY_KEYS, `${at}.retries`);
  return {
    name,
    ...(o.spec !== undefined ? { spec: path(o.spec, "spec") } : {}),
    ...(o.module !== undefined ? { module: path(o.module, "module") } : {}),
    ...(o.destination !== undefined ? { destination: text(o.destination, `${at}.destination`) } : {}),
    ...(o.dataset !== undefined ? { dataset: text(o.dataset, `${at}.dataset`) } : {}),
    ...(o.schedule !== undefined ? { schedule: parseSchedule(o.schedule, `${at}.schedule`) } : {}),
    retries: {
      attempts: int(retries.attempts ?? JOB_DEFAULTS.retries.attempts, `${at}.retries.attempts`, 1, 100),
      backoffMs: parseDuration(retries.backoff ?? JOB_DEFAULTS.retries.backoffMs, `${at}.retries.backoff`),
    },
    timeoutMs: positive(parseDuration(o.timeout ?? JOB_DEFAULTS.timeoutMs, `${at}.timeout`), `${at}.timeout`),
  };
}

function webhookUrl(v: unknown): string {
  const url = text(v, "alerts.webhook");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`alerts.webhook is not a URL: ${redactSecrets(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new ConfigError(`alerts.webhook must be an http(s) URL, not ${parsed.protocol}`);
  return url;
}

function mapping(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new ConfigError(`${where} must be a mapping`);
  return v as Record<string, unknown>;
}

function known(o: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k))
      throw new ConfigError(`${where}.${k} is not a setting ferry knows`, {
        hint: `known: ${keys.join(", ")}`,
      });
  }
}

function text(v: unknown, where: string): string {
  if (typeof v !== "string" || v.trim() === "")
    throw new ConfigError(`${where} must be text, not ${JSON.stringify(v)}`);
  return v;
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(`${where} must be a whole number ${min}..${max}, not ${JSON.stringify(v)}`);
  return v;
}

function positive(ms: number, where: string): number {
  if (ms <= 0) throw new ConfigError(`${where} must be longer than 0`);
  return ms;
}
