/**
 * The event consumer prepares the next micro-batch while the one before loads, and leaves readers of a destination a
 * load holds for itself a gap between loads. Real parts: the embedded segment log on disk, the project's event
 * loader and a DuckDB file; the loader's own methods are wrapped only to record when each step started and ended.
 * The time assertions are lower bounds the consumer enforces (a busy machine only makes the gaps longer).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import type { CapturedEvent } from "../../src/events/event.js";
import { EventConsumer } from "../../src/events/ingest/consumer.js";
import { EventLoader } from "../../src/events/ingest/event-loader.js";
import { SegmentLog } from "../../src/events/log/segment-log.js";
import { EventMetrics } from "../../src/events/metrics.js";
import { silentLogger } from "../../src/index.js";

const TOKEN = "phc_overlap";

function event(i: number): CapturedEvent {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)).toISOString();
  return {
    uuid: `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`,
    event: "tick",
    distinct_id: `u${i % 7}`,
    token: TOKEN,
    timestamp: at,
    created_at: at,
    properties: { i },
    set: null,
    set_once: null,
    elements_chain: null,
    ip: null,
  };
}

test("the next batch is prepared while the one before loads; loads keep the reader gap; each event lands once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-overlap-"));
  const dbPath = join(dir, "events.duckdb");
  const log = await SegmentLog.open({ dir: join(dir, "log"), partitions: 2, log: silentLogger });
  const project = { token: TOKEN, dataset: "web", materialize: [] };
  const loader = new EventLoader(project, {
    destination: `duckdb:${dbPath}`,
    dir: join(dir, "pipelines"),
    logId: log.id,
    log: silentLogger,
  });
  // When each step started and ended, in order.
  const steps: { step: "prepare" | "load"; start: number; end: number }[] = [];
  const timed =
    <A extends unknown[], R>(step: "prepare" | "load", fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const entry = { step, start: Date.now(), end: Number.POSITIVE_INFINITY };
      steps.push(entry);
      try {
        return await fn(...a);
      } finally {
        entry.end = Date.now();
      }
    };
  loader.prepare = timed("prepare", loader.prepare.bind(loader));
  loader.loadPrepared = timed("load", loader.loadPrepared.bind(loader));

  const gapMs = 300;
  const total = 3_000;
  // The consumer starts behind by three catch-up batches.
  for (let i = 0; i < total; i += 500) await log.append(Array.from({ length: 500 }, (_, k) => event(i + k)));
  const consumer = new EventConsumer({
    log,
    loaders: new Map([[TOKEN, loader]]),
    batchEvents: 100,
    catchUpEvents: 1_000,
    batchMs: 50,
    readerGapMs: gapMs,
    metrics: new EventMetrics(),
    logger: silentLogger,
  });
  try {
    await consumer.start();
    await consumer.stop({ drain: true });
  } finally {
    await log.close();
  }
  try {
    assert.equal(consumer.stats.loaded, total);
    const prepares = steps.filter((s) => s.step === "prepare");
    const loads = steps.filter((s) => s.step === "load");
    assert.equal(prepares.length, 3, JSON.stringify(steps));
    assert.equal(loads.length, 3, JSON.stringify(steps));
    for (let i = 1; i < loads.length; i++) {
      const before = loads[i - 1] as (typeof loads)[number];
      const load = loads[i] as (typeof loads)[number];
      const prepare = prepares[i] as (typeof prepares)[number];
      assert.ok(prepare.start < before.end, `batch ${i + 1} was prepared while batch ${i} loaded`);
      assert.ok(load.start >= before.end, `batch ${i + 1} loaded after batch ${i}`);
      assert.ok(
        load.start - before.end >= gapMs,
        `readers had ${load.start - before.end} ms between loads ${i} and ${i + 1}`,
      );
    }
    const db = await DuckDBInstance.create(dbPath, { access_mode: "READ_ONLY" });
    const conn = await db.connect();
    const [row] = (
      await conn.runAndReadAll(
        "SELECT count(*)::INT AS n, count(DISTINCT uuid)::INT AS u, min(properties->>'i')::INT AS lo FROM web.events",
      )
    ).getRowObjectsJson();
    conn.closeSync();
    db.closeSync();
    assert.deepEqual(row, { n: total, u: total, lo: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
