/**
 * `Pipeline.hold()`: the next package is extracted and normalized while the one before it loads (what `ferry serve`'s
 * event loader does with micro-batches), packages commit in order with their own state, and a package the
 * destination rejects takes the packages prepared after it along. Real DuckDB files; the load that is still going on
 * while the next package is prepared is one blocked by another process holding the file (DuckDB's lock).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { type Logger, PipelineBusyError, resource, source } from "../../src/index.js";
import { holdDuckDbFile } from "../helpers/serve-tables.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

/** A source whose one resource yields `rows` into `table` and records `cursor` in its state. */
function things(rows: Record<string, unknown>[], cursor: number, table = "things") {
  return source({
    name: "shop",
    resources: [
      resource({ name: "things", table, writeDisposition: "append" }, async function* (ctx) {
        ctx.state.cursor = cursor;
        yield rows;
      }),
    ],
  });
}

async function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function exec(path: string, sql: string): Promise<void> {
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    await conn.run(sql);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
}

const cursorOf = (state: unknown) =>
  (state as { sources: { shop: { resources: { things: { state: { cursor: number } } } } } }).sources.shop
    .resources.things.state.cursor;

describe("Pipeline.hold", () => {
  test("prepares the next package while the one before loads; both commit in order with their state", async () => {
    const t = tempPipeline("held", {
      dataset: "shop",
      retry: { attempts: 100, initialDelayMs: 50, maxDelayMs: 200 },
    });
    try {
      await t.p.run(things([{ id: 0 }], 0));
      const hold = await t.p.hold();
      try {
        await assert.rejects(t.p.run(things([{ id: 99 }], 99)), PipelineBusyError, "the pipeline is held");

        const first = await hold.prepare(things([{ id: 1 }, { id: 2 }], 1));
        assert.deepEqual(first.rows, { things: 2 });
        const reader = await holdDuckDbFile(t.dbPath);
        let firstSettled = false;
        const loadingFirst = hold.load(first.loadId).finally(() => {
          firstSettled = true;
        });
        try {
          // The first package cannot load while another process holds the file; the next one is prepared anyway,
          // on top of the first one's state.
          const second = await hold.prepare(things([{ id: 3 }], 2));
          assert.equal(firstSettled, false, "the second package was prepared while the first was loading");
          const pending = (await t.p.packages()).pending;
          assert.deepEqual(
            pending.map((p) => p.loadId),
            [first.loadId, second.loadId],
          );
          const [s1, s2] = await Promise.all(pending.map((p) => p.state()));
          assert.equal(cursorOf(s1), 1);
          assert.equal(cursorOf(s2), 2);
          assert.equal((s2?.version ?? 0) - (s1?.version ?? 0), 1, "the second state follows the first");
        } finally {
          await reader.release();
        }
        const loaded = await loadingFirst;
        assert.deepEqual(loaded.loadIds, [first.loadId], "a load stops at the package it was asked for");
        assert.equal(cursorOf(t.p.state), 1);
        const rest = await hold.load();
        assert.equal(rest.loadIds.length, 1);
        assert.deepEqual(rest.rows, { things: 1 });
        assert.equal(cursorOf(t.p.state), 2);
      } finally {
        await hold.release();
      }
      // Released: the pipeline runs as usual again, and the table holds each row once, in package order.
      await t.p.run(things([{ id: 4 }], 4));
      const rows = await query(t.dbPath, "SELECT id FROM shop.things ORDER BY _ferry_load_id, id");
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        [0, 1, 2, 3, 4],
      );
      assert.equal(cursorOf(t.p.state), 4);
    } finally {
      t.cleanup();
    }
  });

  test("a package the destination rejects is set aside with the packages prepared after it", async () => {
    const log = recordingLogger();
    const t = tempPipeline("rejected", { dataset: "ds", logger: log });
    try {
      await t.p.run(things([{ id: 1 }], 1));
      // A table made outside the pipeline, whose bigint column cannot take the next package's text.
      await exec(
        t.dbPath,
        "CREATE TABLE ds.widgets (_ferry_id VARCHAR, _ferry_load_id VARCHAR, note BIGINT)",
      );
      const hold = await t.p.hold();
      try {
        const bad = await hold.prepare(things([{ note: "not a number" }], 2, "widgets"));
        const after = await hold.prepare(things([{ id: 3 }], 3));
        await assert.rejects(hold.load(bad.loadId), /load package .* failed/);
        const { pending, failed } = await t.p.packages();
        assert.deepEqual(
          failed.map((p) => p.loadId),
          [bad.loadId],
        );
        assert.deepEqual(pending, [], "the package prepared on top of the rejected one is gone too");
        assert.ok(
          log.warnings.some((w) => w.includes(after.loadId) && /prepared after the failed one/.test(w)),
          log.warnings.join("\n"),
        );
        assert.equal(cursorOf(t.p.state), 1, "the committed state is the last loaded package's");
        // Preparing again from the committed state works.
        const again = await hold.prepare(things([{ id: 3 }], 3));
        await hold.load(again.loadId);
      } finally {
        await hold.release();
      }
      const rows = await query(t.dbPath, "SELECT id FROM ds.things ORDER BY id");
      assert.deepEqual(
        rows.map((r) => Number(r.id)),
        [1, 3],
      );
      assert.deepEqual(await query(t.dbPath, "SELECT count(*)::INT AS n FROM ds.widgets"), [{ n: 0 }]);
      assert.equal(cursorOf(t.p.state), 3);
    } finally {
      t.cleanup();
    }
  });
});
