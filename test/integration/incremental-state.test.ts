import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import { type Pipeline, resource } from "../../src/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

interface Rec {
  id: number;
  ts: number;
}

/** An "API" that ignores the start value and returns everything it has, in pages of 3. */
function events(store: Rec[], seen: unknown[], extra: Partial<Parameters<typeof resource>[0] & object> = {}) {
  return resource(
    { name: "events", primaryKey: "id", incremental: { cursor: "ts", initialValue: 0 }, ...extra },
    function* (ctx) {
      seen.push(ctx.incremental.startValue);
      for (let i = 0; i < store.length; i += 3) yield store.slice(i, i + 3);
    },
  );
}

const ids = async (p: Pipeline, table = "events") =>
  (await p.dataset().sql(`select id from ${table} order by id`)).map((r) => r.id);

const stateOf = (p: Pipeline) => p.state;

const cursorOf = (p: Pipeline, res = "events", cursor = "ts") =>
  p.state?.sources[p.name]?.resources[res]?.incremental?.[cursor];

describe("incremental loading and state", () => {
  test("three runs load only new records; boundary records are not duplicated", async () => {
    const { p, cleanup } = tempPipeline("inc3");
    try {
      const store: Rec[] = [];
      const seen: unknown[] = [];
      // Run 1: ts 1..9 and two records at the boundary ts 10.
      for (let i = 1; i <= 9; i++) store.push({ id: i, ts: i });
      store.push({ id: 10, ts: 10 }, { id: 11, ts: 10 });
      const r1 = await p.run(events(store, seen));
      assert.deepEqual(r1.rows, { events: 11 });
      assert.deepEqual(cursorOf(p)?.lastValue, 10);
      assert.equal(cursorOf(p)?.boundaryHashes.length, 2);
      assert.equal(cursorOf(p)?.initialValue, 0);

      // Run 2: a late record at the boundary (id 12, ts 10) and ts 11..15.
      store.push({ id: 12, ts: 10 });
      for (let i = 11; i <= 15; i++) store.push({ id: i + 2, ts: i });
      const r2 = await p.run(events(store, seen));
      assert.deepEqual(r2.rows, { events: 6 });
      assert.deepEqual(r2.items, { events: 6 });
      assert.equal(cursorOf(p)?.lastValue, 15);
      assert.equal(cursorOf(p)?.boundaryHashes.length, 1);

      // Run 3: nothing new, then two new records.
      const r3 = await p.run(events(store, seen));
      assert.deepEqual(r3.rows, {});
      store.push({ id: 30, ts: 15 }, { id: 31, ts: 16 });
      const r4 = await p.run(events(store, seen));
      assert.deepEqual(r4.rows, { events: 2 });

      assert.deepEqual(seen, [0, 10, 15, 15]);
      assert.deepEqual(await ids(p), [...Array.from({ length: 17 }, (_, i) => i + 1), 30, 31]);
      assert.deepEqual(await p.dataset().sql("select count(*) as n, count(distinct id) as d from events"), [
        { n: 19, d: 19 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("ISO timestamp cursors and a generator that uses startValue", async () => {
    const { p, cleanup } = tempPipeline("incts");
    try {
      const all = Array.from({ length: 10 }, (_, i) => ({
        id: i + 1,
        updated_at: `2024-01-${String(i + 1).padStart(2, "0")}T00:00:00Z`,
      }));
      const starts: unknown[] = [];
      let upto = 4;
      const r = () =>
        resource(
          {
            name: "docs",
            primaryKey: "id",
            incremental: { cursor: "updated_at", initialValue: "2024-01-02T00:00:00Z" },
          },
          async function* (ctx) {
            starts.push(ctx.incremental.startValue);
            yield all.slice(0, upto).filter((d) => d.updated_at >= String(ctx.incremental.startValue));
          },
        );
      assert.deepEqual((await p.run(r())).rows, { docs: 3 }); // Jan 2..4
      upto = 7;
      assert.deepEqual((await p.run(r())).rows, { docs: 3 }); // Jan 5..7 (Jan 4 is the boundary)
      upto = 10;
      assert.deepEqual((await p.run(r())).rows, { docs: 3 });
      assert.deepEqual(starts, ["2024-01-02T00:00:00Z", "2024-01-04T00:00:00Z", "2024-01-07T00:00:00Z"]);
      assert.deepEqual(await ids(p, "docs"), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(cursorOf(p, "docs", "updated_at")?.lastValue, "2024-01-10T00:00:00Z");
    } finally {
      cleanup();
    }
  });

  test("ctx.state persists between runs and is committed with the load", async () => {
    const { p, cleanup } = tempPipeline("ctxstate");
    try {
      const seen: unknown[] = [];
      const r = resource("pages", function* (ctx) {
        seen.push(structuredClone(ctx.state));
        const next = ((ctx.state.next as number | undefined) ?? 0) + 2;
        yield [{ page: next - 1 }, { page: next }];
        ctx.state.next = next;
        ctx.state.history = [...((ctx.state.history as number[] | undefined) ?? []), next];
      });
      await p.run(r);
      await p.run(r);
      await p.run(r);
      assert.deepEqual(seen, [{}, { next: 2, history: [2] }, { next: 4, history: [2, 4] }]);
      assert.deepEqual(p.state?.sources.ctxstate?.resources.pages?.state, { next: 6, history: [2, 4, 6] });
      assert.deepEqual(
        (await p.dataset().sql("select page from pages order by page")).map((x) => x.page),
        [1, 2, 3, 4, 5, 6],
      );
      const stored = await p
        .dataset()
        .sql("select state from _ferry_pipeline_state order by version desc limit 1");
      assert.deepEqual(JSON.parse(String(stored[0]?.state)).sources.ctxstate.resources.pages.state, {
        next: 6,
        history: [2, 4, 6],
      });
      // A failing run does not commit its state changes.
      const failing = resource("pages", function* (ctx) {
        ctx.state.next = 1000;
        yield { page: 0 };
        throw new Error("api down");
      });
      await assert.rejects(p.run(failing), /resource "pages" failed: api down/);
      await p.run(r);
      assert.deepEqual(seen.at(-1), { next: 6, history: [2, 4, 6] });
    } finally {
      cleanup();
    }
  });

  test("an endValue backfill loads its range and does not move the stored cursor", async () => {
    const { p, cleanup } = tempPipeline("backfill");
    try {
      const store: Rec[] = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, ts: i + 1 }));
      const seen: unknown[] = [];
      // Normal run over ts 11..20.
      await p.run(events(store, seen, { incremental: { cursor: "ts", initialValue: 11 } }));
      assert.deepEqual(
        await ids(p),
        Array.from({ length: 10 }, (_, i) => i + 11),
      );
      const before = structuredClone(cursorOf(p));
      assert.equal(before?.lastValue, 20);
      // Backfill [3, 6): ts 3, 4, 5.
      const info = await p.run(
        events(store, seen, { incremental: { cursor: "ts", initialValue: 3, endValue: 6 } }),
      );
      assert.deepEqual(info.rows, { events: 3 });
      assert.deepEqual(cursorOf(p), before);
      // The next normal run continues after 20.
      store.push({ id: 21, ts: 21 });
      const next = await p.run(events(store, seen, { incremental: { cursor: "ts", initialValue: 11 } }));
      assert.deepEqual(next.rows, { events: 1 });
      assert.deepEqual(seen, [11, 3, 20]);
      assert.deepEqual(await ids(p), [3, 4, 5, ...Array.from({ length: 11 }, (_, i) => i + 11)]);
    } finally {
      cleanup();
    }
  });

  test("losing the working dir: state and schema are restored from the destination", async () => {
    const { p, cleanup, reopen } = tempPipeline("restore", { dataset: "restored" });
    try {
      const store: Rec[] = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, ts: i + 1 }));
      const seen: unknown[] = [];
      await p.run(events(store, seen));
      await p.run([{ id: 1, extra: "x" }], { table: "other" });
      const schemaBefore = p.schema;
      assert.equal(schemaBefore?.version, 2);
      rmSync(p.dir, { recursive: true, force: true });

      const q = reopen();
      assert.equal(stateOf(q), undefined); // nothing local yet
      store.push({ id: 6, ts: 6 }, { id: 7, ts: 7 });
      const info = await q.run(events(store, seen));
      assert.deepEqual(info.rows, { events: 2 });
      assert.deepEqual(seen, [0, 5]);
      assert.deepEqual(info.schemaChanges, []);
      assert.equal(info.schemaVersion, 2);
      assert.deepEqual(q.schema, schemaBefore);
      assert.equal(cursorOf(q)?.lastValue, 7);
      assert.equal(q.state?.version, 3);
      assert.deepEqual(await ids(q), [1, 2, 3, 4, 5, 6, 7]);

      // syncFromDestination() restores without running, and p.state shows the restored cursor.
      rmSync(q.dir, { recursive: true, force: true });
      const r = reopen();
      assert.equal(await r.syncFromDestination(), true);
      assert.equal(cursorOf(r)?.lastValue, 7);
      assert.equal(r.state?.lastLoadId, info.loadId);
    } finally {
      cleanup();
    }
  });

  test("the schema version increases only when the schema changes; _ferry_version has one row per version", async () => {
    const { p, cleanup } = tempPipeline("versions");
    try {
      const versions: Array<number | undefined> = [];
      for (const batch of [
        [{ a: 1 }],
        [{ a: 2 }],
        [{ a: 3, b: "x" }],
        [{ a: 4, b: "y" }],
        [{ a: "text" }],
        [{ a: 5 }],
      ]) {
        versions.push((await p.run(batch, { table: "t" })).schemaVersion);
      }
      // New column b at run 3; a text value for a bigint column makes variant column a__v_text at run 5.
      assert.deepEqual(versions, [1, 1, 2, 2, 3, 3]);
      const rows = await p
        .dataset()
        .sql("select version, schema_name, version_hash, schema from _ferry_version order by version");
      assert.deepEqual(
        rows.map((r) => [r.version, r.schema_name]),
        [
          [1, "versions"],
          [2, "versions"],
          [3, "versions"],
        ],
      );
      const last = JSON.parse(String(rows[2]?.schema));
      assert.deepEqual(Object.keys(last.tables.t.columns), [
        "_ferry_id",
        "_ferry_load_id",
        "a",
        "b",
        "a__v_text",
      ]);
      assert.equal(last.tables.t.columns.a__v_text.variantOf, "a");
      assert.equal(last.versionHash, rows[2]?.version_hash);
      assert.equal(new Set(rows.map((r) => r.version_hash)).size, 3);
      const loads = await p
        .dataset()
        .sql("select schema_version_hash as h from _ferry_loads order by load_id");
      assert.deepEqual(
        loads.map((l) => rows.findIndex((r) => r.version_hash === l.h) + 1),
        [1, 1, 2, 2, 3, 3],
      );
    } finally {
      cleanup();
    }
  });
});
