import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resource } from "../../../src/index.js";
import { eachBackend, withDataset } from "../../helpers/backends.js";

// One test body for every backend: state, schema versions and load records are committed with the data, and
// a pipeline whose working dir is gone restores itself from the destination.

interface Rec {
  id: number;
  ts: number;
}

/** An "API" that returns everything it has; the incremental cursor filters. Counts its runs in resource state. */
const events = (store: Rec[]) =>
  resource(
    { name: "events", primaryKey: "id", incremental: { cursor: "ts", initialValue: 0 } },
    function* (ctx) {
      ctx.state.runs = Number(ctx.state.runs ?? 0) + 1;
      yield store;
    },
  );

await eachBackend("state and system tables", (b) => {
  test("state restores from the destination after the working dir is deleted: only new records load", () =>
    withDataset(b, "restore", async (ds) => {
      const store: Rec[] = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, ts: i + 1 }));
      const first = await ds.pipeline("restore").run(events(store));
      assert.deepEqual(first.rows, { events: 5 });

      rmSync(join(ds.dir, ".ferry"), { recursive: true, force: true });
      store.push({ id: 6, ts: 6 }, { id: 7, ts: 7 }, { id: 8, ts: 8 });
      const p = ds.pipeline("restore");
      const second = await p.run(events(store));
      assert.deepEqual(second.rows, { events: 3 });
      const res = p.state?.sources.restore?.resources.events;
      assert.equal(res?.incremental?.ts?.lastValue, 8);
      assert.equal(res?.state?.runs, 2);
      assert.equal(p.state?.version, 2);
      assert.deepEqual(
        await p.dataset().sql("select count(*) as n, count(distinct id) as k, max(ts) as m from events"),
        [{ n: 8, k: 8, m: 8 }],
      );
      // The schema came back too: the table's columns are known without a new inference.
      assert.deepEqual(Object.keys(p.schema?.tables.events?.columns ?? {}).sort(), [
        "_ferry_id",
        "_ferry_load_id",
        "id",
        "ts",
      ]);

      rmSync(join(ds.dir, ".ferry"), { recursive: true, force: true });
      const fresh = ds.pipeline("restore");
      assert.equal(await fresh.syncFromDestination(), true);
      assert.equal(fresh.state?.sources.restore?.resources.events?.incremental?.ts?.lastValue, 8);
    }));

  test("_ferry_loads, _ferry_version and _ferry_pipeline_state get one row per load (versions per schema change)", () =>
    withDataset(b, "system", async (ds) => {
      const p = ds.pipeline("system");
      const a = await p.run([{ id: 1 }], { table: "t" });
      const b2 = await p.run([{ id: 2, extra: "new column" }], { table: "t" });
      const c = await p.run([{ id: 3 }], { table: "t" });
      const loadIds = [a.loadId, b2.loadId, c.loadId];
      assert.ok(loadIds.every((x) => typeof x === "string"));
      const loads = await p
        .dataset()
        .sql("select load_id, schema_name, status, schema_version_hash from _ferry_loads order by load_id");
      assert.deepEqual(
        loads.map((r) => [r.load_id, r.schema_name, r.status]),
        loadIds.map((id) => [id, "system", 0]),
      );
      assert.equal(loads[0]?.schema_version_hash === loads[1]?.schema_version_hash, false);
      assert.equal(loads[1]?.schema_version_hash, loads[2]?.schema_version_hash);

      const versions = await p
        .dataset()
        .sql("select version, schema_name, version_hash, schema from _ferry_version order by version");
      assert.equal(versions.length, 2);
      assert.deepEqual(
        versions.map((v) => v.version_hash),
        [loads[0]?.schema_version_hash, loads[1]?.schema_version_hash],
      );
      const stored = JSON.parse(String(versions[1]?.schema)) as {
        tables: Record<string, { columns: object }>;
      };
      assert.ok("extra" in (stored.tables.t?.columns ?? {}));

      const states = await p
        .dataset()
        .sql(
          "select version, pipeline_name, state, _ferry_load_id from _ferry_pipeline_state order by version",
        );
      assert.deepEqual(
        states.map((s) => [s.version, s.pipeline_name, s._ferry_load_id]),
        [
          [1, "system", loadIds[0]],
          [2, "system", loadIds[1]],
          [3, "system", loadIds[2]],
        ],
      );
      assert.equal((JSON.parse(String(states[2]?.state)) as { version: number }).version, 3);
      assert.deepEqual(await p.dataset().sql("select id from t order by id"), [
        { id: 1 },
        { id: 2 },
        { id: 3 },
      ]);
    }));
});
