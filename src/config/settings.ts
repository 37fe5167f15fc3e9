import { availableParallelism } from "node:os";
import { ConfigError } from "../util/errors.js";
import type { LogLevel } from "../util/log.js";
import { type Environment, environment } from "./environment.js";

/** ferry's own settings, parsed and checked, with their defaults applied. */
export interface Settings {
  /** Log level of pipelines without a `logger` and of the CLI (its `--verbose` means debug). */
  logLevel: LogLevel;
  /** Where pipelines keep their working dirs when `dir` is not given. */
  pipelinesDir: string;
  /** Root resources extracted at once when `extractConcurrency` is not given. */
  extractConcurrency: number;
  /** Whether `run()` normalizes a package while it is being extracted. */
  streamNormalize: boolean;
  /** Normalize worker threads when `normalizeWorkers` is not given (at most the machine's cores). */
  normalizeWorkers: number;
  /** DuckDB memory limit of the duckdb and filesystem destinations (undefined: each one's default). */
  duckdbMemoryLimit: string | undefined;
  /** Threads of the duckdb destination's DuckDB (undefined: DuckDB's default, one per core). */
  duckdbThreads: number | undefined;
  /** Rows per row group of tables the duckdb destination writes to (undefined: DuckDB's default, 122,880). */
  duckdbRowGroupSize: number | undefined;
  /** Threads of the filesystem destination's DuckDB (undefined: DuckDB's default, one per core). */
  fsThreads: number | undefined;
  /** Rows per INSERT the ClickHouse destination sends (each a retryable unit with its own deduplication token). */
  clickhouseInsertBatchRows: number;
  /** The dashboard's access token (`ferry ui`, `/ui` on `ferry serve`); generated when bound off loopback and unset. */
  uiToken: string | undefined;
}

interface Definition<T> {
  variable: string;
  /** The value when the variable is unset or empty. */
  fallback: () => T;
  parse: (raw: string, variable: string) => T;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
const cores = () => Math.max(1, availableParallelism());

function invalid(variable: string, raw: string, expected: string): ConfigError {
  return new ConfigError(`${variable}=${JSON.stringify(raw)} is not valid: ${expected}`, {
    hint: `set ${variable} to ${expected}, or unset it for the default`,
  });
}

function positiveInteger(raw: string, variable: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(variable, raw, "a whole number >= 1");
  return n;
}

const text = (raw: string) => raw;

function flag(raw: string, variable: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw invalid(variable, raw, "1 or 0 (true/false, yes/no, on/off)");
}

function logLevel(raw: string, variable: string): LogLevel {
  const v = raw.trim().toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(v)) throw invalid(variable, raw, `one of ${LOG_LEVELS.join(", ")}`);
  return v;
}

/**
 * Every setting: its variable, its default and how its value is read. docs/configuration.md documents each one
 * (a unit test keeps the two in step).
 */
export const SETTINGS: { readonly [K in keyof Settings]: Definition<Settings[K]> } = {
  logLevel: { variable: "FERRY_LOG_LEVEL", fallback: () => "warn", parse: logLevel },
  pipelinesDir: { variable: "FERRY_PIPELINES_DIR", fallback: () => ".ferry", parse: text },
  extractConcurrency: { variable: "FERRY_EXTRACT_CONCURRENCY", fallback: () => 4, parse: positiveInteger },
  streamNormalize: { variable: "FERRY_STREAM_NORMALIZE", fallback: () => true, parse: flag },
  normalizeWorkers: {
    variable: "FERRY_NORMALIZE_WORKERS",
    fallback: () => Math.min(4, cores()),
    // More threads than cores only adds contention.
    parse: (raw, variable) => Math.min(positiveInteger(raw, variable), cores()),
  },
  duckdbMemoryLimit: { variable: "FERRY_DUCKDB_MEMORY_LIMIT", fallback: () => undefined, parse: text },
  duckdbThreads: { variable: "FERRY_DUCKDB_THREADS", fallback: () => undefined, parse: positiveInteger },
  duckdbRowGroupSize: {
    variable: "FERRY_DUCKDB_ROW_GROUP_SIZE",
    fallback: () => undefined,
    parse: positiveInteger,
  },
  fsThreads: { variable: "FERRY_FS_THREADS", fallback: () => undefined, parse: positiveInteger },
  clickhouseInsertBatchRows: {
    variable: "FERRY_CLICKHOUSE_INSERT_BATCH_ROWS",
    fallback: () => 200_000,
    parse: positiveInteger,
  },
  uiToken: { variable: "FERRY_UI_TOKEN", fallback: () => undefined, parse: text },
};

/**
 * One setting, read from the environment now (so a variable changed at runtime counts). An unset or empty variable
 * gives the default; a value that does not parse is a `ConfigError` naming the variable.
 *
 * @example
 * const dir = options.dir ?? setting("pipelinesDir");
 */
export function setting<K extends keyof Settings>(key: K, env: Environment = environment()): Settings[K] {
  const def = SETTINGS[key] as Definition<Settings[K]>;
  const raw = env[def.variable];
  return raw === undefined || raw.trim() === "" ? def.fallback() : def.parse(raw, def.variable);
}

/**
 * All settings at once (every variable checked).
 *
 * @example
 * settings({ FERRY_EXTRACT_CONCURRENCY: "8" }).extractConcurrency // 8
 */
export function settings(env: Environment = environment()): Settings {
  const out: Partial<Record<keyof Settings, unknown>> = {};
  for (const key of Object.keys(SETTINGS) as (keyof Settings)[]) out[key] = setting(key, env);
  return out as Settings;
}
