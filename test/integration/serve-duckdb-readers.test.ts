/**
 * `ferry serve` into DuckDB while other processes read the file: the server holds the file only while it loads, so
 * a read-only reader can query between loads; while a reader holds the file, events are still acknowledged (they are
 * in the log), the server logs its retries and keeps serving, and once the reader lets go everything lands, once.
 * The readers are real separate processes (test/helpers/serve-duckdb-child.ts): DuckDB's file lock is per process.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  parseMetrics,
  posthogNode,
  recordingFetch,
  sentEvents,
  startTempServe,
  waitFor,
  waitForLoaded,
} from "../helpers/serve.js";
import { type FileHolder, holdDuckDbFile, queryDuckDbElsewhere } from "../helpers/serve-tables.js";

const TOKEN = "phc_ferry_e2e_readers";

const count = async (path: string, sql: string) => Number((await queryDuckDbElsewhere(path, sql))[0]?.n);

describe("ferry serve with DuckDB readers in other processes", () => {
  test("a reader holding the file: events are acknowledged, loads are retried, all land once it lets go", async (t) => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }] });
    let holder: FileHolder | undefined;
    try {
      const rec = recordingFetch();
      const send = async (tag: string, n: number) => {
        const ph = posthogNode(s.url, TOKEN, rec.fetch, { flushAt: 10, flushInterval: 100 });
        for (let i = 0; i < n; i++) ph.capture({ distinctId: `r-${i % 3}`, event: tag, properties: { i } });
        await ph.shutdown();
      };
      await send("before", 20);
      await waitForLoaded(s, 20);
      // Between loads the file is free: a read-only reader in another process queries it while the server runs.
      assert.equal(await count(s.dbPath, "SELECT count(*) AS n FROM web.events"), 20);

      holder = await holdDuckDbFile(s.dbPath);
      const failuresBefore = s.running.consumer.stats.failures;
      await send("while_held", 30);
      assert.equal(sentEvents(rec.requests).length, 50);
      assert.ok(
        rec.requests.every((r) => r.status === 200),
        "acknowledged while the file is held: they are in the log",
      );
      // The loader cannot open the file: it says so and retries, and the server keeps serving.
      await waitFor(
        "a failed load, to be retried",
        () => s.running.consumer.stats.failures >= failuresBefore + 1,
        60_000,
        () => s.running.consumer.stats,
      );
      const retries = s.log.lines.filter(
        (l) => l.level === "error" && /^loading events failed \(retrying in \d+ ms\)/.test(l.msg),
      );
      assert.ok(retries.length >= 1, JSON.stringify(s.log.lines));
      assert.match(retries[0]?.msg ?? "", /lock/i, "the message says why: another process holds the file");
      assert.equal(s.running.consumer.stats.loaded, 20, "nothing more loaded while the file is held");
      assert.equal((await fetch(`${s.url}/_liveness`)).status, 200);
      assert.equal((await fetch(`${s.url}/_readiness`)).status, 200);

      await holder.release();
      let last = -1;
      await waitFor(
        "the 50 events in the table",
        async () => {
          last = await count(s.dbPath, "SELECT count(*) AS n FROM web.events");
          return last === 50 && s.running.consumer.stats.lag === 0;
        },
        90_000,
        () => ({ rows: last, ...s.running.consumer.stats }),
      );
      await s.stop(); // nothing is left to load: the table stays as it is
      const rows = await queryDuckDbElsewhere(
        s.dbPath,
        "SELECT event, count(*) AS n, count(DISTINCT uuid) AS u FROM web.events GROUP BY event ORDER BY event",
      );
      assert.deepEqual(
        rows.map((r) => [r.event, Number(r.n), Number(r.u)]),
        [
          ["before", 20, 20],
          ["while_held", 30, 30],
        ],
      );
      const uuids = await queryDuckDbElsewhere(s.dbPath, "SELECT uuid FROM web.events");
      assert.deepEqual(
        new Set(uuids.map((r) => r.uuid)),
        new Set(sentEvents(rec.requests).map((e) => e.uuid)),
      );
      const metrics = parseMetrics(await s.running.metrics.registry.metrics());
      assert.equal(metrics.get("ferry_events_accepted_total"), 50);
      await t.test("the loaded counter counts the events a retried load brought in", {}, () => {
        assert.equal(s.running.consumer.stats.loaded, 50);
        assert.equal(metrics.get("ferry_events_loaded_total"), 50);
        assert.equal(metrics.get("ferry_visibility_latency_seconds_count"), 50);
      });
    } finally {
      await holder?.release().catch(() => holder?.child.kill("SIGKILL"));
      await s.cleanup();
    }
  });

  test("readers querying again and again while clients send: each query succeeds, counts only grow, all land", async () => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "web" }], batch_interval: "100ms" });
    try {
      const rec = recordingFetch();
      const ph = posthogNode(s.url, TOKEN, rec.fetch, { flushAt: 20, flushInterval: 50 });
      const total = 200;
      const seen: number[] = [];
      let sending = true;
      // The table exists once the first event is loaded; the reader starts after that.
      ph.capture({ distinctId: "first", event: "read_while_loading", properties: { i: 0 } });
      await ph.flush();
      await waitForLoaded(s, 1);
      // A reader in another process, again and again while the events arrive (it waits out each load's lock).
      const deadline = Date.now() + 120_000;
      const reader = (async () => {
        while ((sending || seen.at(-1) !== total) && Date.now() < deadline) {
          seen.push(await count(s.dbPath, "SELECT count(*) AS n FROM web.events"));
        }
      })();
      // Five rounds: send 40, wait until they are loaded and the reader has read since: reads and loads interleave.
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < (round === 4 ? 39 : 40); i++) {
          ph.capture({
            distinctId: `w-${i % 5}`,
            event: "read_while_loading",
            properties: { i: round * 40 + i + 1 },
          });
        }
        await ph.flush();
        const reads = seen.length;
        await waitForLoaded(s, round === 4 ? total : (round + 1) * 40 + 1);
        await waitFor("a read after the load", () => seen.length > reads + 1, 60_000);
      }
      await ph.shutdown();
      sending = false;
      await waitForLoaded(s, total);
      await reader;
      assert.ok(rec.requests.every((r) => r.status === 200));
      assert.ok(seen.length >= 10, `${seen.length} reads`);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        "a reader never sees fewer events than before",
      );
      assert.equal(seen.at(-1), total);
      assert.equal(s.running.consumer.stats.loaded, total);
    } finally {
      await s.cleanup();
    }
  });
});
