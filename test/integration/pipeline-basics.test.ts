import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, resource, source, transformer } from "../../src/index.js";
import { columnsOf, tempPipeline } from "../helpers/tmp-pipeline.js";

const SYS_CHILD: Array<[string, string]> = [
  ["_ferry_id", "VARCHAR"],
  ["_ferry_parent_id", "VARCHAR"],
  ["_ferry_list_idx", "BIGINT"],
];
const TSTZ = "TIMESTAMP WITH TIME ZONE";

/** Users with nested objects, a list of scalars and a list of objects with their own list. */
function makeUsers(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    userName: `user ${i + 1}`,
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
    active: i % 2 === 0,
    address: { city: `city${i % 10}`, geo: { lat: i + 0.5 } },
    tags: Array.from({ length: i % 3 }, (_, j) => `t${j}`),
    orders: Array.from({ length: i % 4 }, (_, j) => ({
      orderId: (i + 1) * 10 + j,
      amount: j + 0.25,
      items: Array.from({ length: j + 1 }, (_, k) => ({ sku: `s${k}`, qty: k + 1 })),
    })),
  }));
}

describe("pipeline basics", () => {
  test("nested data lands in exact tables, columns, types, counts and values", async () => {
    const { p, cleanup } = tempPipeline("nested", { dataset: "shop" });
    try {
      const n = 3000;
      const info = await p.run(makeUsers(n), { table: "users" });
      // i % 3 tags: 0+1+2 per 3 users; i % 4 orders: 0+1+2+3 per 4 users; order j has j+1 items.
      const tags = (n / 3) * 3;
      const orders = (n / 4) * 6;
      const items = (n / 4) * (1 + (1 + 2) + (1 + 2 + 3));
      assert.deepEqual(info.rows, {
        users: n,
        users__tags: tags,
        users__orders: orders,
        users__orders__items: items,
      });
      assert.deepEqual(info.items, { users: n });
      const ds = p.dataset();
      assert.deepEqual(await ds.tables(), [
        "_ferry_loads",
        "_ferry_pipeline_state",
        "_ferry_version",
        "users",
        "users__orders",
        "users__orders__items",
        "users__tags",
      ]);
      assert.deepEqual(await columnsOf(p, "shop", "users"), [
        ["_ferry_id", "VARCHAR"],
        ["_ferry_load_id", "VARCHAR"],
        ["id", "BIGINT"],
        ["user_name", "VARCHAR"],
        ["created_at", TSTZ],
        ["active", "BOOLEAN"],
        ["address__city", "VARCHAR"],
        ["address__geo__lat", "DOUBLE"],
      ]);
      assert.deepEqual(await columnsOf(p, "shop", "users__tags"), [...SYS_CHILD, ["value", "VARCHAR"]]);
      assert.deepEqual(await columnsOf(p, "shop", "users__orders"), [
        ...SYS_CHILD,
        ["order_id", "BIGINT"],
        ["amount", "DOUBLE"],
      ]);
      assert.deepEqual(await columnsOf(p, "shop", "users__orders__items"), [
        ...SYS_CHILD,
        ["sku", "VARCHAR"],
        ["qty", "BIGINT"],
      ]);
      for (const [t, c] of Object.entries(info.rows)) {
        assert.deepEqual(await ds.sql(`select count(*) as n from ${t}`), [{ n: c }], t);
      }
      const u = await ds.sql(
        "select id, user_name, created_at, active, address__city, address__geo__lat from users where id = 8",
      );
      assert.deepEqual(u, [
        {
          id: 8,
          user_name: "user 8",
          created_at: new Date("2024-01-01T00:07:00Z"),
          active: false,
          address__city: "city7",
          address__geo__lat: 7.5,
        },
      ]);
      // user 8 (i=7): tags t0; orders 80, 81, 82 with 1, 2, 3 items.
      assert.deepEqual(
        await ds.sql(
          "select t.value, t._ferry_list_idx as idx from users__tags t join users u on t._ferry_parent_id = u._ferry_id where u.id = 8",
        ),
        [{ value: "t0", idx: 0 }],
      );
      const o = await ds.sql(
        `select o.order_id, o.amount, o._ferry_list_idx as idx, count(i._ferry_id) as n_items, sum(i.qty) as qty
         from users u join users__orders o on o._ferry_parent_id = u._ferry_id
         join users__orders__items i on i._ferry_parent_id = o._ferry_id
         where u.id = 8 group by all order by o.order_id`,
      );
      assert.deepEqual(o, [
        { order_id: 80, amount: 0.25, idx: 0, n_items: 1, qty: 1 },
        { order_id: 81, amount: 1.25, idx: 1, n_items: 2, qty: 3 },
        { order_id: 82, amount: 2.25, idx: 2, n_items: 3, qty: 6 },
      ]);
      // Every child row has a parent; users without lists have no child rows.
      assert.deepEqual(
        await ds.sql(
          "select count(*) as n from users__orders__items i left join users__orders o on i._ferry_parent_id = o._ferry_id where o._ferry_id is null",
        ),
        [{ n: 0 }],
      );
      assert.deepEqual(
        await ds.sql("select count(distinct _ferry_load_id) as n, min(_ferry_load_id) as id from users"),
        [{ n: 1, id: info.loadId }],
      );
    } finally {
      cleanup();
    }
  });

  test("resources from sync/async generators, functions returning arrays or iterables, and plain arrays", async () => {
    const { p, cleanup } = tempPipeline("kinds");
    try {
      const sync = resource("sync_gen", function* () {
        for (let i = 0; i < 5; i++) yield { i };
      });
      const asyncGen = resource("async_gen", async function* () {
        for (let i = 0; i < 3; i++) {
          await new Promise((r) => setTimeout(r, 1));
          yield [{ i: i * 2 }, { i: i * 2 + 1 }]; // pages
        }
      });
      const fnArray = resource("fn_array", () => [{ i: 10 }, { i: 11 }]);
      const fnIterable = resource("fn_iterable", () => new Set([{ i: 20 }, { i: 21 }, { i: 22 }]));
      const plain = resource("plain", [{ i: 30 }]);
      const info = await p.run(
        source({ name: "kinds", resources: [sync, asyncGen, fnArray, fnIterable, plain] }),
      );
      const expected = { sync_gen: 5, async_gen: 6, fn_array: 2, fn_iterable: 3, plain: 1 };
      assert.deepEqual(info.items, expected);
      assert.deepEqual(info.rows, expected);
      const ds = p.dataset();
      const sum = async (t: string) => (await ds.sql(`select i from ${t} order by i`)).map((r) => r.i);
      assert.deepEqual(await sum("sync_gen"), [0, 1, 2, 3, 4]);
      assert.deepEqual(await sum("async_gen"), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(await sum("fn_array"), [10, 11]);
      assert.deepEqual(await sum("fn_iterable"), [20, 21, 22]);
      assert.deepEqual(await sum("plain"), [30]);
      // The source name is the schema name.
      assert.deepEqual(await ds.sql("select distinct schema_name from _ferry_loads"), [
        { schema_name: "kinds" },
      ]);
    } finally {
      cleanup();
    }
  });

  test("a transformer receives its parent's pages; an unlisted parent is extracted but not loaded", async () => {
    const { p, cleanup } = tempPipeline("transform");
    try {
      const seenPages: number[][] = [];
      const issues = resource("issues", function* () {
        yield [{ id: 1 }, { id: 2 }];
        yield [{ id: 3 }];
      });
      const details = transformer({ name: "details", parent: issues }, async function* (page) {
        const ids = (page as Array<{ id: number }>).map((r) => r.id);
        seenPages.push(ids);
        for (const id of ids) yield { issue_id: id, body: `body ${id}` };
      });
      const info = await p.run(source({ name: "gh", resources: [details] }));
      assert.deepEqual(seenPages, [[1, 2], [3]]);
      assert.deepEqual(info.items, { details: 3 });
      assert.deepEqual(info.rows, { details: 3 });
      const ds = p.dataset();
      assert.equal((await ds.tables()).includes("issues"), false);
      assert.deepEqual(await ds.sql("select issue_id, body from details order by issue_id"), [
        { issue_id: 1, body: "body 1" },
        { issue_id: 2, body: "body 2" },
        { issue_id: 3, body: "body 3" },
      ]);
      // Listing the parent loads it too; pipe() wires a transformer the same way.
      seenPages.length = 0;
      const piped = issues.pipe(
        transformer({ name: "details" }, (page) =>
          (page as Array<{ id: number }>).map((r) => ({ issue_id: r.id * 100 })),
        ),
      );
      const info2 = await p.run(source({ name: "gh", resources: [issues, piped] }));
      assert.deepEqual(info2.rows, { issues: 3, details: 3 });
      assert.deepEqual(await ds.sql("select id from issues order by id"), [{ id: 1 }, { id: 2 }, { id: 3 }]);
      assert.deepEqual(await ds.sql("select issue_id from details where body is null order by issue_id"), [
        { issue_id: 100 },
        { issue_id: 200 },
        { issue_id: 300 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("map, filter and limit; limit stops an infinite generator", async () => {
    const { p, cleanup } = tempPipeline("steps");
    try {
      let yielded = 0;
      let closed = false;
      const infinite = resource("numbers", function* () {
        try {
          for (let i = 0; ; i++) {
            yielded++;
            yield { n: i };
          }
        } finally {
          closed = true;
        }
      });
      const r = infinite
        .map((x: { n: number }) => ({ ...x, square: x.n * x.n }))
        .filter((x: { n: number }) => x.n % 2 === 0)
        .limit(4);
      const info = await p.run(r);
      assert.deepEqual(info.rows, { numbers: 4 });
      assert.equal(closed, true);
      assert.equal(yielded, 7); // 0..6: the 4th even number is 6
      assert.deepEqual(await p.dataset().sql("select n, square from numbers order by n"), [
        { n: 0, square: 0 },
        { n: 2, square: 4 },
        { n: 4, square: 16 },
        { n: 6, square: 36 },
      ]);
      // limit(0) never calls the generator.
      yielded = 0;
      const info0 = await p.run(infinite.limit(0));
      assert.equal(yielded, 0);
      assert.deepEqual(info0.rows, {});
    } finally {
      cleanup();
    }
  });

  test("dynamic table names from a function of the item", async () => {
    const { p, cleanup } = tempPipeline("dynamic");
    try {
      const events = [
        { type: "Click", x: 1 },
        { type: "view", x: 2 },
        { type: "Click", x: 3 },
        { type: "purchase", x: 4, amount: 9.5 },
      ];
      const r = resource({ name: "events", table: (e) => `ev_${(e as { type: string }).type}` }, events);
      const info = await p.run(r);
      assert.deepEqual(info.items, { ev_click: 2, ev_view: 1, ev_purchase: 1 });
      assert.deepEqual(info.rows, { ev_click: 2, ev_view: 1, ev_purchase: 1 });
      const ds = p.dataset();
      assert.deepEqual(
        (await ds.tables()).filter((t) => !t.startsWith("_ferry")),
        ["ev_click", "ev_purchase", "ev_view"],
      );
      assert.deepEqual(await ds.sql("select x from ev_click order by x"), [{ x: 1 }, { x: 3 }]);
      assert.deepEqual(await columnsOf(p, "dynamic", "ev_purchase"), [
        ["_ferry_id", "VARCHAR"],
        ["_ferry_load_id", "VARCHAR"],
        ["type", "VARCHAR"],
        ["x", "BIGINT"],
        ["amount", "DOUBLE"],
      ]);
      const bad = resource({ name: "bad", table: () => "" }, [{ a: 1 }]);
      await assert.rejects(p.run(bad), /resource "bad": the table function returned ""/);
    } finally {
      cleanup();
    }
  });

  test("run() on plain data needs { table }", async () => {
    const { p, cleanup } = tempPipeline("plain");
    try {
      const info = await p.run([{ a: 1 }, { a: 2, b: "x" }], { table: "Things" });
      assert.deepEqual(info.rows, { things: 2 });
      assert.deepEqual(
        await p
          .dataset()
          .table("things", { orderBy: "a" })
          .then((r) => r.map((x) => [x.a, x.b])),
        [
          [1, null],
          [2, "x"],
        ],
      );
      await assert.rejects(
        p.run([{ a: 1 }]),
        (e: unknown) => e instanceof ConfigError && /plain data needs a table name/.test(e.message),
      );
      // A generator function as data.
      const info2 = await p.run(
        function* () {
          yield { a: 3 };
        },
        { table: "things" },
      );
      assert.deepEqual(info2.rows, { things: 1 });
      assert.deepEqual(await p.dataset().sql("select count(*) as n from things"), [{ n: 3 }]);
    } finally {
      cleanup();
    }
  });

  test("LoadInfo reports ids, rows per table, schema changes and version", async () => {
    const { p, cleanup, dbPath } = tempPipeline("info");
    try {
      const info = await p.run([{ id: 1, tags: ["a", "b", "c"] }], { table: "t" });
      assert.match(info.loadId ?? "", /^\d{13}\.[0-9A-Za-z]{6}$/);
      assert.deepEqual(info.loadIds, [info.loadId]);
      assert.deepEqual(info.pendingCompleted, []);
      assert.equal(info.pipeline, "info");
      assert.equal(info.dataset, "info");
      assert.equal(info.destination, `duckdb:${dbPath}`);
      assert.deepEqual(info.rows, { t: 1, t__tags: 3 });
      assert.equal(info.schemaVersion, 1);
      assert.deepEqual(info.warnings, []);
      assert.deepEqual(info.schemaChanges, [
        { kind: "new_table", table: "t" },
        { kind: "new_column", table: "t", column: "_ferry_id", type: "text" },
        { kind: "new_column", table: "t", column: "_ferry_load_id", type: "text" },
        { kind: "new_column", table: "t", column: "id", type: "bigint" },
        { kind: "new_table", table: "t__tags", parent: "t" },
        { kind: "new_column", table: "t__tags", column: "_ferry_id", type: "text" },
        { kind: "new_column", table: "t__tags", column: "_ferry_parent_id", type: "text" },
        { kind: "new_column", table: "t__tags", column: "_ferry_list_idx", type: "bigint" },
        { kind: "new_column", table: "t__tags", column: "value", type: "text" },
      ]);
      const d = info.durationsMs;
      assert.ok(d.total >= d.extract + d.normalize + d.load, JSON.stringify(d));
      assert.ok(Date.parse(info.finishedAt) >= Date.parse(info.startedAt));
      // Same shape again: no schema change, same version; one new column: version 2.
      const again = await p.run([{ id: 2, tags: ["d"] }], { table: "t" });
      assert.deepEqual(again.schemaChanges, []);
      assert.equal(again.schemaVersion, 1);
      assert.notEqual(again.loadId, info.loadId);
      const more = await p.run([{ id: 3, note: "n" }], { table: "t" });
      assert.deepEqual(more.schemaChanges, [
        { kind: "new_column", table: "t", column: "note", type: "text" },
      ]);
      assert.equal(more.schemaVersion, 2);
      assert.deepEqual(more.rows, { t: 1 });
      // Nothing to do: no load id.
      const none = await p.run();
      assert.equal(none.loadId, undefined);
      assert.deepEqual(none.loadIds, []);
      assert.deepEqual(none.rows, {});
    } finally {
      cleanup();
    }
  });

  test("extract(), normalize() and load() as separate steps", async () => {
    const { p, cleanup } = tempPipeline("steps3");
    try {
      const ex = await p.extract([{ id: 1, list: [1, 2] }, { id: 2 }], { table: "s" });
      assert.deepEqual(ex.items, { s: 2 });
      let pk = await p.packages();
      assert.deepEqual(
        pk.pending.map((x) => x.loadId),
        [ex.loadId],
      );
      assert.equal(await pk.pending[0]?.stage(), "extracted");
      const no = await p.normalize();
      assert.deepEqual(no.loadIds, [ex.loadId]);
      assert.deepEqual(no.rows, { s: 2, s__list: 2 });
      assert.deepEqual(no.warnings, []);
      assert.equal(no.schemaChanges.filter((c) => c.kind === "new_table").length, 2);
      pk = await p.packages();
      assert.equal(await pk.pending[0]?.stage(), "normalized");
      assert.deepEqual(await p.dataset().tables(), []);
      const lo = await p.load();
      assert.deepEqual(lo, { loadIds: [ex.loadId], rows: { s: 2, s__list: 2 } });
      assert.deepEqual((await p.packages()).pending, []);
      assert.deepEqual(await p.dataset().sql("select id from s order by id"), [{ id: 1 }, { id: 2 }]);
      assert.equal(p.state?.lastLoadId, ex.loadId);
      assert.equal(p.schema?.version, 1);
      // A second load() has nothing to do.
      assert.deepEqual(await p.load(), { loadIds: [], rows: {} });
    } finally {
      cleanup();
    }
  });

  test("system tables record loads, schema versions and pipeline state", async () => {
    const { p, cleanup } = tempPipeline("sys", { dataset: "sysds" });
    try {
      const a = await p.run(resource("r", [{ x: 1 }]));
      const b = await p.run(resource("r", [{ x: 2, y: "new" }]));
      const ds = p.dataset();
      const loads = await ds.sql(
        "select load_id, schema_name, status, schema_version_hash, typeof(inserted_at) as t from _ferry_loads order by load_id",
      );
      const versions = await ds.sql(
        "select version, engine_version, schema_name, version_hash, schema from _ferry_version order by version",
      );
      assert.equal(versions.length, 2);
      const [v1, v2] = versions;
      assert.deepEqual(loads, [
        { load_id: a.loadId, schema_name: "sys", status: 0, schema_version_hash: v1?.version_hash, t: TSTZ },
        { load_id: b.loadId, schema_name: "sys", status: 0, schema_version_hash: v2?.version_hash, t: TSTZ },
      ]);
      assert.deepEqual([v1?.version, v1?.engine_version, v1?.schema_name, v2?.version], [1, 1, "sys", 2]);
      const schema2 = JSON.parse(String(v2?.schema));
      assert.equal(schema2.versionHash, v2?.version_hash);
      assert.deepEqual(Object.keys(schema2.tables.r.columns), ["_ferry_id", "_ferry_load_id", "x", "y"]);
      assert.deepEqual(p.schema?.versionHash, v2?.version_hash);
      const states = await ds.sql(
        "select version, engine_version, pipeline_name, state, version_hash, _ferry_load_id from _ferry_pipeline_state order by version",
      );
      assert.deepEqual(
        states.map((s) => [s.version, s.pipeline_name, s._ferry_load_id]),
        [
          [1, "sys", a.loadId],
          [2, "sys", b.loadId],
        ],
      );
      const st = JSON.parse(String(states[1]?.state));
      assert.deepEqual(st, { ...p.state });
      assert.equal(st.lastLoadId, b.loadId);
      assert.equal(st.dataset, "sysds");
      assert.deepEqual(st.schemaNames, ["sys"]);
    } finally {
      cleanup();
    }
  });

  test("dataset().table() reads rows with orderBy and limit, and names missing tables", async () => {
    const { p, cleanup } = tempPipeline("tbl");
    try {
      await p.run([{ k: 3 }, { k: 1 }, { k: 2 }], { table: "nums" });
      const ds = p.dataset();
      assert.deepEqual(
        (await ds.table("nums", { orderBy: "k" })).map((r) => r.k),
        [1, 2, 3],
      );
      assert.deepEqual(
        (await ds.table("nums", { orderBy: "k", limit: 2 })).map((r) => r.k),
        [1, 2],
      );
      assert.deepEqual(Object.keys((await ds.table("nums", { limit: 1 }))[0] ?? {}), [
        "_ferry_id",
        "_ferry_load_id",
        "k",
      ]);
      await assert.rejects(ds.table("nope"), /table "nope" does not exist in dataset "tbl"/);
    } finally {
      cleanup();
    }
  });
});
