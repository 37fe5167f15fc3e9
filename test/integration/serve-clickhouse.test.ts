/**
 * `ferry serve` into ClickHouse: the modern engine (chdb behind a ClickHouse HTTP endpoint, standing in for a 26.7
 * server) and Debian's real 18.16 server (`scripts/services.sh up chdb clickhouse`). Events from the real posthog-node
 * client land in `<dataset>.events`, laid out as PostHog's (ReplacingMergeTree on the ingestion time, by month of
 * `timestamp`, sorted so a retried event collapses), with the contract's columns in each server's types; the CLI's
 * `ferry serve --destination clickhouse://...` does the same.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { clickhouseStagingDatabase } from "../../src/destinations/clickhouse/index.js";
import { serverFeatures } from "../../src/destinations/clickhouse/server-features.js";
import { EventLoader } from "../../src/events/ingest/event-loader.js";
import type { IngestEvent } from "../../src/events/ingest/stage.js";
import { silentLogger } from "../../src/index.js";
import { dropDatabases } from "../helpers/backends.js";
import {
  clickhouseColumns,
  clickhouseCount,
  clickhouseEngine,
  clickhouseEvents,
  withClickHouse,
} from "../helpers/clickhouse-tables.js";
import {
  assertEventRow,
  keptProperties,
  posthogNode,
  recordingFetch,
  type SentEvent,
  sentEvents,
  skewCorrected,
  startTempServe,
  waitFor,
} from "../helpers/serve.js";
import { ServeProcess } from "../helpers/serve-cli.js";
import type { EventRow } from "../helpers/serve-tables.js";
import { service } from "../helpers/services.js";

const TOKEN = "phc_ferry_e2e_ch";

/** Polls the server until `<dataset>.events` holds exactly `n` rows. */
function waitForRows(url: string, dataset: string, n: number): Promise<true> {
  let last = -1;
  return waitFor(
    `${n} rows in ${dataset}.events`,
    async () => {
      last = await clickhouseCount(url, dataset, "events");
      return last === n;
    },
    90_000,
    () => last,
  );
}

for (const which of ["chdb", "clickhouse"] as const) {
  const svc = await service(which);
  const f = svc.skip ? serverFeatures("26.7") : await withClickHouse(svc.url, async (c) => c.features);
  const ts = f.dateTime64 ? "DateTime64(6, 'UTC')" : "DateTime('UTC')";

  /**
   * Every field of a row against the event sent. Where timestamps are whole seconds (before 20.1: DateTime), the
   * skew-corrected timestamp is checked to the second.
   */
  const assertRow = (
    row: EventRow | undefined,
    sent: SentEvent & { sentAt: string },
    window: [number, number],
  ) => {
    if (f.dateTime64) return assertEventRow(row, sent, window);
    assert.ok(row, `event ${sent.uuid} is in the table`);
    assert.equal(row.event, sent.event);
    assert.equal(row.distinct_id, sent.distinct_id);
    const want = Date.parse(skewCorrected(row.created_at, sent.timestamp, sent.sentAt));
    assert.ok(Math.abs(Date.parse(row.timestamp) - want) < 1000, `${row.timestamp} is the event's second`);
    assert.ok(
      Date.parse(row.created_at) >= Math.floor(window[0] / 1000) * 1000 &&
        Date.parse(row.created_at) <= window[1],
    );
    assert.deepEqual(row.properties, keptProperties(sent));
    assert.equal(row.ip, "127.0.0.1");
  };

  describe(`ferry serve into ClickHouse [${which === "chdb" ? "26.7 (chdb)" : f.version}]`, {
    skip: svc.skip,
  }, () => {
    test("posthog-node's events land in <dataset>.events, laid out as PostHog's, with the fields sent", async () => {
      const dataset = `serve_ch_${randomBytes(4).toString("hex")}`;
      const s = await startTempServe(
        { projects: [{ token: TOKEN, dataset, materialize: ["$browser"] }] },
        { destination: svc.url },
      );
      try {
        const rec = recordingFetch();
        const ph = posthogNode(s.url, TOKEN, rec.fetch, { flushAt: 50, flushInterval: 100 });
        const start = Date.now();
        ph.capture({
          distinctId: "ch-user",
          event: "$pageview",
          properties: { $browser: "Firefox", depth: 2 },
        });
        ph.identify({ distinctId: "ch-user", properties: { $set: { name: "Ada" } } });
        for (let i = 0; i < 148; i++)
          ph.capture({ distinctId: `ch-${i % 7}`, event: "clicked", properties: { i, "tab\there": "a\nb" } });
        await ph.shutdown();
        const end = Date.now();
        assert.ok(rec.requests.every((r) => r.status === 200));
        const sent = sentEvents(rec.requests);
        assert.equal(sent.length, 150);
        await waitForRows(svc.url, dataset, 150);

        const columns = new Map(await clickhouseColumns(svc.url, dataset, "events"));
        assert.deepEqual(
          [
            "uuid",
            "event",
            "distinct_id",
            "timestamp",
            "created_at",
            "properties",
            "set",
            "ip",
            "mat_browser",
          ].map((c) => [c, columns.get(c)]),
          [
            ["uuid", "String"],
            ["event", "String"],
            ["distinct_id", "String"],
            ["timestamp", ts],
            ["created_at", ts],
            ["properties", "Nullable(String)"],
            ["set", "Nullable(String)"],
            ["ip", "Nullable(String)"],
            ["mat_browser", "Nullable(String)"],
          ],
        );
        const engine = await clickhouseEngine(svc.url, dataset, "events");
        assert.equal(engine.engine, "ReplacingMergeTree");
        assert.match(
          engine.engine_full,
          /^ReplacingMergeTree\(created_at\) PARTITION BY toYYYYMM\(timestamp\) ORDER BY /,
        );
        assert.equal(engine.partition_key, "toYYYYMM(timestamp)");
        assert.equal(
          engine.sorting_key,
          "toDate(timestamp), event, cityHash64(distinct_id), cityHash64(uuid)",
        );

        const rows = await clickhouseEvents(svc.url, dataset, { extra: ["mat_browser"] });
        assert.equal(rows.length, 150);
        const byUuid = new Map(rows.map((r) => [r.uuid, r]));
        for (const e of sent) assertRow(byUuid.get(e.uuid), e, [start, end]);
        const page = rows.find((r) => r.event === "$pageview");
        assert.deepEqual([page?.mat_browser, page?.properties.depth], ["Firefox", 2]);
        assert.deepEqual(rows.find((r) => r.event === "$identify")?.set, { name: "Ada" });
      } finally {
        await s.cleanup();
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    });

    test("an event stored twice (a retry that reached two loads) collapses into its latest copy", async () => {
      const dataset = `serve_ch_${randomBytes(4).toString("hex")}`;
      const dir = mkdtempSync(join(tmpdir(), "ferry-ch-"));
      const loader = new EventLoader(
        { token: TOKEN, dataset, materialize: [] },
        { destination: svc.url, dir, logId: "test-log", log: silentLogger },
      );
      const event = (uuid: string, createdAt: string, attempt: number): IngestEvent => ({
        uuid,
        event: "signed_up",
        distinct_id: "dup-user",
        token: TOKEN,
        timestamp: "2026-11-30T23:59:58.000Z",
        created_at: createdAt,
        properties: { attempt },
        set: null,
        set_once: null,
        elements_chain: null,
        ip: "127.0.0.1",
      });
      const once = (events: IngestEvent[]) =>
        async function* () {
          yield events;
        };
      try {
        const dup = "0193a1b2-0000-7000-8000-000000000001";
        await loader.load(
          once([
            event(dup, "2026-12-01T00:00:01.000Z", 1),
            event("0193a1b2-0000-7000-8000-000000000002", "2026-12-01T00:00:01.000Z", 1),
          ]),
          {},
          { 0: 2 },
        );
        await loader.load(once([event(dup, "2026-12-01T00:00:09.000Z", 2)]), {}, { 0: 3 });
        assert.equal(await clickhouseCount(svc.url, dataset, "events"), 3, "both copies are stored");
        const final = await clickhouseEvents(svc.url, dataset);
        assert.deepEqual(
          final.map((r) => [r.uuid.slice(-1), r.properties.attempt, r.created_at]),
          [
            ["1", 2, "2026-12-01T00:00:09.000Z"],
            ["2", 1, "2026-12-01T00:00:01.000Z"],
          ],
          "FINAL keeps the copy ingested last",
        );
        await withClickHouse(svc.url, (c) => c.command(`OPTIMIZE TABLE \`${dataset}\`.events FINAL`));
        assert.equal(await clickhouseCount(svc.url, dataset, "events"), 2, "a merge removes the older copy");
        // The month partition of `timestamp` (November), not of the ingestion time (December).
        const parts = await withClickHouse(svc.url, (c) =>
          c.query(
            `SELECT DISTINCT partition FROM system.parts WHERE database = '${dataset}' AND table = 'events' AND active`,
          ),
        );
        assert.deepEqual(
          parts.map((p) => String(p.partition)),
          ["202611"],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    });

    test("the CLI: ferry serve --destination clickhouse://... loads what posthog-node sends, SIGTERM loads the rest", async () => {
      const dataset = `serve_ch_${randomBytes(4).toString("hex")}`;
      const cwd = mkdtempSync(join(tmpdir(), "ferry-ch-cli-"));
      let p: ServeProcess | undefined;
      try {
        p = await ServeProcess.start(
          ["--port", "0", "--destination", svc.url, "--token", TOKEN, "--dataset", dataset],
          cwd,
        );
        const rec = recordingFetch();
        const ph = posthogNode(p.url, TOKEN, rec.fetch, { flushAt: 20, flushInterval: 100 });
        for (let i = 0; i < 60; i++)
          ph.capture({ distinctId: `cli-${i % 3}`, event: "cli_event", properties: { i } });
        await ph.shutdown();
        assert.ok(rec.requests.every((r) => r.status === 200));
        assert.deepEqual(await p.stop("SIGTERM"), { code: 0, signal: null });
        const rows = await clickhouseEvents(svc.url, dataset);
        assert.deepEqual(
          rows.map((r) => r.properties.i).sort((a, b) => Number(a) - Number(b)),
          Array.from({ length: 60 }, (_, i) => i),
        );
        assert.deepEqual(
          new Set(rows.map((r) => r.uuid)),
          new Set(sentEvents(rec.requests).map((e) => e.uuid)),
        );
        assert.ok(!p.lines.join("\n").includes("ferry:ferry@"), "the password is not logged");
      } finally {
        await p?.kill();
        rmSync(cwd, { recursive: true, force: true });
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    });
  });
}
