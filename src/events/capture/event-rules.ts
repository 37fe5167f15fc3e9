import { type CapturedEvent, CaptureRejection } from "../event.js";
import { eventLabel, isObject, type RawEvent } from "./payload.js";
import { resolveTimestamp } from "./timestamps.js";
import { normalizeUuid, uuidv7 } from "./uuid.js";

/** A rule overrode what the client sent (the event is kept): PostHog's ingestion warnings. */
export interface CaptureWarning {
  uuid: string;
  token: string;
  /** `event_timestamp_in_future` or `ignored_invalid_timestamp`. */
  type: string;
  message: string;
}

/** What every event of one request shares. */
export interface RequestContext {
  /** The request's validated token. */
  token: string;
  /** The server's clock when the request arrived (ms), and the same as ISO 8601. */
  now: number;
  nowIso: string;
  /** The request's sent_at (ms), from the batch body or the `_` query parameter. */
  sentAt?: number;
  ip: string | null;
  historicalMigration: boolean;
  /** The `/engage` route: an event without a name is a `$identify` (PostHog's old capture). */
  engage: boolean;
  /** How many events the request holds (for messages that point at one). */
  count: number;
  onWarning?: (warning: CaptureWarning) => void;
}

/** PostHog cuts distinct ids to 200 characters. */
export const MAX_DISTINCT_ID_CHARS = 200;

/**
 * One raw event to the record capture stores, by PostHog's rules: a `distinct_id` is required (numbers and other JSON
 * are stringified, cut to 200 characters), an event name is required, a client uuid is kept (else a UUIDv7 is
 * assigned), the timestamp follows the clock-skew rules, `$set`/`$set_once` and the element chain get their own
 * fields. Throws a 400 `CaptureRejection` naming the event and what is wrong with it.
 *
 * @example
 * toCapturedEvent({ event: "$pageview", distinct_id: 42, properties: { $set: { plan: "pro" } } }, 0, ctx);
 * // { uuid: "0190...", event: "$pageview", distinct_id: "42", set: { plan: "pro" }, properties: {}, ... }
 */
export function toCapturedEvent(raw: RawEvent, index: number, ctx: RequestContext): CapturedEvent {
  const where = () => eventLabel(index, ctx.count);

  let properties: Record<string, unknown>;
  const rawProps = raw.properties;
  if (rawProps === undefined || rawProps === null) properties = {};
  else if (isObject(rawProps)) properties = rawProps;
  else throw invalid("invalid_event", `${where()}: properties must be a JSON object`);

  const event = eventName(raw.event, ctx.engage, where);
  const distinct_id = distinctId(raw, properties, where);
  const uuid = eventUuid(raw.uuid, ctx.now, where);

  let offset: number | undefined;
  if (raw.offset !== undefined && raw.offset !== null) {
    if (typeof raw.offset !== "number" || !Number.isFinite(raw.offset)) {
      throw invalid("invalid_event", `${where()}: offset must be a number of milliseconds`);
    }
    offset = Math.trunc(raw.offset);
  }
  const time = resolveTimestamp({
    now: ctx.now,
    timestamp: raw.timestamp,
    offset,
    sentAt: properties.$ignore_sent_at === true ? undefined : ctx.sentAt,
  });
  if (time.warning) ctx.onWarning?.({ uuid, token: ctx.token, ...time.warning });

  const set = personProperties(raw.$set, properties, "$set", where);
  const set_once = personProperties(raw.$set_once, properties, "$set_once", where);

  let elements_chain: string | null = null;
  if (typeof raw.elements_chain === "string") elements_chain = raw.elements_chain;
  else if (typeof properties.$elements_chain === "string") {
    elements_chain = properties.$elements_chain;
    delete properties.$elements_chain;
  }

  const captured: CapturedEvent = {
    uuid,
    event,
    distinct_id,
    token: ctx.token,
    timestamp: time.ms === ctx.now ? ctx.nowIso : new Date(time.ms).toISOString(),
    created_at: ctx.nowIso,
    properties,
    set,
    set_once,
    elements_chain,
    ip: ctx.ip,
  };
  if (ctx.historicalMigration) captured.historical_migration = true;
  return captured;
}

function eventName(value: unknown, engage: boolean, where: () => string): string {
  if (value === undefined || value === null || value === "") {
    if (engage) return "$identify";
    throw invalid("missing_event_name", `${where()} has no event name (set "event", e.g. "$pageview")`);
  }
  if (typeof value !== "string")
    throw invalid("invalid_event", `${where()}: the event name must be a string`);
  return value;
}

/**
 * The event's distinct id: top-level `distinct_id` or `$distinct_id`, else `properties.distinct_id`; strings kept,
 * other JSON stringified (object keys sorted, as PostHog's serde does); NUL becomes U+FFFD; cut to 200 characters.
 */
export function distinctId(raw: RawEvent, properties: Record<string, unknown>, where: () => string): string {
  let value = raw.distinct_id ?? raw.$distinct_id;
  if (value === undefined || value === null) value = properties.distinct_id;
  if (value === undefined || value === null || value === "") {
    throw invalid(
      "missing_distinct_id",
      `${where()} has no distinct_id (the id of the person it belongs to)`,
    );
  }
  let id = typeof value === "string" ? value : stableStringify(value);
  if (id.includes("\0")) id = id.replaceAll("\0", "\ufffd");
  if (id.length > MAX_DISTINCT_ID_CHARS) id = firstCodePoints(id, MAX_DISTINCT_ID_CHARS);
  return id;
}

function firstCodePoints(s: string, n: number): string {
  let count = 0;
  let i = 0;
  while (i < s.length && count < n) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    count++;
  }
  return s.slice(0, i);
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function eventUuid(value: unknown, now: number, where: () => string): string {
  if (value === undefined || value === null || value === "") return uuidv7(now);
  if (typeof value !== "string") throw invalid("invalid_uuid", `${where()}: uuid must be a string`);
  const uuid = normalizeUuid(value);
  if (uuid === undefined) {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    throw invalid(
      "invalid_uuid",
      `${where()}: uuid ${JSON.stringify(shown)} is not a UUID (leave it out to get one)`,
    );
  }
  return uuid;
}

/**
 * `$set` / `$set_once` from the event's top level and from its properties (removed from there), merged with the top
 * level winning, as PostHog's ingestion does. A non-object value inside properties stays there as sent.
 */
function personProperties(
  top: unknown,
  properties: Record<string, unknown>,
  key: "$set" | "$set_once",
  where: () => string,
): Record<string, unknown> | null {
  if (top !== undefined && top !== null && !isObject(top)) {
    throw invalid("invalid_event", `${where()}: ${key} must be a JSON object`);
  }
  const inner = properties[key];
  if (!isObject(inner)) return top ?? null;
  delete properties[key];
  return top ? { ...inner, ...top } : inner;
}

function invalid(reason: string, message: string): CaptureRejection {
  return new CaptureRejection(400, reason, message);
}
