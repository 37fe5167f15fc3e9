/**
 * `ferry serve` for end-to-end tests: a server started in this process (startServe on port 0, a temp dir), waiting
 * for conditions, recording what a real PostHog client sends and comparing it with what landed (serve-tables.ts
 * reads the tables back).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { PostHog } from "posthog-node";
import { type RunningServe, startServe } from "../../src/events/serve.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";
import type { Logger } from "../../src/util/log.js";
import { type LogLine, memoryLogger } from "./memory-logger.js";
import type { EventRow } from "./serve-tables.js";

export const REPO = join(import.meta.dirname, "../..");

export interface TempServe {
  running: RunningServe;
  /** `http://127.0.0.1:<port>`: the clients' api_host. */
  url: string;
  /** The temp dir holding the DuckDB file and the pipelines' dir (`<dir>/.ferry`). */
  dir: string;
  /** The DuckDB file (when the destination is the default one). */
  dbPath: string;
  log: Logger & { lines: LogLine[] };
  /** Stops the server (loads what the log holds); idempotent. */
  stop(): Promise<void>;
  /** Stops the server and removes the temp dir. */
  cleanup(): Promise<void>;
}

/**
 * Starts `ferry serve` in this process on a free port, with its working dir and (by default) its DuckDB file in a
 * new temp dir. `serve` is the `serve:` section of a project file (projects, batch_interval, ...).
 *
 * @example
 * const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }] });
 * try { ... } finally { await s.cleanup(); }
 */
export async function startTempServe(
  serve: Record<string, unknown>,
  opts: { destination?: string /** Reuse the dir of an earlier server (a restart). */; dir?: string } = {},
): Promise<TempServe> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "ferry-serve-"));
  const dbPath = join(dir, "events.duckdb");
  const config = resolveServeConfig(
    { serve },
    { port: 0, destination: opts.destination ?? `duckdb:${dbPath}`, dir: join(dir, ".ferry") },
    join(dir, ".ferry"),
  );
  const log = memoryLogger();
  const running = await startServe(config, { logger: log, statusIntervalMs: 0 });
  return {
    running,
    url: running.address?.url ?? "",
    dir,
    dbPath,
    log,
    stop: async () => {
      await running.stop();
    },
    async cleanup() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `probe` until it returns something other than undefined/false, every 50 ms, up to `timeoutMs` (generous:
 * the suite runs on a busy 2-core machine). The error names what was awaited and the last value seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 90_000,
  describe?: () => unknown,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const last = describe ? ` (last: ${JSON.stringify(describe())})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until an in-process server has loaded `n` events and holds nothing more in its log. Then the server is
 * idle (it opens the DuckDB file only to load), so this process may read the file without racing a load.
 */
export function waitForLoaded(s: TempServe, n: number, timeoutMs = 90_000): Promise<true> {
  const stats = s.running.consumer.stats;
  return waitFor(
    `${n} loaded event(s)`,
    () => stats.loaded >= n && stats.lag === 0,
    timeoutMs,
    () => ({ ...stats, errors: s.log.lines.filter((l) => l.level === "error").map((l) => l.msg) }),
  );
}

/** An event as a client put it in a /batch/ body. */
export interface SentEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  $set?: Record<string, unknown>;
  $set_once?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One request a client made, as it went over the wire (gzip undone), and the status it got. */
export interface SentRequest {
  url: string;
  gzip: boolean;
  body: { api_key?: string; batch: SentEvent[]; sent_at?: string; sentAt?: string };
  /** Bytes of the body as sent (compressed). */
  bytes: number;
  status: number;
}

/** posthog-node's `fetch` option. */
export type ClientFetch = (
  url: string,
  options: { method: string; headers: Record<string, string>; body?: unknown; signal?: AbortSignal },
) => Promise<Response>;

/**
 * A `fetch` for posthog-node's `fetch` option that records each request body (it observes, the real request goes
 * to the server unchanged).
 */
export function recordingFetch(): { fetch: ClientFetch; requests: SentRequest[] } {
  const requests: SentRequest[] = [];
  const recording: ClientFetch = async (url, options) => {
    const headers = new Headers(options.headers);
    const gzip = headers.get("content-encoding") === "gzip";
    const raw = options.body;
    type Body = ConstructorParameters<typeof Response>[0];
    const bytes =
      typeof raw === "string" ? Buffer.from(raw) : Buffer.from(await new Response(raw as Body).arrayBuffer());
    const res = await fetch(url, { ...options, body: raw as Body });
    requests.push({
      url,
      gzip,
      bytes: bytes.length,
      body: JSON.parse((gzip ? gunzipSync(bytes) : bytes).toString("utf8")),
      status: res.status,
    });
    return res;
  };
  return { fetch: recording, requests };
}

/**
 * A posthog-node client sending to `url` through `fetch` (a `recordingFetch()`): no retries, so every request must
 * succeed at once; a generous timeout for a busy machine.
 */
export function posthogNode(
  url: string,
  token: string,
  fetch: ClientFetch,
  opts: { flushAt?: number; flushInterval?: number } = {},
): PostHog {
  return new PostHog(token, {
    host: url,
    fetch,
    fetchRetryCount: 0,
    requestTimeout: 60_000,
    flushAt: opts.flushAt ?? 20,
    flushInterval: opts.flushInterval ?? 10_000,
  });
}

/** Every event of the recorded requests, with the request's sent_at. */
export function sentEvents(
  requests: Array<Pick<SentRequest, "body">>,
): Array<SentEvent & { sentAt: string }> {
  return requests.flatMap((r) =>
    r.body.batch.map((e) => ({ ...e, sentAt: (r.body.sent_at ?? r.body.sentAt) as string })),
  );
}

/** Milliseconds of an ISO 8601 time, its fraction cut to milliseconds (python sends microseconds). */
export function isoMs(iso: string): number {
  const t = Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
  if (Number.isNaN(t)) throw new Error(`not an ISO 8601 time: ${iso}`);
  return t;
}

/**
 * The timestamp PostHog's rules give an event sent with `timestamp` in a request with `sent_at`, received at
 * `created_at`: `now + (timestamp - sent_at)` (clock-skew correction).
 */
export function skewCorrected(createdAt: string, timestamp: string, sentAt: string): string {
  return new Date(isoMs(createdAt) + (isoMs(timestamp) - isoMs(sentAt))).toISOString();
}

/** The properties the server keeps: as sent, without `$set`/`$set_once` (they have columns of their own). */
export function keptProperties(sent: SentEvent): Record<string, unknown> {
  const { $set: _s, $set_once: _o, ...rest } = sent.properties ?? {};
  return rest;
}

/** `$set` or `$set_once` as the server keeps it: the event's top-level one over the one inside properties. */
function personProps(sent: SentEvent, key: "$set" | "$set_once"): Record<string, unknown> | null {
  const inner = sent.properties?.[key] as Record<string, unknown> | undefined;
  const top = sent[key];
  if (inner === undefined && top === undefined) return null;
  return { ...inner, ...top };
}

/**
 * Every field of an `events` row against the event a client sent: event, distinct_id, the timestamp after the
 * clock-skew rule (`created_at + timestamp - sent_at`), created_at inside the time the test sent in, properties as
 * sent (less `$set`/`$set_once`, which are columns of their own), set, set_once, no element chain, the client IP.
 */
export function assertEventRow(
  row: EventRow | undefined,
  sent: SentEvent & { sentAt: string },
  window: [number, number],
): void {
  assert.ok(row, `event ${sent.uuid} (${sent.event}) is in the table`);
  assert.equal(row.event, sent.event);
  assert.equal(row.distinct_id, sent.distinct_id);
  assert.equal(row.timestamp, skewCorrected(row.created_at, sent.timestamp, sent.sentAt));
  const created = Date.parse(row.created_at);
  assert.ok(created >= window[0] && created <= window[1], `created_at ${row.created_at} is when it was sent`);
  assert.deepEqual(row.properties, keptProperties(sent));
  assert.deepEqual(row.set, personProps(sent, "$set"));
  assert.deepEqual(row.set_once, personProps(sent, "$set_once"));
  assert.equal(row.elements_chain, null);
  assert.equal(row.ip, "127.0.0.1");
}

/** Parses Prometheus' text format into `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

export { type LogLine, memoryLogger };
