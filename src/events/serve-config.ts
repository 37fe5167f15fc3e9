import { ConfigError } from "../util/errors.js";
import { isKafkaLog, parseKafkaLog } from "./kafka/kafka-url.js";
import { parsePluginSpecs } from "./plugins/plugin-config.js";
import type { Project } from "./project.js";

/** `ferry serve`'s settings, after the project file and the flags (flags win). */
export interface ServeConfig {
  host: string;
  port: number;
  /** Where events land (a destination URL). */
  destination: string;
  /** The pipelines' working dir; the event log lives in `<dir>/_serve/log`. */
  dir: string;
  projects: Project[];
  /** Take the client IP from X-Forwarded-For (only behind a proxy you run). */
  trustProxy: boolean;
  /** Partitions of a new event log. */
  partitions: number;
  /** Micro-batches: at most this many events ... */
  batchEvents: number;
  /** ... loaded at least this often (ms). */
  batchIntervalMs: number;
  /** Most events a micro-batch takes when the loader is behind (DuckDB holds a load's rows in memory). */
  catchUpEvents: number;
  /** Loaded log segments are kept this long (ms). */
  retentionMs: number;
  /** Uuids of this many recent events are remembered to drop retried duplicates. */
  dedupWindow: number;
  /** Where relative paths of the project file start (its folder; default: the working directory). */
  baseDir?: string;
  /** How often the status line is logged (ms; 0: never). */
  statusIntervalMs: number;
  /** Person and group processing, and where persons are kept; null: off (events get no person). */
  persons: PersonsConfig | null;
  /** The event log: undefined for the embedded one in `<dir>/_serve/log`, or a `kafka://` URL. */
  log?: string;
  /** What this process runs: capture, ingestion or both (`capture` and `ingest` need a shared log: Kafka). */
  role: ServeRole;
}

/** `ferry serve --role`: the capture API, the loading of events, or both in one process. */
export type ServeRole = "capture" | "ingest" | "all";
export const SERVE_ROLES: readonly ServeRole[] = ["capture", "ingest", "all"];

/**
 * `serve.persons`: the embedded SQLite store (default, one file per project in `<dir>/_serve/persons/`), or a
 * Postgres database that several servers share (`store: postgres://...`, tables in `schema`).
 */
export type PersonsConfig = { store: "sqlite" } | { store: "postgres"; url: string; schema: string };

/** What `ferry serve` takes on its command line. */
export interface ServeFlags {
  host?: string;
  port?: string | number;
  destination?: string;
  dataset?: string;
  token?: string[];
  dir?: string;
  log?: string;
  role?: string;
}

export const SERVE_DEFAULTS = {
  host: "127.0.0.1",
  port: 8010,
  destination: "duckdb:events.duckdb",
  dataset: "posthog",
  partitions: 4,
  batchEvents: 10_000,
  batchIntervalMs: 500,
  catchUpEvents: 30_000,
  retentionMs: 3_600_000,
  dedupWindow: 1_000_000,
  statusIntervalMs: 10_000,
} as const;

const SERVE_KEYS = [
  "host",
  "port",
  "destination",
  "dir",
  "trust_proxy",
  "partitions",
  "batch_events",
  "batch_interval",
  "catch_up_events",
  "retention",
  "dedup_window",
  "status_interval",
  "log",
  "persons",
  "projects",
] as const;
const PROJECT_KEYS = ["token", "dataset", "materialize", "plugins"] as const;

/**
 * `serve:` of the project file (`raw`: the whole file, parsed) plus the flags -> the server's settings. Unknown keys and wrong types are refused with
 * the key named; without a project token the server refuses to start.
 *
 * @example
 * resolveServeConfig({ projects: [{ token: "phc_x", dataset: "web" }] }, { port: "9000" }, ".ferry").port // 9000
 */
export function resolveServeConfig(raw: unknown, flags: ServeFlags, defaultDir: string): ServeConfig {
  const serve = objectAt(objectAt(raw, "the project file").serve, "serve");
  unknownKeys(serve, SERVE_KEYS, "serve");
  const projects = arrayAt(serve.projects ?? [], "serve.projects").map((p, i) =>
    project(p, `serve.projects[${i}]`),
  );
  for (const token of flags.token ?? []) {
    const have = projects.findIndex((p) => p.token === token);
    const dataset =
      flags.dataset ?? (have >= 0 ? projects[have]?.dataset : undefined) ?? SERVE_DEFAULTS.dataset;
    const p: Project = {
      token,
      dataset,
      materialize: have >= 0 ? (projects[have]?.materialize ?? []) : [],
      plugins: have >= 0 ? (projects[have]?.plugins ?? []) : [],
    };
    if (have >= 0) projects[have] = p;
    else projects.push(p);
  }
  if (flags.dataset !== undefined && (flags.token ?? []).length === 0) {
    if (projects.length !== 1)
      throw new ConfigError("--dataset needs --token when the project file lists several projects");
    projects[0] = { ...(projects[0] as Project), dataset: flags.dataset };
  }
  if (projects.length === 0) {
    throw new ConfigError("ferry serve has no project: no token is configured", {
      hint: "pass --token phc_... (your PostHog project API key, or any token your clients send), or list projects in ferry.yaml under serve.projects",
    });
  }
  checkDistinct(projects);
  const port = Number(flags.port ?? serve.port ?? SERVE_DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`port must be a number 0..65535, not ${JSON.stringify(flags.port ?? serve.port)}`);
  const log = logConfig(flags.log ?? serve.log);
  const role = str(flags.role ?? "all", "--role");
  if (!(SERVE_ROLES as readonly string[]).includes(role))
    throw new ConfigError(`--role must be capture, ingest or all, not ${JSON.stringify(role)}`);
  if (role !== "all" && log === undefined)
    throw new ConfigError(`ferry serve --role ${role} needs a shared event log`, {
      hint: "set serve.log: kafka://host:9092 in ferry.yaml (or --log kafka://host:9092): the embedded log is read by the process that writes it, so it runs capture and ingestion together (--role all)",
    });
  if (log !== undefined && serve.persons !== undefined && serve.persons !== false)
    throw new ConfigError("person processing does not work with a Kafka log yet", {
      hint: "set serve.persons: false (events get person_id null), or use the embedded log",
    });
  return {
    log,
    role: role as ServeRole,
    host: str(flags.host ?? serve.host ?? SERVE_DEFAULTS.host, "serve.host"),
    port,
    destination: str(
      flags.destination ?? serve.destination ?? SERVE_DEFAULTS.destination,
      "serve.destination",
    ),
    dir: str(flags.dir ?? serve.dir ?? defaultDir, "serve.dir"),
    projects,
    trustProxy: bool(serve.trust_proxy ?? false, "serve.trust_proxy"),
    partitions: int(serve.partitions ?? SERVE_DEFAULTS.partitions, "serve.partitions", 1, 256),
    batchEvents: int(serve.batch_events ?? SERVE_DEFAULTS.batchEvents, "serve.batch_events", 1, 1_000_000),
    batchIntervalMs: duration(serve.batch_interval ?? SERVE_DEFAULTS.batchIntervalMs, "serve.batch_interval"),
    catchUpEvents: int(
      serve.catch_up_events ?? SERVE_DEFAULTS.catchUpEvents,
      "serve.catch_up_events",
      1,
      10_000_000,
    ),
    retentionMs: duration(serve.retention ?? SERVE_DEFAULTS.retentionMs, "serve.retention"),
    dedupWindow: int(serve.dedup_window ?? SERVE_DEFAULTS.dedupWindow, "serve.dedup_window", 1, 100_000_000),
    statusIntervalMs: duration(
      serve.status_interval ?? SERVE_DEFAULTS.statusIntervalMs,
      "serve.status_interval",
    ),
    // Persons are kept per server and matched to the embedded log's positions: not with Kafka (checked above).
    persons: log === undefined ? personsConfig(serve.persons) : null,
  };
}

/** `serve.log` / `--log`: absent or `embedded` for the log in the working dir, or a `kafka://` URL (checked here). */
function logConfig(raw: unknown): string | undefined {
  if (raw === undefined || raw === "embedded") return undefined;
  const url = str(raw, "serve.log").trim();
  if (!isKafkaLog(url))
    throw new ConfigError(`serve.log must be embedded or a kafka:// URL, not ${JSON.stringify(url)}`, {
      hint: "log: kafka://host:9092[,host2:9092] shares the events between capture and ingest processes",
    });
  parseKafkaLog(url);
  return url;
}

/** `serve.persons`: absent or true (SQLite), false (off), or `{ store, schema }`. */
function personsConfig(raw: unknown): PersonsConfig | null {
  if (raw === undefined || raw === true) return { store: "sqlite" };
  if (raw === false) return null;
  const o = objectAt(raw, "serve.persons");
  unknownKeys(o, ["store", "schema"], "serve.persons");
  const store = str(o.store ?? "sqlite", "serve.persons.store");
  if (store === "sqlite") {
    if (o.schema !== undefined) throw new ConfigError("serve.persons.schema is for a Postgres store only");
    return { store: "sqlite" };
  }
  if (/^postgres(ql)?:\/\//.test(store)) {
    return {
      store: "postgres",
      url: store,
      schema: str(o.schema ?? "ferry_persons", "serve.persons.schema"),
    };
  }
  throw new ConfigError(
    `serve.persons.store must be sqlite or a postgres:// URL, not ${JSON.stringify(store)}`,
    {
      hint: "persons: { store: postgres://user:password@host:5432/db } shares persons between servers; persons: false turns person processing off",
    },
  );
}

function project(raw: unknown, where: string): Project {
  const o = objectAt(raw, where);
  unknownKeys(o, PROJECT_KEYS, where);
  const token = str(o.token, `${where}.token`).trim();
  if (token === "") throw new ConfigError(`${where}.token is empty`);
  const dataset = str(o.dataset ?? SERVE_DEFAULTS.dataset, `${where}.dataset`);
  const materialize = arrayAt(o.materialize ?? [], `${where}.materialize`).map((m, i) =>
    str(m, `${where}.materialize[${i}]`),
  );
  const plugins = parsePluginSpecs(o.plugins, `${where}.plugins`);
  return { token, dataset, materialize, plugins };
}

function checkDistinct(projects: Project[]): void {
  const seen = new Map<string, string>();
  for (const p of projects) {
    if (seen.has(`t:${p.token}`)) throw new ConfigError(`two projects have the token ${p.token}`);
    const other = seen.get(`d:${p.dataset}`);
    if (other !== undefined) {
      throw new ConfigError(`two projects load into the dataset "${p.dataset}"`, {
        hint: "give each project a dataset of its own (serve.projects[].dataset)",
      });
    }
    seen.set(`t:${p.token}`, p.dataset);
    seen.set(`d:${p.dataset}`, p.token);
  }
}

/**
 * A duration: a number of milliseconds, or text like `500ms`, `30s`, `5m`, `1h`, `2d`.
 *
 * @example
 * parseDuration("5m") // 300000
 */
export function parseDuration(value: unknown, where: string): number {
  return duration(value, where);
}

function duration(value: unknown, where: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value) : null;
  if (!m)
    throw new ConfigError(
      `${where} must be a duration like 500ms, 30s, 5m, 1h or 2d, not ${JSON.stringify(value)}`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms"];
  return Math.round(Number(m[1]) * unit);
}

function objectAt(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

function arrayAt(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list`);
  return value;
}

function unknownKeys(o: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k))
      throw new ConfigError(`${where}.${k} is not a setting ferry knows`, {
        hint: `known: ${known.join(", ")}`,
      });
  }
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string") throw new ConfigError(`${where} must be text, not ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== "boolean")
    throw new ConfigError(`${where} must be true or false, not ${JSON.stringify(v)}`);
  return v;
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(`${where} must be a whole number ${min}..${max}, not ${JSON.stringify(v)}`);
  return v;
}
