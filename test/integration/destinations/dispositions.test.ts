import assert from "node:assert/strict";
import { test } from "node:test";
import { type Pipeline, resource } from "../../../src/index.js";
import { eachBackend, withDataset } from "../../helpers/backends.js";

// One test body for every backend: append, replace, merge (delete-insert and upsert), hard deletes, dedup and
// child tables, compared with what the data says after every run.

const count = async (p: Pipeline, table: string) =>
  (await p.dataset().sql(`select count(*) as n from "${table}"`))[0]?.n;

/**
 * Child rows whose parent row is gone: must always be 0. (`NOT IN`, not a LEFT JOIN: ClickHouse before 19 fills a
 * missing right side with defaults, not NULLs, so an `IS NULL` check would find nothing there.)
 */
async function orphans(p: Pipeline, child: string, parent: string): Promise<unknown> {
  const r = await p
    .dataset()
    .sql(
      `select count(*) as n from "${child}" where _ferry_parent_id not in (select _ferry_id from "${parent}")`,
    );
  return r[0]?.n;
}

/** A small deterministic random generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

await eachBackend("write dispositions", (b) => {
  test("append twice doubles the rows, child tables included", () =>
    withDataset(b, "append", async (ds) => {
      const p = ds.pipeline("append");
      const r = resource({ name: "items", writeDisposition: "append" }, [
        { id: 1, tags: ["a", "b"] },
        { id: 2, tags: ["c"] },
      ]);
      assert.deepEqual((await p.run(r)).rows, { items: 2, items__tags: 3 });
      assert.deepEqual((await p.run(r)).rows, { items: 2, items__tags: 3 });
      assert.equal(await count(p, "items"), 4);
      assert.equal(await count(p, "items__tags"), 6);
      assert.deepEqual(await p.dataset().sql("select id, count(*) as n from items group by id order by id"), [
        { id: 1, n: 2 },
        { id: 2, n: 2 },
      ]);
      assert.deepEqual(await p.dataset().sql("select count(distinct _ferry_load_id) as n from items"), [
        { n: 2 },
      ]);
      assert.equal(await orphans(p, "items__tags", "items"), 0);
    }));

  test("replace swaps the content, empties child tables; an empty run empties the table", () =>
    withDataset(b, "replace", async (ds) => {
      const p = ds.pipeline("replace");
      const first = resource({ name: "items", writeDisposition: "replace" }, [
        { id: 1, tags: ["a", "b"], sub: [{ x: [1, 2] }] },
        { id: 2, tags: ["c"] },
      ]);
      assert.deepEqual((await p.run(first)).rows, {
        items: 2,
        items__tags: 3,
        items__sub: 1,
        items__sub__x: 2,
      });
      await p.run([{ k: 1 }], { table: "other" });
      const second = resource({ name: "items", writeDisposition: "replace" }, [{ id: 3, tags: ["z"] }]);
      assert.deepEqual((await p.run(second)).rows, { items: 1, items__tags: 1 });
      assert.deepEqual(await p.dataset().sql("select id from items"), [{ id: 3 }]);
      assert.deepEqual(await p.dataset().sql("select value from items__tags"), [{ value: "z" }]);
      for (const t of ["items__sub", "items__sub__x"]) assert.equal(await count(p, t), 0, t);
      await p.run(resource({ name: "items", writeDisposition: "replace" }, function* () {}));
      assert.equal(await count(p, "items"), 0);
      assert.equal(await count(p, "items__tags"), 0);
      assert.equal(await count(p, "other"), 1);
    }));

  for (const strategy of ["delete-insert", "upsert"] as const) {
    test(`merge ${strategy}: exactly one row per key over repeated runs with updates and hard deletes`, () =>
      withDataset(b, `merge_${strategy.replace("-", "_")}`, async (ds) => {
        const p = ds.pipeline("merge");
        const next = rng(strategy === "upsert" ? 7 : 11);
        const model = new Map<number, { name: string; score: number; tags: string[] }>();
        const users = (rows: unknown[]) =>
          resource(
            {
              name: "users",
              primaryKey: "id",
              writeDisposition: { disposition: "merge", strategy },
              columns: { deleted: { hardDelete: true, type: "bool" } },
            },
            rows,
          );
        for (let round = 0; round < 5; round++) {
          const rows: Array<Record<string, unknown>> = [];
          for (let i = 0; i < 40; i++) {
            const id = 1 + Math.floor(next() * 30);
            if (round > 0 && next() < 0.15) {
              rows.push({ id, deleted: true });
              model.delete(id);
              continue;
            }
            const tags = Array.from({ length: Math.floor(next() * 4) }, (_, k) => `r${round}-${i}-${k}`);
            const row = {
              id,
              name: `u${id} r${round} i${i} "q" \\ \t`,
              score: Math.floor(next() * 1000),
              tags,
            };
            rows.push({ ...row, deleted: false });
            model.set(id, { name: row.name, score: row.score, tags });
          }
          await p.run(users(rows));
          const want = [...model.entries()].sort(([a], [b2]) => a - b2);
          assert.deepEqual(
            await p.dataset().sql("select id, name, score from users order by id"),
            want.map(([id, v]) => ({ id, name: v.name, score: v.score })),
            `round ${round}`,
          );
          const tags = await p
            .dataset()
            .sql(
              "select u.id, t.value from users u join users__tags t on t._ferry_root_id = u._ferry_id order by u.id, t._ferry_list_idx",
            );
          assert.deepEqual(
            tags,
            want.flatMap(([id, v]) => v.tags.map((value) => ({ id, value }))),
            `round ${round} tags`,
          );
          assert.equal(await count(p, "users__tags"), tags.length, `round ${round}: no stray child rows`);
          assert.equal(await orphans(p, "users__tags", "users"), 0);
        }
        assert.deepEqual(await p.dataset().sql("select count(*) as n, count(distinct id) as k from users"), [
          { n: model.size, k: model.size },
        ]);
      }));
  }

  test("upsert updates rows in place: their ids stay", () =>
    withDataset(b, "upsert_ids", async (ds) => {
      const p = ds.pipeline("upsert_ids");
      const r = (rows: unknown[]) =>
        resource(
          {
            name: "accounts",
            primaryKey: "id",
            writeDisposition: { disposition: "merge", strategy: "upsert" },
          },
          rows,
        );
      await p.run(
        r([
          { id: 1, name: "a" },
          { id: 2, name: "b" },
        ]),
      );
      const before = await p.dataset().sql("select id, _ferry_id from accounts order by id");
      await p.run(
        r([
          { id: 1, name: "a2" },
          { id: 3, name: "c" },
        ]),
      );
      assert.deepEqual(await p.dataset().sql("select id, name from accounts order by id"), [
        { id: 1, name: "a2" },
        { id: 2, name: "b" },
        { id: 3, name: "c" },
      ]);
      assert.deepEqual(
        await p.dataset().sql("select id, _ferry_id from accounts where id < 3 order by id"),
        before,
      );
    }));

  test("dedupSort keeps the max (desc) or min (asc) row per key; without it the latest wins", () =>
    withDataset(b, "dedup", async (ds) => {
      const p = ds.pipeline("dedup");
      const rows = [
        { id: 1, v: 5, src: "first" },
        { id: 1, v: 9, src: "second" },
        { id: 1, v: 2, src: "third" },
        { id: 2, v: 1, src: "only" },
      ];
      const run = (table: string, dedupSort?: "asc" | "desc") =>
        p.run(
          resource(
            {
              name: table,
              primaryKey: "id",
              writeDisposition: "merge",
              columns: dedupSort ? { v: { dedupSort } } : {},
            },
            rows,
          ),
        );
      await run("by_max", "desc");
      await run("by_min", "asc");
      await run("latest");
      const ds2 = p.dataset();
      assert.deepEqual(await ds2.sql("select id, v, src from by_max order by id"), [
        { id: 1, v: 9, src: "second" },
        { id: 2, v: 1, src: "only" },
      ]);
      assert.deepEqual(await ds2.sql("select id, v, src from by_min order by id"), [
        { id: 1, v: 2, src: "third" },
        { id: 2, v: 1, src: "only" },
      ]);
      assert.deepEqual(await ds2.sql("select id, v, src from latest order by id"), [
        { id: 1, v: 2, src: "third" },
        { id: 2, v: 1, src: "only" },
      ]);
    }));

  test("nested children of merged rows stay consistent; mergeKey replaces partitions; compound keys", () =>
    withDataset(b, "mergenest", async (ds) => {
      const p = ds.pipeline("mergenest");
      const order = (id: number, lines: number) => ({
        id,
        lines: Array.from({ length: lines }, (_, i) => ({
          sku: `${id}-${i}`,
          serials: [`${id}-${i}-a`, `${id}-${i}-b`],
        })),
      });
      const orders = (rows: unknown[]) =>
        resource({ name: "orders", primaryKey: "id", writeDisposition: "merge" }, rows);
      await p.run(orders([order(1, 3), order(2, 2)]));
      await p.run(orders([order(1, 1)]));
      assert.equal(await count(p, "orders"), 2);
      assert.equal(await count(p, "orders__lines"), 3);
      assert.equal(await count(p, "orders__lines__serials"), 6);
      assert.equal(await orphans(p, "orders__lines", "orders"), 0);
      assert.equal(await orphans(p, "orders__lines__serials", "orders__lines"), 0);

      const events = (rows: unknown[]) =>
        resource({ name: "events", mergeKey: "day", writeDisposition: "merge" }, rows);
      await p.run(
        events([
          { day: "2024-01-01", n: 1 },
          { day: "2024-01-02", n: 2 },
          { day: "2024-01-02", n: 3 },
        ]),
      );
      await p.run(
        events([
          { day: "2024-01-02", n: 30 },
          { day: "2024-01-04", n: 40 },
        ]),
      );
      assert.deepEqual(
        (await p.dataset().sql("select cast(day as varchar) as day, n from events order by n")).map(
          (r) => `${r.day}:${r.n}`,
        ),
        ["2024-01-01:1", "2024-01-02:30", "2024-01-04:40"],
      );

      for (const strategy of ["delete-insert", "upsert"] as const) {
        const stock = (rows: unknown[]) =>
          resource(
            {
              name: `stock_${strategy.replace("-", "_")}`,
              primaryKey: ["store", "sku"],
              writeDisposition: { disposition: "merge", strategy },
            },
            rows,
          );
        await p.run(
          stock([
            { store: 1, sku: "a", qty: 1 },
            { store: 1, sku: "b", qty: 2 },
            { store: 2, sku: "a", qty: 3 },
          ]),
        );
        await p.run(
          stock([
            { store: 2, sku: "a", qty: 30 },
            { store: 2, sku: "b", qty: 40 },
          ]),
        );
        assert.deepEqual(
          await p
            .dataset()
            .sql(`select store, sku, qty from stock_${strategy.replace("-", "_")} order by store, sku`),
          [
            { store: 1, sku: "a", qty: 1 },
            { store: 1, sku: "b", qty: 2 },
            { store: 2, sku: "a", qty: 30 },
            { store: 2, sku: "b", qty: 40 },
          ],
          strategy,
        );
      }
    }));
});
