/**
 * `ferry serve` end to end with the real posthog-node client (npm, pinned): it sends to a server started in this
 * process (startServe, port 0, a temp dir) and the events land in DuckDB's `events` table with exactly the fields the
 * client sent. A recording `fetch` (posthog-node's own option) keeps each request body as it went over the wire, to
 * compare field by field; the request itself goes to the server unchanged.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import {
  assertEventRow,
  type ClientFetch,
  parseMetrics,
  posthogNode,
  recordingFetch,
  sentEvents,
  startTempServe,
  waitForLoaded,
} from "../helpers/serve.js";
import { duckdbEvents, queryDuckDb } from "../helpers/serve-tables.js";

const TOKEN = "phc_ferry_e2e_node";

const client = (url: string, fetch: ClientFetch, opts?: { flushAt?: number; flushInterval?: number }) =>
  posthogNode(url, TOKEN, fetch, opts);

describe("ferry serve with posthog-node", () => {
  test("capture, identify, alias and groupIdentify land in events with the fields the client sent", async () => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }] });
    try {
      const rec = recordingFetch();
      const ph = client(s.url, rec.fetch);
      const start = Date.now();
      const fixedUuid = randomUUID();
      ph.capture({
        distinctId: "user-1",
        event: "signed_up",
        properties: {
          plan: "pro",
          seats: 3,
          tags: ["a", "b"],
          nested: { ok: true, n: null },
          $set: { email: "ada@example.com" },
        },
      });
      ph.capture({
        distinctId: "user-1",
        event: "imported",
        properties: { source: "csv" },
        timestamp: new Date("2026-01-02T03:04:05.678Z"),
        uuid: fixedUuid,
      });
      ph.identify({
        distinctId: "user-1",
        properties: { $set: { name: "Ada" }, $set_once: { first_seen: "2026-01-01" } },
      });
      ph.alias({ distinctId: "user-1", alias: "anon-7" });
      ph.groupIdentify({
        groupType: "company",
        groupKey: "acme",
        properties: { name: "Acme", employees: 12 },
      });
      await ph.shutdown();
      const end = Date.now();

      assert.deepEqual(
        rec.requests.map((r) => [new URL(r.url).pathname, r.status, r.body.api_key]),
        [["/batch/", 200, TOKEN]],
      );
      const sent = sentEvents(rec.requests);
      assert.deepEqual(
        sent.map((e) => e.event),
        ["signed_up", "imported", "$identify", "$create_alias", "$groupidentify"],
      );
      await waitForLoaded(s, 5);
      const rows = await duckdbEvents(s.dbPath, "web");
      assert.equal(rows.length, 5);
      const byUuid = new Map(rows.map((r) => [r.uuid, r]));
      for (const e of sent) assertEventRow(byUuid.get(e.uuid), e, [start, end]);

      // What the client set, checked by value (not only "as sent").
      const signedUp = rows.find((r) => r.event === "signed_up");
      assert.deepEqual(signedUp?.properties, {
        plan: "pro",
        seats: 3,
        tags: ["a", "b"],
        nested: { ok: true, n: null },
        $lib: "posthog-node",
        $lib_version: "5.74.0",
        $is_server: true,
        $geoip_disable: true,
      });
      assert.deepEqual(signedUp?.set, { email: "ada@example.com" });
      const imported = byUuid.get(fixedUuid);
      assert.equal(imported?.event, "imported");
      // The explicit timestamp, moved by no more than the time between sent_at and the server's receipt.
      const skew = Date.parse(imported?.timestamp ?? "") - Date.parse("2026-01-02T03:04:05.678Z");
      assert.ok(skew >= 0 && skew <= end - start, `timestamp kept within the request's transit (${skew} ms)`);
      const identify = rows.find((r) => r.event === "$identify");
      assert.deepEqual([identify?.set, identify?.set_once], [{ name: "Ada" }, { first_seen: "2026-01-01" }]);
      assert.equal(identify?.properties.$set, undefined);
      const alias = rows.find((r) => r.event === "$create_alias");
      assert.deepEqual([alias?.distinct_id, alias?.properties.alias], ["user-1", "anon-7"]);
      const group = rows.find((r) => r.event === "$groupidentify");
      assert.equal(group?.distinct_id, "$company_acme");
      assert.deepEqual(
        [group?.properties.$group_type, group?.properties.$group_key, group?.properties.$group_set],
        ["company", "acme", { name: "Acme", employees: 12 }],
      );
    } finally {
      await s.cleanup();
    }
  });

  test("500 events sent in batches (flushAt 50, flushInterval 100 ms) land exactly once, each as sent", async () => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }] });
    try {
      const rec = recordingFetch();
      const ph = client(s.url, rec.fetch, { flushAt: 50, flushInterval: 100 });
      const start = Date.now();
      for (let i = 0; i < 500; i++) {
        ph.capture({
          distinctId: `user-${i % 10}`,
          event: i % 2 ? "page_viewed" : "clicked",
          properties: { i },
        });
      }
      await ph.shutdown();
      const end = Date.now();

      assert.ok(rec.requests.length >= 5, `${rec.requests.length} requests (at most 100 events each)`);
      for (const r of rec.requests) {
        assert.equal(r.status, 200);
        assert.equal(r.gzip, true, "posthog-node gzips its batches");
        assert.ok(r.body.batch.length <= 100);
      }
      const sent = sentEvents(rec.requests);
      assert.equal(sent.length, 500);
      assert.equal(new Set(sent.map((e) => e.uuid)).size, 500);

      await waitForLoaded(s, 500);
      const rows = await duckdbEvents(s.dbPath, "web");
      assert.equal(rows.length, 500);
      const byUuid = new Map(rows.map((r) => [r.uuid, r]));
      for (const e of sent) assertEventRow(byUuid.get(e.uuid), e, [start, end]);
      assert.deepEqual(
        rows.map((r) => r.properties.i).sort((a, b) => Number(a) - Number(b)),
        Array.from({ length: 500 }, (_, i) => i),
      );
      assert.equal(s.running.consumer.stats.loaded, 500);
    } finally {
      await s.cleanup();
    }
  });

  test("materialized properties get typed columns of their own next to properties", async () => {
    const s = await startTempServe({
      projects: [
        { token: TOKEN, dataset: "web", materialize: ["$browser", "$current_url", "$screen_width"] },
      ],
    });
    try {
      const rec = recordingFetch();
      const ph = client(s.url, rec.fetch);
      const page = (browser: string | undefined, url: string, width: number) =>
        ph.capture({
          distinctId: "user-m",
          event: "$pageview",
          properties: { ...(browser ? { $browser: browser } : {}), $current_url: url, $screen_width: width },
        });
      page("Firefox", "https://example.com/a?x=1", 1280);
      page("Chrome", "https://example.com/b", 390);
      page(undefined, "https://example.com/c", 1920);
      await ph.shutdown();
      assert.deepEqual(
        rec.requests.map((r) => r.status),
        [200],
      );

      await waitForLoaded(s, 3);
      const columns = await queryDuckDb(
        s.dbPath,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'web' AND table_name = 'events' AND column_name LIKE 'mat%' ORDER BY column_name",
      );
      assert.deepEqual(columns, [
        { column_name: "mat_browser", data_type: "VARCHAR" },
        { column_name: "mat_current_url", data_type: "VARCHAR" },
        { column_name: "mat_screen_width", data_type: "BIGINT" },
      ]);
      const rows = await duckdbEvents(s.dbPath, "web", [
        "mat_browser",
        "mat_current_url",
        "mat_screen_width",
      ]);
      assert.deepEqual(
        rows
          .map((r) => [
            r.mat_browser,
            r.mat_current_url,
            Number(r.mat_screen_width),
            r.properties.$current_url,
          ])
          .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
        [
          ["Firefox", "https://example.com/a?x=1", 1280, "https://example.com/a?x=1"],
          ["Chrome", "https://example.com/b", 390, "https://example.com/b"],
          [null, "https://example.com/c", 1920, "https://example.com/c"],
        ],
      );
      // The property stays in properties as well (materializing copies it).
      assert.equal(rows.find((r) => r.mat_browser === "Chrome")?.properties.$browser, "Chrome");
    } finally {
      await s.cleanup();
    }
  });

  test("/metrics after a run: received, accepted and loaded equal what was sent; the histograms have samples", async () => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }] });
    try {
      const rec = recordingFetch();
      const ph = client(s.url, rec.fetch, { flushAt: 40, flushInterval: 100 });
      for (let i = 0; i < 120; i++)
        ph.capture({ distinctId: `m-${i % 3}`, event: "metered", properties: { i } });
      await ph.shutdown();
      assert.ok(rec.requests.every((r) => r.status === 200));
      // A request for a project the server does not have: refused, counted by its reason.
      const refusedBody = JSON.stringify({
        api_key: "phc_not_a_project",
        batch: [{ event: "x", distinct_id: "d" }],
      });
      const refused = await fetch(`${s.url}/batch/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: refusedBody,
      });
      assert.equal(refused.status, 401);
      await refused.text();
      await waitForLoaded(s, 120);

      const res = await fetch(`${s.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      const m = parseMetrics(await res.text());
      const bytesSent = rec.requests.reduce((n, r) => n + r.bytes, 0);
      assert.equal(m.get("ferry_events_received_total"), 121, "120 sent by the client + 1 refused");
      assert.equal(m.get("ferry_events_accepted_total"), 120);
      assert.equal(m.get("ferry_events_loaded_total"), 120);
      assert.equal(m.get('ferry_requests_rejected_total{reason="unknown_token"}'), 1);
      assert.equal(m.get("ferry_events_duplicate_total"), 0);
      assert.equal(
        m.get("ferry_capture_bytes_total"),
        bytesSent + refusedBody.length,
        "every body's bytes as sent",
      );
      assert.equal(m.get("ferry_consumer_lag_events"), 0);
      // One load-duration sample per micro-batch, one visibility sample per loaded event.
      assert.equal(m.get("ferry_load_duration_seconds_count"), s.running.consumer.stats.batches);
      assert.ok((m.get("ferry_load_duration_seconds_count") ?? 0) >= 1);
      assert.ok((m.get("ferry_load_duration_seconds_sum") ?? 0) > 0);
      assert.equal(m.get("ferry_visibility_latency_seconds_count"), 120);
      assert.equal(m.get('ferry_visibility_latency_seconds_bucket{le="+Inf"}'), 120);
      assert.ok((m.get("ferry_visibility_latency_seconds_sum") ?? 0) > 0);
    } finally {
      await s.cleanup();
    }
  });
});
