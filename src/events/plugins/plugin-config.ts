import { basename, dirname, extname } from "node:path";
import { ConfigError } from "../../util/errors.js";

/** What a plugin does with an event its `processEvent` failed on (threw, timed out, ran out of memory). */
export type OnError = "pass" | "drop" | "dead_letter";

/**
 * One entry of `serve.projects[].plugins` in `ferry.yaml`, checked and with its defaults.
 *
 * @example
 * { module: "./plugins/drop-email.ts", name: "drop-email", config: { property: "email" }, onError: "pass",
 *   allowedHosts: [], timeoutMs: 1000, memoryMb: 128, retries: { attempts: 8, backoffMs: 1000 }, deliveryTimeoutMs: 10000 }
 */
export interface PluginSpec {
  /** As written: a path to a JS/TS module (relative to the project file), or `ferry:<name>` for a bundled plugin. */
  readonly module: string;
  /** Unique in its project: its storage, export position and `plugin_errors` rows go by it. */
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly onError: OnError;
  /** Hosts `meta.fetch` and `composeWebhook` may reach (`api.example.com`, `*.example.com`). */
  readonly allowedHosts: readonly string[];
  /** The time limit of one call (one event's processEvent, onEvent or composeWebhook). */
  readonly timeoutMs: number;
  /** The memory limit of the plugin's sandbox (MB). */
  readonly memoryMb: number;
  /** Export deliveries (onEvent, composeWebhook): attempts before the event goes to the dead letters, first backoff. */
  readonly retries: { readonly attempts: number; readonly backoffMs: number };
  /** The time limit of one webhook request. */
  readonly deliveryTimeoutMs: number;
}

export const PLUGIN_DEFAULTS = {
  onError: "pass",
  timeoutMs: 1000,
  memoryMb: 128,
  attempts: 8,
  backoffMs: 1000,
  deliveryTimeoutMs: 10_000,
} as const;

const KEYS = [
  "module",
  "name",
  "config",
  "on_error",
  "allowed_hosts",
  "timeout",
  "memory",
  "retries",
  "delivery_timeout",
] as const;
const ON_ERROR: readonly OnError[] = ["pass", "drop", "dead_letter"];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HOST =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$/;

/**
 * `serve.projects[i].plugins` -> checked plugin specs, in order. Unknown keys and wrong values are refused with the
 * key named; two plugins of a project may not share a name.
 *
 * @example
 * parsePluginSpecs([{ module: "ferry:property-filter", config: { properties: ["email"] } }], "serve.projects[0].plugins")
 */
export function parsePluginSpecs(raw: unknown, where: string): PluginSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${where} must be a list`);
  const specs = raw.map((entry, i) => parseSpec(entry, `${where}[${i}]`));
  const seen = new Set<string>();
  for (const [i, s] of specs.entries()) {
    if (seen.has(s.name)) {
      throw new ConfigError(`${where}[${i}]: two plugins of the project are named "${s.name}"`, {
        hint: "give one of them a name of its own (name: ...)",
      });
    }
    seen.add(s.name);
  }
  return specs;
}

function parseSpec(raw: unknown, where: string): PluginSpec {
  if (typeof raw === "string") raw = { module: raw };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping with a module`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(k))
      throw new ConfigError(`${where}.${k} is not a plugin setting ferry knows`, {
        hint: `known: ${KEYS.join(", ")}`,
      });
  }
  if (typeof o.module !== "string" || o.module.trim() === "")
    throw new ConfigError(`${where}.module must be a path to a JS/TS module or ferry:<bundled plugin>`);
  const module = o.module.trim();
  const name = o.name === undefined ? defaultName(module) : o.name;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ConfigError(
      `${where}.name must be 1-64 letters, digits, '_', '.' or '-', not ${JSON.stringify(name)}`,
      { hint: o.name === undefined ? "set name: for this plugin" : undefined },
    );
  }
  const config = o.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new ConfigError(`${where}.config must be a mapping`);
  const onError = o.on_error ?? PLUGIN_DEFAULTS.onError;
  if (!ON_ERROR.includes(onError as OnError))
    throw new ConfigError(
      `${where}.on_error must be one of ${ON_ERROR.join(", ")}, not ${JSON.stringify(onError)}`,
    );
  const hosts = o.allowed_hosts ?? [];
  if (!Array.isArray(hosts)) throw new ConfigError(`${where}.allowed_hosts must be a list of host names`);
  const allowedHosts = hosts.map((h, i) => {
    if (typeof h !== "string" || !HOST.test(h.trim()))
      throw new ConfigError(
        `${where}.allowed_hosts[${i}] must be a host name like api.example.com or *.example.com, not ${JSON.stringify(h)}`,
      );
    return h.trim().toLowerCase();
  });
  return {
    module,
    name,
    config: structuredClone(config as Record<string, unknown>),
    onError: onError as OnError,
    allowedHosts,
    timeoutMs: durationMs(o.timeout ?? PLUGIN_DEFAULTS.timeoutMs, `${where}.timeout`, 1, 600_000),
    memoryMb: megabytes(o.memory ?? PLUGIN_DEFAULTS.memoryMb, `${where}.memory`),
    retries: retries(o.retries, `${where}.retries`),
    deliveryTimeoutMs: durationMs(
      o.delivery_timeout ?? PLUGIN_DEFAULTS.deliveryTimeoutMs,
      `${where}.delivery_timeout`,
      1,
      600_000,
    ),
  };
}

/** `ferry:user-agent` -> `user-agent`; `./plugins/drop-email.ts` -> `drop-email`; `./geoip/index.ts` -> `geoip`. */
function defaultName(module: string): string {
  if (module.startsWith("ferry:")) return module.slice("ferry:".length);
  const base = basename(module, extname(module));
  return base === "index" ? basename(dirname(module)) : base;
}

function retries(raw: unknown, where: string): PluginSpec["retries"] {
  if (raw === undefined) return { attempts: PLUGIN_DEFAULTS.attempts, backoffMs: PLUGIN_DEFAULTS.backoffMs };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping: { attempts, backoff }`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== "attempts" && k !== "backoff")
      throw new ConfigError(`${where}.${k} is not a setting ferry knows`, {
        hint: "known: attempts, backoff",
      });
  }
  const attempts = o.attempts ?? PLUGIN_DEFAULTS.attempts;
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 1 || attempts > 1000)
    throw new ConfigError(
      `${where}.attempts must be a whole number 1..1000, not ${JSON.stringify(attempts)}`,
    );
  return {
    attempts,
    backoffMs: durationMs(o.backoff ?? PLUGIN_DEFAULTS.backoffMs, `${where}.backoff`, 0, 3_600_000),
  };
}

/** A number of milliseconds, or text like `500ms`, `2s`, `1m`. */
function durationMs(value: unknown, where: string, min: number, max: number): number {
  let ms: number | undefined;
  if (typeof value === "number" && Number.isFinite(value)) ms = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (m) ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"];
  }
  if (ms === undefined || ms < min || ms > max)
    throw new ConfigError(
      `${where} must be a duration like 500ms, 2s or 1m (${min} ms to ${max / 60_000} minutes), not ${JSON.stringify(value)}`,
    );
  return Math.round(ms);
}

/** A number of MB, or text like `64MB`, `1GB`. */
function megabytes(value: unknown, where: string): number {
  let mb: number | undefined;
  if (typeof value === "number" && Number.isFinite(value)) mb = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(MB|GB|M|G)\s*$/i.exec(value);
    if (m) mb = Number(m[1]) * (m[2]?.toUpperCase().startsWith("G") ? 1024 : 1);
  }
  if (mb === undefined || mb < 8 || mb > 4096)
    throw new ConfigError(
      `${where} must be a size from 8MB to 4GB (like 64MB), not ${JSON.stringify(value)}`,
    );
  return Math.round(mb);
}
