/**
 * PostHog's timestamp rules (P/rust/common/types/src/timestamp.rs): what time an event happened, given the server's
 * `now`, the client's `sent_at` and the event's `timestamp` or `offset`.
 */

/** Events may not claim to be more than 23 hours in the future (PostHog's `event_timestamp_in_future`). */
export const FUTURE_LIMIT_MS = 23 * 60 * 60 * 1000;

// date, then optional time (`T` or space), optional fraction of any length, optional zone (Z, +03, +0300, +03:00).
// A time without a zone is UTC, as in PostHog (a server's local time would make the result depend on the host).
const ISO =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|(?:UTC|GMT)|([+-])(\d{2}):?(\d{2})?)?$/;
const NUMERIC = /^-?\d+(?:\.\d+)?$/;

/**
 * Milliseconds since the epoch for a client-sent time, or undefined when it cannot be read. Accepts ISO 8601 / RFC 3339
 * (any fraction length, `Z`, `+03`, `+0300`, `+03:00`, a space for the `T`, no zone = UTC), dates alone, slashes,
 * RFC 2822 (`Tue, 1 Jul 2003 10:52:37 +0200`), and numbers as epoch seconds or milliseconds (more than 11 digits).
 * Years outside 0..9999 are refused, as in PostHog.
 *
 * @example
 * parseClientTime("2023-09-15T09:15:02.325Z"); // 1694769302325
 * parseClientTime("2023-09-15 09:15:02");      // the same second, read as UTC
 */
export function parseClientTime(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? checkYear(epochNumber(value)) : undefined;
  if (typeof value !== "string") return undefined;
  const s = value.trim();
  if (s === "") return undefined;
  const m = ISO.exec(s);
  if (m) return checkYear(fromIsoMatch(m));
  if (NUMERIC.test(s)) return checkYear(epochNumber(Number(s)));
  // RFC 2822 and other forms that name their zone; V8 reads these the same on every host
  if (/[a-zA-Z]{3}/.test(s) && /(?:[+-]\d{4}|GMT|UTC|Z)\s*$/.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : checkYear(t);
  }
  return undefined;
}

function fromIsoMatch(m: RegExpExecArray): number | undefined {
  const [, y, mo, d, h, mi, sec, frac, , sign, zh, zm] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = sec === undefined ? 0 : Number(sec);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return undefined;
  // setUTCFullYear takes years 0..99 as they are (Date.UTC would read them as 1900..1999)
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  if (date.getUTCDate() !== day) return undefined; // "February 31" rolls into March: not a date
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, "0"));
  let t = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  if (sign !== undefined) {
    const offset = (Number(zh) * 60 + (zm === undefined ? 0 : Number(zm))) * 60_000;
    t += sign === "+" ? -offset : offset;
  }
  return t;
}

function epochNumber(n: number): number {
  // dateparser's rule: more than 11 digits (after 1973 in ms, or year 5138+ in seconds) means milliseconds
  return Math.abs(n) >= 1e11 ? Math.round(n) : Math.round(n * 1000);
}

const MIN_MS = new Date(0).setUTCFullYear(0, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function checkYear(t: number | undefined): number | undefined {
  if (t === undefined || Number.isNaN(t)) return undefined;
  return t >= MIN_MS && t <= MAX_MS ? t : undefined;
}

/** What the rules need from an event and its request. */
export interface TimeInputs {
  /** The server's clock when the request arrived (ms). */
  now: number;
  /** The event's `timestamp` as sent (string or number), if any. */
  timestamp?: unknown;
  /** The event's `offset` in ms, if sent (0 counts: Rust's rule, not the TS one that treats 0 as absent). */
  offset?: number;
  /** The request's `sent_at` (ms), if known and not ignored for this event (`$ignore_sent_at`). */
  sentAt?: number;
}

/** The event's time and, when a rule had to override what the client sent, why. */
export interface ResolvedTime {
  ms: number;
  warning?: { type: "event_timestamp_in_future" | "ignored_invalid_timestamp"; message: string };
}

/**
 * The event's time: `now - offset` when an offset was sent; else `now + (timestamp - sent_at)` when both were sent;
 * else `timestamp`; else `now`. A result more than 23 hours ahead of `now`, or a timestamp that cannot be read, becomes
 * `now` with a warning.
 *
 * @example
 * const now = Date.parse("2026-01-01T12:00:00Z");
 * resolveTimestamp({ now, timestamp: "2026-01-01T11:00:00Z", sentAt: Date.parse("2026-01-01T12:00:10Z") });
 * // { ms: Date.parse("2026-01-01T10:59:50Z") }
 */
export function resolveTimestamp(input: TimeInputs): ResolvedTime {
  const { now } = input;
  let ms: number;
  if (input.offset !== undefined) {
    ms = now - input.offset;
  } else if (input.timestamp !== undefined && input.timestamp !== null) {
    const ts = parseClientTime(input.timestamp);
    if (ts === undefined) {
      return {
        ms: now,
        warning: {
          type: "ignored_invalid_timestamp",
          message: `timestamp ${describe(input.timestamp)} is not a date and time that can be read; using the time it was received`,
        },
      };
    }
    ms = input.sentAt !== undefined ? now + (ts - input.sentAt) : ts;
  } else {
    return { ms: now };
  }
  if (ms - now > FUTURE_LIMIT_MS) {
    return {
      ms: now,
      warning: {
        type: "event_timestamp_in_future",
        message: `timestamp ${safeIso(ms)} is more than 23 hours after the time it was received; using the time it was received`,
      },
    };
  }
  if (!(ms >= MIN_MS && ms <= MAX_MS)) {
    return {
      ms: now,
      warning: {
        type: "ignored_invalid_timestamp",
        message: "the computed timestamp is outside years 0..9999; using the time it was received",
      },
    };
  }
  return { ms };
}

function safeIso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

function describe(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
