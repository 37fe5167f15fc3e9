/**
 * The capture server over real HTTP on 127.0.0.1: every answer PostHog's clients can get (200, 204, 400, 401, 413,
 * 503, 500), the exact events handed to the log for each body shape and encoding the SDKs send, CORS, health and
 * metrics, keep-alive after refused requests, and a graceful close that finishes the appends in flight.
 *
 * The `append` here is a test double (an in-memory list): the real event log is tested with its own suite, and what
 * this file checks is what capture hands it and what capture answers for each outcome of `append`.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { createGzip, gzipSync } from "node:zlib";
import LZString from "lz-string";
import { CaptureServer, type CaptureWarning } from "../../src/events/capture/index.js";
import type { CapturedEvent } from "../../src/events/event.js";
import { LogUnavailableError } from "../../src/events/log/event-log.js";
import { EventMetrics } from "../../src/events/metrics.js";

const TOKEN = "phc_test_token";
const NOW = Date.parse("2026-03-01T12:00:00Z");
const NOW_ISO = "2026-03-01T12:00:00.000Z";

/** A capture server with an in-memory append whose outcome each test can set. */
class Harness {
  stored: CapturedEvent[] = [];
  warnings: CaptureWarning[] = [];
  /** When set, the next appends reject with it. */
  failWith: Error | undefined;
  /** When set, appends wait for it (to hold a request in flight). */
  gate: Promise<void> | undefined;
  /** Resolved each time append is entered. */
  onAppend: (() => void) | undefined;
  duplicatesNext = 0;
  ready = true;
  readonly metrics = new EventMetrics();
  readonly server: CaptureServer;
  url = "";

  constructor(opts: { trustProxy?: boolean } = {}) {
    this.server = new CaptureServer({
      host: "127.0.0.1",
      port: 0,
      projects: (t) => t === TOKEN,
      append: async (events) => {
        this.onAppend?.();
        if (this.gate) await this.gate;
        if (this.failWith) throw this.failWith;
        const duplicates = Math.min(this.duplicatesNext, events.length);
        this.duplicatesNext = 0;
        this.stored.push(...events.slice(duplicates));
        return { appended: events.length - duplicates, duplicates };
      },
      metrics: this.metrics,
      ready: () => this.ready,
      now: () => NOW,
      onWarning: (w) => this.warnings.push(w),
      trustProxy: opts.trustProxy,
    });
  }

  async start(): Promise<this> {
    this.url = (await this.server.start()).url;
    return this;
  }

  take(): CapturedEvent[] {
    return this.stored.splice(0);
  }
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

async function send(
  url: string,
  init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** A refused request: its status and JSON body `{type, code, detail}`. */
async function refused(
  reply: Promise<Reply>,
  status: number,
  code: string,
  detail?: RegExp,
): Promise<string> {
  const r = await reply;
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get("content-type"), "application/json");
  const body = r.json();
  assert.deepEqual(Object.keys(body).sort(), ["code", "detail", "type"]);
  assert.equal(body.code, code, r.text);
  assert.equal(
    body.type,
    status === 401 ? "authentication_error" : status >= 500 ? "server_error" : "validation_error",
  );
  assert.doesNotMatch(String(body.detail), /\bat .*\.(ts|js):\d+/, "no stack traces");
  if (detail) assert.match(String(body.detail), detail);
  return String(body.detail);
}

const event = (extra: Record<string, unknown> = {}) => ({
  event: "$pageview",
  distinct_id: "user-1",
  properties: { $current_url: "https://example.com/" },
  ...extra,
});
const batch = (events: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ api_key: TOKEN, batch: events, ...extra });

describe("capture server", () => {
  const h = new Harness();
  let url = "";
  before(async () => {
    url = (await h.start()).url;
  });
  after(() => h.server.close());

  /** After every refused request: the server still takes a good one, on a fresh and on a reused connection. */
  async function stillServes(): Promise<void> {
    h.take();
    const uuid = "01890000-0000-7000-8000-000000000001";
    const r = await send(`${url}/batch/`, { body: batch([event({ uuid })]) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '{"status":1}');
    assert.deepEqual(
      h.take().map((e) => e.uuid),
      [uuid],
    );
  }

  test("a 50 MB gzip bomb on /e is a 413 and never inflates: peak memory stays flat", async () => {
    // built in 1 MB pieces so that building it does not raise the peak either
    const gzip = createGzip();
    const parts: Buffer[] = [];
    gzip.on("data", (c: Buffer) => parts.push(c));
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 50; i++) gzip.write(zeros);
    await new Promise<void>((resolve) => gzip.end(resolve));
    const bomb = Buffer.concat(parts);
    assert.ok(bomb.length < 100_000, `${bomb.length} bytes`);

    await stillServes(); // warm up (the HTTP client loads lazily)
    const peakBefore = process.resourceUsage().maxRSS; // KB
    await refused(
      send(`${url}/e/`, { body: bomb }),
      413,
      "too_large",
      /inflated gzip body is larger than .* 2 MB/,
    );
    const grewMb = (process.resourceUsage().maxRSS - peakBefore) / 1024;
    // inflating it all would hold 50 MB; the route's limit is 2 MB
    assert.ok(grewMb < 30, `peak RSS grew by ${grewMb.toFixed(1)} MB while refusing a 50 MB bomb`);
    await refused(
      send(`${url}/batch/`, { body: bomb, headers: { "Content-Encoding": "gzip" } }),
      413,
      "too_large",
      /20 MB/,
    );
    await stillServes();
  });

  test("posthog-node's batch (gzip, Content-Encoding) is stored exactly, with sent_at skew applied", async () => {
    const uuid = "018eec80-f044-7c2d-b966-35efc8ed61d5";
    const body = batch(
      [
        {
          distinct_id: "id1",
          event: "this event",
          properties: { $lib: "posthog-node", $lib_version: "4.0.0", $geoip_disable: true },
          type: "capture",
          library: "posthog-node",
          library_version: "4.0.0",
          timestamp: "2026-03-01T11:59:58.000Z",
          uuid,
        },
      ],
      { sent_at: "2026-03-01T11:59:59.000Z" },
    );
    const r = await send(`${url}/batch/`, {
      body: gzipSync(body),
      headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, '{"status":1}');
    assert.deepEqual(h.take(), [
      {
        uuid,
        event: "this event",
        distinct_id: "id1",
        token: TOKEN,
        timestamp: "2026-03-01T11:59:59.000Z",
        created_at: NOW_ISO,
        properties: { $lib: "posthog-node", $lib_version: "4.0.0", $geoip_disable: true },
        set: null,
        set_once: null,
        elements_chain: null,
        ip: "127.0.0.1",
      },
    ]);
  });

  test("posthog-js's form body data=<base64> on /e/ with _= and ip=1", async () => {
    const uuid = "018a981f-4b35-7c66-825e-8b0eeae65714";
    const js = {
      uuid,
      event: "$identify",
      properties: {
        $os: "Mac OS X",
        $lib: "web",
        distinct_id: "pWAkITyQ3CN7332UqQxnH6p3FV8VJd7pY647EdNkxWc",
        token: TOKEN,
        $anon_distinct_id: "018a981f-4b2d-78ae-947b-bedbaa02a0f4",
      },
      $set: {},
      $set_once: {},
      timestamp: "2026-03-01T11:59:50.000Z",
    };
    const data = Buffer.from(JSON.stringify(js)).toString("base64");
    const r = await send(`${url}/e/?ip=1&_=${Date.parse("2026-03-01T11:59:55.000Z")}&ver=1.78.5`, {
      body: `data=${encodeURIComponent(data)}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(h.take(), [
      {
        uuid,
        event: "$identify",
        distinct_id: "pWAkITyQ3CN7332UqQxnH6p3FV8VJd7pY647EdNkxWc",
        token: TOKEN,
        // ts 11:59:50 sent at 11:59:55 (the _ param), received at 12:00:00
        timestamp: "2026-03-01T11:59:55.000Z",
        created_at: NOW_ISO,
        properties: js.properties,
        set: {},
        set_once: {},
        elements_chain: null,
        ip: "127.0.0.1",
      },
    ]);
  });

  test("posthog-js's gzip array with offsets (compression=gzip-js, text/plain), $set inside properties", async () => {
    const body = gzipSync(
      JSON.stringify([
        {
          uuid: "018a981f-4b35-7c66-825e-8b0fb6d0406d",
          event: "$set",
          properties: {
            $lib: "web",
            distinct_id: "u7",
            $set: { email: "x@example.com" },
            $set_once: {},
            token: TOKEN,
          },
          offset: 3026,
        },
        {
          uuid: "018a981f-4b36-7798-a4ce-f3cb0e052fd3",
          event: "$groupidentify",
          properties: { $group_type: "project", $group_key: "p1", token: TOKEN, distinct_id: "u7" },
          offset: 0,
        },
      ]),
    );
    const r = await send(`${url}/e/?compression=gzip-js&ip=1&_=${NOW}&ver=1.78.5`, {
      body,
      headers: { "Content-Type": "text/plain" },
    });
    assert.equal(r.status, 200, r.text);
    const stored = h.take();
    assert.deepEqual(
      stored.map((e) => [e.event, e.distinct_id, e.timestamp, e.set, e.set_once]),
      [
        ["$set", "u7", "2026-03-01T11:59:56.974Z", { email: "x@example.com" }, {}],
        ["$groupidentify", "u7", NOW_ISO, null, null],
      ],
    );
    assert.deepEqual(stored[0]!.properties, { $lib: "web", distinct_id: "u7", token: TOKEN });
  });

  test("lz64 in a form (posthog-js-lite), made with the lz-string package", async () => {
    const json = JSON.stringify([event({ properties: { token: TOKEN, ü: "é€" } })]);
    const r = await send(`${url}/e/`, {
      body: `data=${encodeURIComponent(LZString.compressToBase64(json))}&compression=lz64`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(h.take()[0]!.properties, { token: TOKEN, ü: "é€" });
    const q = await send(`${url}/i/v0/e?compression=lz64`, { body: LZString.compressToBase64(json) });
    assert.equal(q.status, 200, q.text);
    assert.equal(h.take().length, 1);
  });

  test("posthog-python's batch: sentAt in camelCase, historical_migration", async () => {
    const r = await send(`${url}/batch/`, {
      body: JSON.stringify({
        batch: [
          {
            event: "$groupidentify",
            distinct_id: "$organization_id:5",
            timestamp: "2026-03-01T11:00:00+00:00",
          },
        ],
        historical_migration: true,
        sentAt: "2026-03-01T11:00:30+00:00",
        api_key: TOKEN,
      }),
      headers: { "Content-Type": "application/json" },
    });
    assert.equal(r.status, 200, r.text);
    const [e] = h.take();
    assert.equal(e!.timestamp, "2026-03-01T11:59:30.000Z");
    assert.equal(e!.historical_migration, true);
  });

  test("every route, with and without the trailing slash, GET ?data= and POST", async () => {
    const single = JSON.stringify(event({ token: TOKEN }));
    const paths = ["/e", "/capture", "/track", "/engage", "/i/v0/e", "/batch"];
    for (const path of paths) {
      for (const p of [path, `${path}/`]) {
        const r = await send(`${url}${p}`, { body: single });
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        const g = await send(`${url}${p}?data=${encodeURIComponent(Buffer.from(single).toString("base64"))}`);
        assert.equal(g.status, 200, `GET ${p}: ${g.text}`);
      }
    }
    assert.equal(h.take().length, paths.length * 4);
    // /engage without an event name is $identify
    const engage = await send(`${url}/engage/`, {
      body: JSON.stringify({ $token: TOKEN, $distinct_id: "u9", $set: { plan: "pro" } }),
    });
    assert.equal(engage.status, 200, engage.text);
    const [identify] = h.take();
    assert.deepEqual(
      [identify!.event, identify!.distinct_id, identify!.set],
      ["$identify", "u9", { plan: "pro" }],
    );
  });

  test("beacon=1 answers 204 with no body", async () => {
    const r = await send(`${url}/e/?beacon=1`, {
      body: JSON.stringify([event({ properties: { token: TOKEN } })]),
    });
    assert.equal(r.status, 204);
    assert.equal(r.text, "");
    assert.equal(h.take().length, 1);
  });

  test("400s: malformed JSON, wrong encoding, truncated gzip, missing distinct_id, empty batch, bad uuid", async () => {
    const cases: [string, string | Buffer, Record<string, string>, string, RegExp][] = [
      ["/batch/", '{"api_key":', {}, "invalid_payload", /^the payload is not valid JSON: /],
      ["/e/?compression=gzip", '{"event":"x"}', {}, "invalid_encoding", /compression=gzip .* not gzip/],
      ["/batch/", '{"event":"x"}', { "Content-Encoding": "gzip" }, "invalid_encoding", /not valid gzip data/],
      ["/e/", gzipSync(batch([event()])).subarray(0, 40), {}, "invalid_encoding", /ends early \(truncated\)/],
      ["/e/", Buffer.from([0x5b, 0xc3, 0x28, 0x5d]), {}, "invalid_encoding", /not valid UTF-8/],
      [
        "/batch/",
        batch([event(), { event: "x" }]),
        {},
        "missing_distinct_id",
        /^events\[1\] has no distinct_id/,
      ],
      ["/batch/", batch([event({ distinct_id: "" })]), {}, "missing_distinct_id", /no distinct_id/],
      ["/batch/", batch([]), {}, "empty_batch", /no events/],
      ["/e/", "", {}, "empty_payload", /no payload/],
      ["/batch/", batch([event({ uuid: "nope" })]), {}, "invalid_uuid", /"nope" is not a UUID/],
      [
        "/capture/",
        JSON.stringify({ token: TOKEN, distinct_id: "u" }),
        {},
        "missing_event_name",
        /no event name/,
      ],
    ];
    for (const [path, body, headers, code, detail] of cases) {
      await refused(send(`${url}${path}`, { body, headers }), 400, code, detail);
      assert.equal(h.stored.length, 0, `${code}: nothing of a refused request is stored`);
      await stillServes();
    }
  });

  test("401s: missing, unknown, mixed and personal (phx_) tokens", async () => {
    const cases: [string, string, RegExp][] = [
      [JSON.stringify([event()]), "no_token", /no project token/],
      [
        JSON.stringify({ api_key: "phc_other", batch: [event()] }),
        "unknown_token",
        /not a project of this server/,
      ],
      [
        JSON.stringify([event({ token: TOKEN }), event({ token: "phc_other" })]),
        "multiple_tokens",
        /different project tokens/,
      ],
      [JSON.stringify({ api_key: "phx_personal", batch: [event()] }), "invalid_token", /personal API keys/],
      [JSON.stringify({ api_key: "   ", batch: [event()] }), "invalid_token", /empty/],
    ];
    for (const [body, code, detail] of cases) {
      await refused(send(`${url}/batch/`, { body }), 401, code, detail);
      await stillServes();
    }
    // a token with stray whitespace is accepted, trimmed
    const r = await send(`${url}/batch/`, {
      body: JSON.stringify({ api_key: ` ${TOKEN}\n`, batch: [event()] }),
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.take()[0]!.token, TOKEN);
  });

  test("413: a plain body over the limit (declared, and chunked without a length), on a kept-alive connection", async () => {
    const big = batch([event({ properties: { blob: "x".repeat(2_100_000) } })]);
    await refused(
      send(`${url}/e/`, { body: big }),
      413,
      "too_large",
      /2100\d+ bytes\) is larger than \/e's limit of 2 MB/,
    );
    await stillServes();

    // chunked (no Content-Length), one keep-alive socket: the answer comes, and the same socket serves the next one
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const answer = await rawRequest(agent, `${url}/e/`, (req) => {
        for (let i = 0; i < 30; i++) req.write(Buffer.alloc(100_000, 32));
        req.end();
      });
      assert.equal(answer.status, 413, answer.text);
      assert.match(answer.text, /"code":"too_large"/);
      const next = await rawRequest(agent, `${url}/batch/`, (req) => req.end(batch([event()])));
      assert.equal(next.status, 200, next.text);
      assert.equal(next.reusedSocket, true, "the connection stayed usable");
    } finally {
      agent.destroy();
    }
    h.take();
  });

  test("a 1 MB property value on /batch is stored whole", async () => {
    const value = "é".repeat(500_000); // 1 MB as UTF-8
    const r = await send(`${url}/batch/`, { body: gzipSync(batch([event({ properties: { big: value } })])) });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.take()[0]!.properties.big, value);
  });

  test("lone surrogates are accepted and stored as U+FFFD", async () => {
    const body = `{"api_key":"${TOKEN}","batch":[{"event":"e\\ud800","distinct_id":"u\\udc00","properties":{"k\\ud83d":"\\udfff ok \\ud83d\\ude00"}}]}`;
    const r = await send(`${url}/batch/`, { body });
    assert.equal(r.status, 200, r.text);
    const [e] = h.take();
    assert.deepEqual(
      [e!.event, e!.distinct_id, e!.properties],
      ["e\ufffd", "u\ufffd", { "k\ufffd": "\ufffd ok 😀" }],
    );
  });

  test("10,000-deep nesting is a clear 400, and the server keeps serving", async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const body = `{"api_key":"${TOKEN}","batch":[{"event":"e","distinct_id":"u","properties":${deep}}]}`;
    await refused(send(`${url}/batch/`, { body }), 400, "too_deep", /deeper than 128 levels/);
    await stillServes();
  });

  test("503 with Retry-After when the log cannot take writes; 500 (JSON) for other failures", async () => {
    h.failWith = new LogUnavailableError("disk full");
    const r = send(`${url}/batch/`, { body: batch([event()]) });
    await refused(r, 503, "log_unavailable", /cannot take writes now \(disk full\); retry/);
    assert.equal((await r).headers.get("retry-after"), "1");
    h.failWith = new Error("a bug somewhere");
    const detail = await refused(send(`${url}/batch/`, { body: batch([event()]) }), 500, "internal_error");
    assert.equal(detail, "capture failed on the server; the events were not stored, retry");
    h.failWith = undefined;
    await stillServes();
  });

  test("CORS: the preflight mirrors origin and requested headers, with credentials; answers carry the origin", async () => {
    const pre = await send(`${url}/e/`, {
      method: "OPTIONS",
      headers: {
        Origin: "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-odd-header",
      },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.text, '{"status":1}');
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.equal(pre.headers.get("access-control-allow-credentials"), "true");
    assert.equal(pre.headers.get("access-control-allow-headers"), "content-type,x-odd-header");
    assert.equal(pre.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
    const post = await send(`${url}/i/v0/e/`, {
      body: JSON.stringify(event({ token: TOKEN })),
      headers: { Origin: "https://app.example.com" },
    });
    assert.equal(post.status, 200);
    assert.equal(post.headers.get("access-control-allow-origin"), "https://app.example.com");
    const bad = await send(`${url}/e/`, { body: "{", headers: { Origin: "https://app.example.com" } });
    assert.equal(bad.headers.get("access-control-allow-origin"), "https://app.example.com");
    h.take();
  });

  test("a timestamp more than 23 h ahead is stored as now and reported", async () => {
    const uuid = "01890000-0000-7000-8000-0000000000ff";
    const r = await send(`${url}/batch/`, {
      body: batch([event({ uuid, timestamp: "2026-03-02T12:00:01Z" })]),
    });
    assert.equal(r.status, 200);
    assert.equal(h.take()[0]!.timestamp, NOW_ISO);
    assert.deepEqual(h.warnings.splice(0), [
      {
        uuid,
        token: TOKEN,
        type: "event_timestamp_in_future",
        message:
          "timestamp 2026-03-02T12:00:01.000Z is more than 23 hours after the time it was received; using the time it was received",
      },
    ]);
  });

  test("health: liveness always, readiness follows ready(); 404 and 405 are JSON", async () => {
    assert.equal((await send(`${url}/_liveness`)).status, 200);
    assert.equal((await send(`${url}/_readiness`)).status, 200);
    h.ready = false;
    assert.equal((await send(`${url}/_readiness`)).status, 503);
    assert.equal((await send(`${url}/_liveness`)).status, 200);
    h.ready = true;
    assert.equal((await send(`${url}/_readiness`)).status, 200);
    const nf = await send(`${url}/nope`);
    assert.equal(nf.status, 404);
    assert.match(nf.json().detail as string, /no route \/nope/);
    const put = await send(`${url}/batch`, { method: "PUT", body: "{}" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, POST, OPTIONS");
  });
});

describe("capture server metrics", () => {
  test("/metrics counts events received, accepted, duplicates, bytes, and refusals by reason", async () => {
    const h = await new Harness().start();
    try {
      const good = batch([event(), event()]);
      assert.equal((await send(`${h.url}/batch`, { body: good })).status, 200);
      h.duplicatesNext = 1;
      const gz = gzipSync(batch([event()]));
      assert.equal((await send(`${h.url}/batch`, { body: gz })).status, 200);
      await refused(send(`${h.url}/batch`, { body: "{" }), 400, "invalid_payload");
      await refused(
        send(`${h.url}/batch`, { body: batch([event(), { event: "x" }]) }),
        400,
        "missing_distinct_id",
      );
      await refused(send(`${h.url}/batch`, { body: JSON.stringify([event()]) }), 401, "no_token");
      const bad = batch([event(), { event: "x" }]);

      const r = await send(`${h.url}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const value = (name: string) => {
        const line = r.text.split("\n").find((l) => l.startsWith(`${name} `));
        assert.ok(line, `${name} in:\n${r.text}`);
        return Number(line.split(" ")[1]);
      };
      // received: 2 + 1 + (the 2 of the missing_distinct_id batch) + 1 (no token); "{" held none
      assert.equal(value("ferry_events_received_total"), 6);
      assert.equal(value("ferry_events_accepted_total"), 2);
      assert.equal(value("ferry_events_duplicate_total"), 1);
      assert.equal(
        value("ferry_capture_bytes_total"),
        Buffer.byteLength(good) +
          gz.length +
          1 +
          Buffer.byteLength(bad) +
          Buffer.byteLength(JSON.stringify([event()])),
      );
      assert.equal(value('ferry_requests_rejected_total{reason="invalid_payload"}'), 1);
      assert.equal(value('ferry_requests_rejected_total{reason="missing_distinct_id"}'), 1);
      assert.equal(value('ferry_requests_rejected_total{reason="no_token"}'), 1);
    } finally {
      await h.server.close();
    }
  });
});

describe("capture server lifecycle", () => {
  test("close() lets an append in flight finish and be acknowledged, then refuses connections", async () => {
    const h = await new Harness().start();
    let release!: () => void;
    h.gate = new Promise((resolve) => {
      release = resolve;
    });
    const entered = new Promise<void>((resolve) => {
      h.onAppend = resolve;
    });
    const inFlight = send(`${h.url}/batch`, { body: batch([event()]) });
    await entered;
    const closed = h.server.close();
    let closeDone = false;
    void closed.then(() => {
      closeDone = true;
    });
    // readiness and new connections are over while the append is still held
    await assert.rejects(fetch(`${h.url}/_liveness`));
    assert.equal(closeDone, false, "close waits for the request in flight");
    release();
    const r = await inFlight;
    assert.equal(r.status, 200, r.text);
    assert.equal(h.stored.length, 1);
    await closed;
  });

  test("a client that goes away mid-body leaves nothing behind: close() still completes", async () => {
    const h = await new Harness().start();
    const entered = new Promise<void>((resolve) => {
      const req = http.request(`${h.url}/batch`, { method: "POST", headers: { "Content-Length": "100000" } });
      req.on("error", () => {}); // we destroy it ourselves
      req.write(Buffer.alloc(1000, 32), () => {
        req.destroy();
        resolve();
      });
    });
    await entered;
    assert.equal((await send(`${h.url}/batch`, { body: batch([event()]) })).status, 200);
    await h.server.close(); // would never resolve if the aborted request were still counted in flight
    assert.equal(h.stored.length, 1);
  });

  test("close(graceMs) cuts off a client that stalls mid-body, and resolves", async () => {
    const h = await new Harness().start();
    const req = http.request(`${h.url}/batch`, { method: "POST", headers: { "Content-Length": "100000" } });
    const clientSaw = new Promise<string>((resolve) => {
      req.on("error", (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
      req.on("response", (res) => resolve(`status ${res.statusCode}`));
    });
    req.write(Buffer.alloc(1000, 32));
    // wait until the server has the first bytes (the request is in flight), by condition
    while ((await h.metrics.bytes.get()).values[0]?.value !== 1000) await new Promise((r) => setImmediate(r));
    await h.server.close(50);
    assert.equal(await clientSaw, "ECONNRESET");
    assert.equal(h.stored.length, 0);
  });

  test("Expect: 100-continue: a declared body over the limit is refused before it is sent", async () => {
    const h = await new Harness().start();
    try {
      const ask = (length: number, body: Buffer) =>
        new Promise<{ status: number; continued: boolean; text: string }>((resolve, reject) => {
          let continued = false;
          const req = http.request(`${h.url}/e/`, {
            method: "POST",
            headers: { Expect: "100-continue", "Content-Length": String(length) },
          });
          req.on("continue", () => {
            continued = true;
            req.end(body);
          });
          req.on("response", (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, continued, text: Buffer.concat(chunks).toString() }),
            );
          });
          req.on("error", reject);
          req.flushHeaders();
        });
      const big = await ask(50_000_000, Buffer.alloc(0));
      assert.deepEqual([big.status, big.continued], [413, false]);
      assert.match(big.text, /\(50000000 bytes\) is larger than \/e's limit of 2 MB/);
      const body = Buffer.from(batch([event()]));
      const ok = await ask(body.length, body);
      assert.deepEqual([ok.status, ok.continued, ok.text], [200, true, '{"status":1}']);
      assert.equal(h.stored.length, 1);
    } finally {
      await h.server.close();
    }
  });

  test("X-Forwarded-For is used only when the proxy is trusted", async () => {
    const trusting = await new Harness({ trustProxy: true }).start();
    const plain = await new Harness().start();
    try {
      const headers = { "X-Forwarded-For": "198.51.100.4, 10.0.0.1" };
      for (const h of [trusting, plain]) {
        const r = await send(`${h.url}/batch`, { body: batch([event()]), headers });
        assert.equal(r.status, 200, r.text);
      }
      assert.equal(trusting.stored[0]!.ip, "198.51.100.4");
      assert.equal(plain.stored[0]!.ip, "127.0.0.1");
    } finally {
      await trusting.server.close();
      await plain.server.close();
    }
  });
});

/** One request through node's http client (chunked body, a given agent), answered even if the upload is cut off. */
function rawRequest(
  agent: http.Agent,
  url: string,
  write: (req: http.ClientRequest) => void,
): Promise<{ status: number; text: string; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString(),
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.on("error", reject);
    write(req);
  });
}
