import { Cron } from "croner";
import { parseDuration } from "../events/serve-config.js";
import { ConfigError } from "../util/errors.js";

/**
 * When a pipeline runs: every fixed interval (slots at whole multiples of it since the Unix epoch, as Temporal's
 * interval schedules), or at the times of a 5-field cron expression in a time zone; each slot delayed by up to
 * `jitterMs` so that many pipelines on one interval do not all start at once.
 */
export interface ScheduleSpec {
  readonly everyMs?: number;
  readonly cron?: string;
  /** IANA time zone of `cron` (default UTC). */
  readonly timezone: string;
  readonly jitterMs: number;
}

const SCHEDULE_KEYS = ["every", "cron", "timezone", "jitter"];

/**
 * `schedule:` of a pipeline: `{ every: 6h }` or `{ cron: "0 *\/6 * * *", timezone: UTC }`, plus `jitter: 5m`.
 *
 * @example
 * parseSchedule({ every: "6h", jitter: "5m" }, "schedule") // { everyMs: 21600000, timezone: "UTC", jitterMs: 300000 }
 */
export function parseSchedule(raw: unknown, where: string): ScheduleSpec {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping like { every: 6h } or { cron: "0 */6 * * *" }`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!SCHEDULE_KEYS.includes(k))
      throw new ConfigError(`${where}.${k} is not a setting ferry knows`, {
        hint: `known: ${SCHEDULE_KEYS.join(", ")}`,
      });
  }
  if ((o.every === undefined) === (o.cron === undefined))
    throw new ConfigError(
      `${where} needs exactly one of every (an interval like 6h) or cron (like "0 */6 * * *")`,
    );
  const timezone = o.timezone === undefined ? "UTC" : String(o.timezone);
  if (!validTimeZone(timezone))
    throw new ConfigError(`${where}.timezone ${JSON.stringify(o.timezone)} is not a time zone`, {
      hint: "use an IANA name such as UTC, Europe/Berlin or America/New_York",
    });
  const jitterMs = parseDuration(o.jitter ?? 0, `${where}.jitter`);
  if (o.every !== undefined) {
    const everyMs = parseDuration(o.every, `${where}.every`);
    if (everyMs < 1000) throw new ConfigError(`${where}.every must be at least 1s`);
    if (o.timezone !== undefined)
      throw new ConfigError(
        `${where}.timezone applies to cron schedules only (every counts from the Unix epoch)`,
      );
    if (jitterMs >= everyMs) throw new ConfigError(`${where}.jitter must be shorter than every`);
    return { everyMs, timezone, jitterMs };
  }
  const cron = String(o.cron).trim();
  if (cron.split(/\s+/).length !== 5)
    throw new ConfigError(
      `${where}.cron ${JSON.stringify(o.cron)} must have 5 fields: minute hour day month weekday`,
    );
  try {
    new Cron(cron, { timezone, paused: true }).nextRun(new Date(0));
  } catch (err) {
    throw new ConfigError(
      `${where}.cron ${JSON.stringify(o.cron)} is not a cron expression: ${(err as Error).message}`,
    );
  }
  return { cron, timezone, jitterMs };
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const crons = new Map<string, Cron>();

/**
 * The first slot strictly after `afterMs` (undefined when a cron expression has no more: e.g. a date in the past).
 * Slots are the schedule's times without jitter.
 *
 * @example
 * nextSlot({ everyMs: 3_600_000, timezone: "UTC", jitterMs: 0 }, Date.parse("2026-01-01T10:20:00Z")) // 11:00
 */
export function nextSlot(spec: ScheduleSpec, afterMs: number): number | undefined {
  if (spec.everyMs !== undefined) return (Math.floor(afterMs / spec.everyMs) + 1) * spec.everyMs;
  const key = `${spec.timezone} ${spec.cron}`;
  let cron = crons.get(key);
  if (!cron) {
    cron = new Cron(spec.cron as string, { timezone: spec.timezone, paused: true });
    crons.set(key, cron);
  }
  return cron.nextRun(new Date(afterMs))?.getTime();
}

/** The latest slot at or before `atMs` that is not before `notBeforeMs`, if any (the slot a restart missed). */
export function latestSlotBetween(spec: ScheduleSpec, notBeforeMs: number, atMs: number): number | undefined {
  if (spec.everyMs !== undefined) {
    const s = Math.floor(atMs / spec.everyMs) * spec.everyMs;
    return s >= notBeforeMs ? s : undefined;
  }
  let found: number | undefined;
  // Cron slots are walked forward from the last one seen: bounded, a restart after a long downtime walks at most
  // a year of them.
  let t = nextSlot(spec, notBeforeMs - 1);
  for (let i = 0; t !== undefined && t <= atMs && i < 600_000; i++) {
    found = t;
    t = nextSlot(spec, t);
  }
  return found;
}

/**
 * How long after its slot a pipeline's run starts: spread over [0, jitter) by a hash of the pipeline and the slot,
 * so pipelines on one interval spread out, and a restart computes the same time again.
 */
export function jitterFor(pipeline: string, slotMs: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let h = 2166136261;
  for (const ch of `${pipeline}@${slotMs}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % Math.max(1, Math.floor(jitterMs));
}

/** The schedule in words, for listings: `every 6h (jitter 5m)`, `cron "0 3 * * *" Europe/Berlin`. */
export function describeSchedule(spec: ScheduleSpec | undefined): string {
  if (!spec) return "manual";
  const base =
    spec.everyMs !== undefined
      ? `every ${formatDuration(spec.everyMs)}`
      : `cron "${spec.cron}" ${spec.timezone}`;
  return spec.jitterMs > 0 ? `${base} (jitter ${formatDuration(spec.jitterMs)})` : base;
}

/** `90000` -> `1m30s`; `21600000` -> `6h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let s = Math.round(ms / 1000);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join("");
}
