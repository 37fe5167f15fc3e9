/**
 * An event as capture accepted it: validated, with its final timestamp, token and client IP. This is what the event
 * log stores (one JSON record each) and what the ingestion stages (plugins, persons) and the event loader work on.
 *
 * @example
 * const e: CapturedEvent = { uuid: "0190...", event: "$pageview", distinct_id: "u1", token: "phc_x",
 *   timestamp: "2026-12-05T10:00:00.000Z", created_at: "2026-12-05T10:00:00.120Z", properties: { $browser: "Firefox" },
 *   set: null, set_once: null, elements_chain: null, ip: "127.0.0.1" };
 */
export interface CapturedEvent {
  /** The client's uuid, or a UUIDv7 capture assigned. */
  uuid: string;
  event: string;
  /** A string of at most 200 characters (numbers and other JSON values are stringified). */
  distinct_id: string;
  /** The project API key the event was sent with (trimmed). */
  token: string;
  /** When the event happened, UTC ISO 8601 with milliseconds, after PostHog's clock-skew rules. */
  timestamp: string;
  /** When capture received it (UTC ISO 8601). */
  created_at: string;
  /** The event's properties as sent (without `$set`/`$set_once`, which have their own fields). */
  properties: Record<string, unknown>;
  /** `$set` (top-level, or in properties): person properties to set. */
  set: Record<string, unknown> | null;
  /** `$set_once`: person properties to set when missing. */
  set_once: Record<string, unknown> | null;
  /** Autocapture's element chain, when the client sent one (`elements_chain` or `$elements_chain`). */
  elements_chain: string | null;
  /** The client's IP address (the connection's, or X-Forwarded-For's first when a proxy is trusted). */
  ip: string | null;
  /** Set by the batch's `historical_migration: true`. */
  historical_migration?: boolean;
}

/** Why capture refused a request: the status it answers and the message in its JSON body. */
export class CaptureRejection extends Error {
  readonly status: 400 | 401 | 413 | 503;
  /** A stable reason for metrics (`rejected_total{reason}`): `invalid_payload`, `missing_distinct_id`, ... */
  readonly reason: string;

  constructor(status: 400 | 401 | 413 | 503, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}
