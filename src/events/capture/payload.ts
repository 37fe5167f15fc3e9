import { CaptureRejection } from "../event.js";
import { MAX_JSON_DEPTH, mayHoldSurrogates, nestingExceeds, repairSurrogates } from "./json-guards.js";
import { parseClientTime } from "./timestamps.js";

/** A raw event as the client sent it (one element of the array or batch, or the single event). */
export type RawEvent = Record<string, unknown>;

/** The request's events and what the request says about all of them. */
export interface RequestShape {
  events: RawEvent[];
  /** The batch object's `api_key`/`token`, which wins over the events' own. */
  batchToken?: unknown;
  /** The batch object's `sent_at` (or python's `sentAt`), in ms, when it can be read. */
  sentAt?: number;
  historicalMigration: boolean;
}

/**
 * Parses the request's JSON text once, refusing nesting deeper than 128 levels (PostHog's limit) and repairing lone
 * surrogates. Throws a 400 that says what is wrong.
 *
 * @example
 * parseJson('[{"event":"x"}]'); // [{ event: "x" }]
 */
export function parseJson(text: string): unknown {
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    throw new CaptureRejection(
      400,
      "too_deep",
      `the JSON nests deeper than ${MAX_JSON_DEPTH} levels; flatten the properties that nest this deep`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = (e as Error).message;
    throw new CaptureRejection(400, "invalid_payload", `the payload is not valid JSON: ${clip(why, 200)}`);
  }
  return mayHoldSurrogates(text) ? repairSurrogates(value) : value;
}

/**
 * The three shapes PostHog's capture accepts, tried in its order: an array of events (posthog-js), a batch object
 * `{api_key|token, batch, sent_at|sentAt, historical_migration}` (posthog-node, posthog-python), or one event.
 *
 * @example
 * requestShape({ api_key: "phc_x", batch: [{ event: "e", distinct_id: "u" }], sent_at: "2026-01-01T00:00:00Z" });
 * // { events: [...], batchToken: "phc_x", sentAt: 1767225600000, historicalMigration: false }
 */
export function requestShape(value: unknown): RequestShape {
  let events: unknown[];
  const shape: RequestShape = { events: [], historicalMigration: false };
  if (Array.isArray(value)) {
    events = value;
  } else if (isObject(value) && "batch" in value) {
    if (!Array.isArray(value.batch)) {
      throw new CaptureRejection(400, "invalid_payload", "`batch` must be an array of events");
    }
    events = value.batch;
    shape.batchToken = value.api_key ?? value.token;
    shape.sentAt = parseClientTime(value.sent_at ?? value.sentAt);
    shape.historicalMigration = value.historical_migration === true;
  } else if (isObject(value)) {
    events = [value];
  } else {
    throw new CaptureRejection(
      400,
      "invalid_payload",
      "the payload must be an event object, an array of events, or {api_key, batch: [...]}",
    );
  }
  if (events.length === 0) throw new CaptureRejection(400, "empty_batch", "the request holds no events");
  for (let i = 0; i < events.length; i++) {
    if (!isObject(events[i])) {
      throw new CaptureRejection(
        400,
        "invalid_event",
        `${eventLabel(i, events.length)} is not a JSON object`,
      );
    }
  }
  shape.events = events as RawEvent[];
  return shape;
}

/**
 * The request's project token, validated: the batch's `api_key`/`token` wins; else the events' `token`, `$token`,
 * `api_key` or `properties.token`, which must agree (events without one take it). Throws a 401 when there is none,
 * when events disagree, or when it fails PostHog's shape check (`validateToken`).
 *
 * @example
 * requestToken({ events: [{ properties: { token: "phc_a" } }], historicalMigration: false }); // "phc_a"
 */
export function requestToken(shape: RequestShape): string {
  let token: string | undefined;
  if (shape.batchToken !== undefined && shape.batchToken !== null) {
    if (typeof shape.batchToken !== "string") throw invalidToken("the batch's api_key must be a string");
    token = shape.batchToken;
  } else {
    for (const event of shape.events) {
      const t = eventToken(event);
      if (t === undefined) continue;
      if (token === undefined) token = t;
      else if (t !== token && t.trim() !== token.trim()) {
        throw new CaptureRejection(
          401,
          "multiple_tokens",
          "the events of this request carry different project tokens; send each project's events in its own request",
        );
      }
    }
  }
  if (token === undefined) {
    throw new CaptureRejection(
      401,
      "no_token",
      "no project token: set api_key (or token) on the batch, or token / properties.token on each event",
    );
  }
  return validateToken(token);
}

function eventToken(event: RawEvent): string | undefined {
  const top = event.token ?? event.$token ?? event.api_key;
  if (top !== undefined && top !== null) {
    if (typeof top !== "string") throw invalidToken("an event's token must be a string");
    return top;
  }
  const props = event.properties;
  if (isObject(props) && typeof props.token === "string") return props.token;
  return undefined;
}

/**
 * PostHog's token shape check (capture/src/token.rs): trimmed; refused when empty, longer than 64 bytes, not ASCII,
 * a personal API key (`phx_`), or holding a NUL byte. Returns the trimmed token.
 *
 * @example
 * validateToken(" phc_abc\n"); // "phc_abc"
 * validateToken("phx_abc");    // throws a 401 (a personal API key)
 */
export function validateToken(raw: string): string {
  const token = raw.trim();
  if (token === "") throw invalidToken("the project token is empty");
  if (Buffer.byteLength(token, "utf8") > 64)
    throw invalidToken("the project token is longer than 64 characters");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for non-ASCII, NUL is tested below
  if (!/^[\x00-\x7f]*$/.test(token)) throw invalidToken("the project token holds non-ASCII characters");
  if (token.startsWith("phx_")) {
    throw invalidToken(
      "phx_ keys are personal API keys, not project tokens; use the project API key (phc_...) to send events",
    );
  }
  if (token.includes("\0")) throw invalidToken("the project token holds a NUL byte");
  return token;
}

function invalidToken(message: string): CaptureRejection {
  return new CaptureRejection(401, "invalid_token", message);
}

/**
 * The `_` query parameter as sent_at: milliseconds since the epoch (posthog-js), used only when its year is after 2020
 * (older clients sent seconds, which are ignored).
 *
 * @example
 * querySentAt("1694769302325"); // 1694769302325
 * querySentAt("1694769302");    // undefined (seconds)
 */
export function querySentAt(value: string | null | undefined): number | undefined {
  if (!value || !/^\d{1,16}$/.test(value)) return undefined;
  const ms = Number(value);
  return new Date(ms).getUTCFullYear() > 2020 ? ms : undefined;
}

/** "the event" for a single event, "events[3]" in a batch: how messages point at an event. */
export function eventLabel(index: number, count: number): string {
  return count === 1 ? "the event" : `events[${index}]`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
