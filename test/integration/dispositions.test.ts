import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ExtractError, type Pipeline, resource } from "../../src/index.js";
import { columnsOf, tempPipeline } from "../helpers/tmp-pipeline.js";

const count = async (p: Pipeline, table: string) =>
  (await p.dataset().sql(`select count(*) as n from "${table}"`))[0]?.n;

/** Child rows whose root row is gone (or whose parent is gone): must always be 0. */
async function orphans(p: Pipeline, child: string, parent: string): Promise<unknown> {
  const r = await p
    .dataset()
    .sql(
      `select count(*) as n from "${child}" c left join "${parent}" p on c._ferry_parent_id = p._ferry_id where p._ferry_id is null`,
    );
  return r[0]?.n;
}

describe("write dispositions", () => {
  test("append twice doubles the rows, child tables included", async () => {
    const { p, cleanup } = tempPipeline("append");
    try {
      const data = [
        { id: 1, tags: ["a", "b"] },
        { id: 2, tags: ["c"] },
      ];
      const r = resource({ name: "items", writeDisposition: "append" }, data);
      const first = await p.run(r);
      const second = await p.run(r);
      assert.deepEqual(first.rows, { items: 2, items__tags: 3 });
      assert.deepEqual(second.rows, { items: 2, items__tags: 3 });
      assert.equal(await count(p, "items"), 4);
      assert.equal(await count(p, "items__tags"), 6);
      assert.deepEqual(await p.dataset().sql("select id, count(*) as n from items group by id order by id"), [
        { id: 1, n: 2 },
        { id: 2, n: 2 },
      ]);
      assert.deepEqual(await p.dataset().sql("select count(distinct _ferry_load_id) as n from items"), [
        { n: 2 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("replace swaps content, empties child tables, and a resource yielding nothing empties the table", async () => {
    const { p, cleanup } = tempPipeline("replace");
    try {
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
      const second = resource({ name: "items", writeDisposition: "replace" }, [{ id: 3 }]);
      const info = await p.run(second);
      assert.deepEqual(info.rows, { items: 1 });
      assert.deepEqual(await p.dataset().sql("select id from items"), [{ id: 3 }]);
      for (const t of ["items__tags", "items__sub", "items__sub__x"]) assert.equal(await count(p, t), 0, t);
      // The tables (and their columns) stay.
      assert.deepEqual(await columnsOf(p, "replace", "items__tags"), [
        ["_ferry_id", "VARCHAR"],
        ["_ferry_parent_id", "VARCHAR"],
        ["_ferry_list_idx", "BIGINT"],
        ["value", "VARCHAR"],
      ]);
      const empty = resource({ name: "items", writeDisposition: "replace" }, function* () {});
      const none = await p.run(empty);
      assert.deepEqual(none.items, {});
      assert.equal(await count(p, "items"), 0);
      // An append table next to it is untouched.
      await p.run([{ k: 1 }], { table: "other" });
      await p.run(empty);
      assert.equal(await count(p, "other"), 1);
    } finally {
      cleanup();
    }
  });

  test("merge delete-insert by primary key: latest wins within a load, children follow their root", async () => {
    const { p, cleanup } = tempPipeline("merge");
    try {
      const users = (rows: unknown[]) =>
        resource({ name: "users", primaryKey: "id", writeDisposition: "merge" }, rows);
      await p.run(
        users([
          { id: 1, name: "a", tags: ["x", "y", "z"] },
          { id: 2, name: "b", tags: ["x"] },
          { id: 3, name: "c" },
        ]),
      );
      assert.deepEqual(await columnsOf(p, "merge", "users__tags"), [
        ["_ferry_id", "VARCHAR"],
        ["_ferry_parent_id", "VARCHAR"],
        ["_ferry_list_idx", "BIGINT"],
        ["_ferry_root_id", "VARCHAR"],
        ["value", "VARCHAR"],
      ]);
      const info = await p.run(
        users([
          { id: 1, name: "a1", tags: ["q"] },
          { id: 4, name: "d", tags: ["w", "v"] },
          { id: 1, name: "a2", tags: ["r", "s"] }, // later in the same load: wins
        ]),
      );
      assert.deepEqual(info.rows, { users: 3, users__tags: 5 }); // rows written to load files, before dedup
      const ds = p.dataset();
      assert.deepEqual(await ds.sql("select id, name from users order by id"), [
        { id: 1, name: "a2" },
        { id: 2, name: "b" },
        { id: 3, name: "c" },
        { id: 4, name: "d" },
      ]);
      assert.deepEqual(
        await ds.sql(
          "select u.id, string_agg(t.value, ',' order by t._ferry_list_idx) as tags from users u join users__tags t on t._ferry_root_id = u._ferry_id group by u.id order by u.id",
        ),
        [
          { id: 1, tags: "r,s" },
          { id: 2, tags: "x" },
          { id: 4, tags: "w,v" },
        ],
      );
      assert.equal(await count(p, "users__tags"), 5);
      assert.equal(await orphans(p, "users__tags", "users"), 0);
    } finally {
      cleanup();
    }
  });

  test("dedupSort keeps the max (desc) or min (asc) row per key", async () => {
    const { p, cleanup } = tempPipeline("dedup");
    try {
      const rows = [
        { id: 1, v: 5, src: "first" },
        { id: 1, v: 9, src: "second" },
        { id: 1, v: 2, src: "third" },
        { id: 2, v: 1, src: "only" },
      ];
      const run = (table: string, dedupSort: "asc" | "desc") =>
        p.run(
          resource(
            { name: table, primaryKey: "id", writeDisposition: "merge", columns: { v: { dedupSort } } },
            rows,
          ),
        );
      await run("by_max", "desc");
      await run("by_min", "asc");
      const ds = p.dataset();
      assert.deepEqual(await ds.sql("select id, v, src from by_max order by id"), [
        { id: 1, v: 9, src: "second" },
        { id: 2, v: 1, src: "only" },
      ]);
      assert.deepEqual(await ds.sql("select id, v, src from by_min order by id"), [
        { id: 1, v: 2, src: "third" },
        { id: 2, v: 1, src: "only" },
      ]);
    } finally {
      cleanup();
    }
  });

  test("nested children of merged rows stay consistent across loads", async () => {
    const { p, cleanup } = tempPipeline("mergenest");
    try {
      const orders = (rows: unknown[]) =>
        resource({ name: "orders", primaryKey: "id", writeDisposition: "merge" }, rows);
      const order = (id: number, lines: number) => ({
        id,
        lines: Array.from({ length: lines }, (_, i) => ({
          sku: `${id}-${i}`,
          serials: [`${id}-${i}-a`, `${id}-${i}-b`],
        })),
      });
      await p.run(orders([order(1, 3), order(2, 2)]));
      assert.equal(await count(p, "orders__lines"), 5);
      assert.equal(await count(p, "orders__lines__serials"), 10);
      await p.run(orders([order(1, 1)]));
      assert.equal(await count(p, "orders"), 2);
      assert.equal(await count(p, "orders__lines"), 3);
      assert.equal(await count(p, "orders__lines__serials"), 6);
      assert.equal(await orphans(p, "orders__lines", "orders"), 0);
      assert.equal(await orphans(p, "orders__lines__serials", "orders__lines"), 0);
      assert.deepEqual(
        await p
          .dataset()
          .sql(
            "select s.value from orders o join orders__lines__serials s on s._ferry_root_id = o._ferry_id where o.id = 1 order by s.value",
          ),
        [{ value: "1-0-a" }, { value: "1-0-b" }],
      );
    } finally {
      cleanup();
    }
  });

  test("hardDelete: a true bool deletes the row and its children; a non-bool non-null value deletes", async () => {
    const { p, cleanup } = tempPipeline("harddel");
    try {
      const flagged = (rows: unknown[]) =>
        resource(
          {
            name: "flagged",
            primaryKey: "id",
            writeDisposition: "merge",
            columns: { deleted: { hardDelete: true } },
          },
          rows,
        );
      await p.run(
        flagged([
          { id: 1, deleted: false, tags: ["a"] },
          { id: 2, deleted: false, tags: ["b", "c"] },
          { id: 3, deleted: false },
        ]),
      );
      await p.run(
        flagged([
          { id: 2, deleted: true },
          { id: 3, deleted: false, name: "kept" },
          { id: 9, deleted: true },
        ]),
      );
      const ds = p.dataset();
      assert.deepEqual(await ds.sql("select id, deleted, name from flagged order by id"), [
        { id: 1, deleted: false, name: null },
        { id: 3, deleted: false, name: "kept" },
      ]);
      assert.deepEqual(await ds.sql("select value from flagged__tags"), [{ value: "a" }]);

      const stamped = (rows: unknown[]) =>
        resource(
          {
            name: "stamped",
            primaryKey: "id",
            writeDisposition: "merge",
            columns: { deleted_at: { hardDelete: true, type: "timestamp" } },
          },
          rows,
        );
      await p.run(stamped([{ id: 1 }, { id: 2 }, { id: 3 }]));
      assert.deepEqual(await columnsOf(p, "harddel", "stamped"), [
        ["deleted_at", "TIMESTAMP WITH TIME ZONE"],
        ["_ferry_id", "VARCHAR"],
        ["_ferry_load_id", "VARCHAR"],
        ["id", "BIGINT"],
      ]);
      await p.run(
        stamped([
          { id: 1, deleted_at: "2024-05-01T00:00:00Z" },
          { id: 2, deleted_at: null, v: "x" },
        ]),
      );
      assert.deepEqual(await ds.sql("select id, deleted_at, v from stamped order by id"), [
        { id: 2, deleted_at: null, v: "x" },
        { id: 3, deleted_at: null, v: null },
      ]);
    } finally {
      cleanup();
    }
  });

  test("mergeKey replaces a whole partition (by day)", async () => {
    const { p, cleanup } = tempPipeline("partition");
    try {
      const events = (rows: unknown[]) =>
        resource({ name: "events", mergeKey: "day", writeDisposition: "merge" }, rows);
      await p.run(
        events([
          { day: "2024-01-01", n: 1 },
          { day: "2024-01-01", n: 2 },
          { day: "2024-01-02", n: 3 },
          { day: "2024-01-02", n: 4 },
          { day: "2024-01-03", n: 5 },
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
        ["2024-01-01:1", "2024-01-01:2", "2024-01-03:5", "2024-01-02:30", "2024-01-04:40"],
      );
    } finally {
      cleanup();
    }
  });

  test("compound primary key", async () => {
    const { p, cleanup } = tempPipeline("compound");
    try {
      const r = (rows: unknown[]) =>
        resource({ name: "stock", primaryKey: ["store", "sku"], writeDisposition: "merge" }, rows);
      await p.run(
        r([
          { store: 1, sku: "a", qty: 1 },
          { store: 1, sku: "b", qty: 2 },
          { store: 2, sku: "a", qty: 3 },
        ]),
      );
      await p.run(
        r([
          { store: 2, sku: "a", qty: 30 },
          { store: 2, sku: "b", qty: 40 },
        ]),
      );
      assert.deepEqual(await p.dataset().sql("select store, sku, qty from stock order by store, sku"), [
        { store: 1, sku: "a", qty: 1 },
        { store: 1, sku: "b", qty: 2 },
        { store: 2, sku: "a", qty: 30 },
        { store: 2, sku: "b", qty: 40 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("upsert updates rows in place and keeps children consistent", async () => {
    const { p, cleanup } = tempPipeline("upsert");
    try {
      const r = (rows: unknown[]) =>
        resource(
          {
            name: "accounts",
            primaryKey: "id",
            writeDisposition: { disposition: "merge", strategy: "upsert" },
            columns: { gone: { hardDelete: true, type: "bool" } },
          },
          rows,
        );
      await p.run(
        r([
          { id: 1, name: "a", emails: ["a@x", "a@y"] },
          { id: 2, name: "b", emails: ["b@x"] },
          { id: 3, name: "c" },
        ]),
      );
      const ds = p.dataset();
      const idsBefore = await ds.sql("select id, _ferry_id from accounts order by id");
      await p.run(
        r([
          { id: 1, name: "a1", emails: ["a@z"] },
          { id: 1, name: "a2", emails: ["a@w", "a@v"] },
          { id: 3, gone: true },
          { id: 4, name: "d", emails: ["d@x"] },
        ]),
      );
      assert.deepEqual(await ds.sql("select id, name from accounts order by id"), [
        { id: 1, name: "a2" },
        { id: 2, name: "b" },
        { id: 4, name: "d" },
      ]);
      // Rows were updated, not re-created: their ids are stable.
      const idsAfter = await ds.sql("select id, _ferry_id from accounts where id in (1, 2) order by id");
      assert.deepEqual(idsAfter, idsBefore.slice(0, 2));
      assert.deepEqual(
        await ds.sql(
          "select a.id, string_agg(e.value, ',' order by e._ferry_list_idx) as emails from accounts a join accounts__emails e on e._ferry_root_id = a._ferry_id group by a.id order by a.id",
        ),
        [
          { id: 1, emails: "a@w,a@v" },
          { id: 2, emails: "b@x" },
          { id: 4, emails: "d@x" },
        ],
      );
      assert.equal(await count(p, "accounts__emails"), 4);
      assert.equal(await orphans(p, "accounts__emails", "accounts"), 0);
    } finally {
      cleanup();
    }
  });

  test("merge without primaryKey or mergeKey fails clearly and loads nothing", async () => {
    const { p, cleanup } = tempPipeline("nokey");
    try {
      await assert.rejects(
        p.run(resource({ name: "things", writeDisposition: "merge" }, [{ a: 1 }])),
        (e: unknown) => {
          assert.ok(e instanceof ExtractError);
          assert.equal(e.message, 'resource "things" uses merge but has no primaryKey or mergeKey');
          assert.equal(e.hint, "set primaryKey (or mergeKey) on the resource, or use append");
          return true;
        },
      );
      await assert.rejects(
        p.run([{ a: 1 }], { table: "plain", writeDisposition: "merge" }),
        /resource "plain" uses merge/,
      );
      assert.deepEqual(await p.dataset().tables(), []);
      assert.deepEqual((await p.packages()).pending, []);
    } finally {
      cleanup();
    }
  });
});
