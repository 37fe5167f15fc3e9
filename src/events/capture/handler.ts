import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { type CapturedEvent, CaptureRejection } from "../event.js";
import { LogUnavailableError } from "../log/event-log.js";
import type { EventMetrics } from "../metrics.js";
import { decodePayload } from "./decode-payload.js";
import { type CaptureWarning, type RequestContext, toCapturedEvent } from "./event-rules.js";
import { parseJson, querySentAt, requestShape, requestToken } from "./payload.js";
import { readBody } from "./read-body.js";

/** A capture route: its body limit and which of PostHog's legacy behaviours apply. */
export interface CaptureRoute {
  path: string;
  /** Largest body in bytes, as sent and after inflating. */
  limit: number;
  /** `/e`, `/capture`, `/track`, `/engage`: a payload still base64 after decoding is decoded once more. */
  legacy: boolean;
  /** `/engage`: an event without a name is `$identify`. */
  engage: boolean;
}

/** PostHog's body limits: 2 MB for event routes, 20 MB for `/batch`. */
export const EVENT_BODY_LIMIT = 2_000_000;
export const BATCH_BODY_LIMIT = 20_000_000;

/**
 * PostHog's capture routes (each is also served with a trailing slash).
 *
 * @example
 * captureRoutes({ event: 2_000_000, batch: 20_000_000 }).get("/batch")?.limit; // 20000000
 */
export function captureRoutes(limits: { event?: number; batch?: number } = {}): Map<string, CaptureRoute> {
  const event = limits.event ?? EVENT_BODY_LIMIT;
  const batch = limits.batch ?? BATCH_BODY_LIMIT;
  const routes: CaptureRoute[] = [
    { path: "/e", limit: event, legacy: true, engage: false },
    { path: "/capture", limit: event, legacy: true, engage: false },
    { path: "/track", limit: event, legacy: true, engage: false },
    { path: "/engage", limit: event, legacy: true, engage: true },
    { path: "/i/v0/e", limit: event, legacy: false, engage: false },
    { path: "/batch", limit: batch, legacy: false, engage: false },
  ];
  return new Map(routes.map((r) => [r.path, r]));
}

/** What capture needs from the rest of the server. */
export interface CaptureDeps {
  /** True when the token is a project this server serves (else 401). */
  projects: (token: string) => boolean;
  /** Stores the events durably (the event log's `append`); rejects with `LogUnavailableError` for a 503. */
  append: (events: CapturedEvent[]) => Promise<{ appended: number; duplicates: number }>;
  metrics: EventMetrics;
  /** The clock (ms); tests pass a fixed one. */
  now: () => number;
  /** Told when a rule overrode what a client sent (a timestamp in the future, one that cannot be read). */
  onWarning?: (warning: CaptureWarning) => void;
}

/** One capture request, as the HTTP server hands it over. */
export interface CaptureInput {
  route: CaptureRoute;
  body: Readable;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The client's address (already chosen between the socket and X-Forwarded-For). */
  ip: string | null;
  /** Called with each body chunk's size as it arrives. */
  onBytes?: (n: number) => void;
}

/**
 * Turns one request into validated events and stores them: read the body (limit, gzip), decode (form, base64, lz64),
 * parse, check the token and the project, apply the event rules, append to the log. Resolves once the events are
 * durable; throws `CaptureRejection` (400/401/413/503) for everything a client should be told about.
 *
 * @example
 * const { appended } = await captureRequest({ route, body: req, query, headers: req.headers, ip }, deps);
 */
export async function captureRequest(
  input: CaptureInput,
  deps: CaptureDeps,
): Promise<{ appended: number; duplicates: number; events: number }> {
  const { route, query, headers } = input;
  const body = await readBody(input.body, {
    limit: route.limit,
    gzip: isGzipEncoding(headers["content-encoding"]),
    onBytes: input.onBytes,
  });
  const text = await decodePayload({
    body,
    queryData: query.get("data"),
    queryCompression: query.get("compression"),
    contentEncoding: headerValue(headers["content-encoding"]),
    legacy: route.legacy,
    limit: route.limit,
  });
  const shape = requestShape(parseJson(text));
  deps.metrics.received.inc(shape.events.length);
  const token = requestToken(shape);
  if (!deps.projects(token)) {
    throw new CaptureRejection(
      401,
      "unknown_token",
      "the project token is not a project of this server: add it under serve.projects in ferry.yaml or pass --token",
    );
  }
  const now = deps.now();
  const ctx: RequestContext = {
    token,
    now,
    nowIso: new Date(now).toISOString(),
    sentAt: shape.sentAt ?? querySentAt(query.get("_")),
    ip: input.ip,
    historicalMigration: shape.historicalMigration,
    engage: route.engage,
    count: shape.events.length,
    onWarning: deps.onWarning,
  };
  const events = shape.events.map((raw, i) => toCapturedEvent(raw, i, ctx));
  let result: { appended: number; duplicates: number };
  try {
    result = await deps.append(events);
  } catch (e) {
    if (e instanceof LogUnavailableError) {
      throw new CaptureRejection(
        503,
        "log_unavailable",
        `the event log cannot take writes now (${e.message}); retry`,
      );
    }
    throw e;
  }
  deps.metrics.accepted.inc(result.appended);
  if (result.duplicates > 0) deps.metrics.duplicates.inc(result.duplicates);
  return { ...result, events: events.length };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function isGzipEncoding(v: string | string[] | undefined): boolean {
  const s = headerValue(v)?.trim().toLowerCase();
  return s === "gzip" || s === "x-gzip";
}
