import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DataError, type Pipeline, resource, SchemaContractError } from "../../src/index.js";
import { columnsOf, tempPipeline } from "../helpers/tmp-pipeline.js";

const SYS: Array<[string, string]> = [
  ["_ferry_id", "VARCHAR"],
  ["_ferry_load_id", "VARCHAR"],
];

const rowsOf = (p: Pipeline, sql: string) => p.dataset().sql(sql);
const count = async (p: Pipeline, table: string) =>
  (await rowsOf(p, `select count(*) as n from "${table}"`))[0]?.n;

describe("bad input", () => {
  test("functions and symbols are skipped with a warning; other values load", async () => {
    const { p, cleanup } = tempPipeline("fns");
    try {
      const info = await p.run(
        [
          { id: 1, f: () => 1, s: Symbol("x"), ok: "y", nested: { g() {}, v: 2 } },
          { id: 2, f: () => 2 },
        ],
        { table: "t" },
      );
      assert.deepEqual(info.warnings, [
        'values of type function (e.g. key "f") are not data and were not loaded',
        'values of type symbol (e.g. key "s") are not data and were not loaded',
        'values of type function (e.g. key "g") are not data and were not loaded',
      ]);
      assert.deepEqual(await columnsOf(p, "fns", "t"), [
        ...SYS,
        ["id", "BIGINT"],
        ["ok", "VARCHAR"],
        ["nested__v", "BIGINT"],
      ]);
      assert.deepEqual(await rowsOf(p, "select id, ok, nested__v from t order by id"), [
        { id: 1, ok: "y", nested__v: 2 },
        { id: 2, ok: null, nested__v: null },
      ]);
    } finally {
      cleanup();
    }
  });

  test("a circular reference rejects the run, naming the table and resource; nothing is loaded", async () => {
    const { p, cleanup } = tempPipeline("circ");
    try {
      const a: Record<string, unknown> = { id: 1 };
      a.self = a;
      await assert.rejects(
        p.run(resource({ name: "loops", table: "loop_table" }, [{ id: 0 }, a])),
        (e: unknown) => {
          assert.ok(e instanceof DataError);
          assert.match(
            e.message,
            /^an item for table "loop_table" has a circular reference: .*circular.*'self'/i,
          );
          assert.deepEqual(e.fields, { table: "loop_table", resource: "loops" });
          return true;
        },
      );
      assert.deepEqual(await p.dataset().tables(), []);
      assert.deepEqual((await p.packages()).pending, []);
    } finally {
      cleanup();
    }
  });

  test("NaN and ±Infinity in a double column; an invalid Date; lone surrogates", async () => {
    const { p, cleanup } = tempPipeline("special");
    try {
      await p.run(
        [
          { i: 1, x: 1.5 },
          { i: 2, x: Number.NaN },
          { i: 3, x: Infinity },
          { i: 4, x: -Infinity },
        ],
        { table: "nums" },
      );
      assert.deepEqual(await columnsOf(p, "special", "nums"), [...SYS, ["i", "BIGINT"], ["x", "DOUBLE"]]);
      assert.deepEqual(await rowsOf(p, "select x, cast(x as varchar) as v from nums order by i"), [
        { x: 1.5, v: "1.5" },
        { x: Number.NaN, v: "nan" },
        { x: Infinity, v: "inf" },
        { x: -Infinity, v: "-inf" },
      ]);

      await p.run(
        [
          { i: 1, d: new Date("2024-01-01T00:00:00Z") },
          { i: 2, d: new Date("not a date") },
        ],
        { table: "dates" },
      );
      assert.deepEqual(await columnsOf(p, "special", "dates"), [
        ...SYS,
        ["i", "BIGINT"],
        ["d", "TIMESTAMP WITH TIME ZONE"],
        ["d__v_text", "VARCHAR"],
      ]);
      assert.deepEqual(await rowsOf(p, "select d, d__v_text from dates order by i"), [
        { d: new Date("2024-01-01T00:00:00Z"), d__v_text: null },
        { d: null, d__v_text: "Invalid Date" },
      ]);

      await p.run([{ s: "a\uD800b", t: "\uDC00", ok: "é😀" }], { table: "sur" });
      assert.deepEqual(await rowsOf(p, "select s, t, ok from sur"), [
        { s: "a\uFFFDb", t: "\uFFFD", ok: "é😀" },
      ]);
    } finally {
      cleanup();
    }
  });

  test("odd keys: empty, whitespace, SQL injection, reserved words, very long", async () => {
    const { p, cleanup } = tempPipeline("keys");
    try {
      await p.run([{ a: 1 }], { table: "y" });
      const long1 = "k".repeat(300);
      const long2 = `${"k".repeat(299)}z`;
      const evil = 'x"; DROP TABLE y; --';
      const info = await p.run(
        [{ "": 1, "   ": 2, [evil]: evil, select: 4, from: 5, [long1]: 6, [long2]: 7 }],
        {
          table: 'y"; DROP TABLE y; --',
        },
      );
      assert.deepEqual(Object.keys(info.rows), ["y_drop_table_y"]);
      const cols = await columnsOf(p, "keys", "y_drop_table_y");
      const names = cols.map(([n]) => n);
      assert.equal(cols.length, 9);
      assert.deepEqual(names.slice(0, 3), ["_ferry_id", "_ferry_load_id", "_empty"]);
      assert.match(names[3] ?? "", /^_empty_[a-z2-7]{4}$/);
      assert.deepEqual(names.slice(4, 7), ["x_drop_table_y", "select", "from"]);
      for (const n of names.slice(7)) {
        assert.equal(n.length, 120);
        assert.match(n, /^k{111}_[0-9a-f]{8}$/);
      }
      assert.notEqual(names[7], names[8]);
      const row = (await p.dataset().table("y_drop_table_y"))[0] ?? {};
      assert.deepEqual(
        names.slice(2).map((n) => row[n]),
        [1, 2, evil, 4, 5, 6, 7],
      );
      // Nothing was dropped.
      assert.equal(await count(p, "y"), 1);
      assert.deepEqual(await rowsOf(p, 'select "select", "from" from y_drop_table_y'), [
        { select: 4, from: 5 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("1000-deep nesting: objects flatten to 32 levels then json; lists stop at 32 child tables", async () => {
    const { p, cleanup } = tempPipeline("deep");
    try {
      let obj: unknown = { leaf: 1 };
      for (let i = 0; i < 1000; i++) obj = { n: obj };
      let list: unknown = ["bottom"];
      for (let i = 0; i < 1000; i++) list = [list];
      const info = await p.run([{ id: 1, obj }], { table: "objs" });
      assert.deepEqual(info.rows, { objs: 1 });
      const col = `obj${"__n".repeat(32)}`;
      assert.deepEqual(await columnsOf(p, "deep", "objs"), [...SYS, ["id", "BIGINT"], [col, "JSON"]]);
      let v: unknown = JSON.parse(String((await rowsOf(p, `select "${col}" as j from objs`))[0]?.j));
      let depth = 0;
      while (v !== null && typeof v === "object" && "n" in v) {
        v = (v as { n: unknown }).n;
        depth++;
      }
      assert.equal(depth, 1000 - 32);
      assert.deepEqual(v, { leaf: 1 });

      const li = await p.run([{ id: 1, list }], { table: "lists" });
      const tables = Object.keys(li.rows);
      assert.equal(tables.length, 33); // the root and 32 levels of child tables
      assert.ok(Object.values(li.rows).every((n) => n === 1));
      const deepest = tables.at(-1) ?? "";
      const deepCols = await columnsOf(p, "deep", deepest);
      assert.deepEqual(deepCols.at(-1), ["value", "JSON"]);
    } finally {
      cleanup();
    }
  });

  test("a 50 MB string round-trips", async () => {
    const { p, cleanup } = tempPipeline("huge");
    try {
      const s = `${"x".repeat(50 * 1024 * 1024 - 3)}end`;
      await p.run([{ id: 1, s }], { table: "blob" });
      const r = await rowsOf(p, "select length(s) as n, s from blob");
      assert.equal(r[0]?.n, 50 * 1024 * 1024);
      assert.ok(r[0]?.s === s);
    } finally {
      cleanup();
    }
  });

  test("values whose type changes land in variant columns; scalar items use a value column; nulls are skipped", async () => {
    const { p, cleanup } = tempPipeline("variants");
    try {
      await p.run(
        [
          { i: 1, c: 1 },
          { i: 2, c: "abc" },
          { i: 3, c: 2.5 },
          { i: 4, c: true },
          { i: 5, c: "7" },
        ],
        { table: "v" },
      );
      assert.deepEqual(await columnsOf(p, "variants", "v"), [
        ...SYS,
        ["i", "BIGINT"],
        ["c", "BIGINT"],
        ["c__v_text", "VARCHAR"],
        ["c__v_double", "DOUBLE"],
        ["c__v_bool", "BOOLEAN"],
      ]);
      assert.deepEqual(await rowsOf(p, "select c, c__v_text, c__v_double, c__v_bool from v order by i"), [
        { c: 1, c__v_text: null, c__v_double: null, c__v_bool: null },
        { c: null, c__v_text: "abc", c__v_double: null, c__v_bool: null },
        { c: null, c__v_text: null, c__v_double: 2.5, c__v_bool: null },
        { c: null, c__v_text: null, c__v_double: null, c__v_bool: true },
        { c: 7, c__v_text: null, c__v_double: null, c__v_bool: null }, // integer text coerces into bigint
      ]);

      const info = await p.run([1, "two", null, 3.5, null, undefined, true], { table: "scalars" });
      assert.deepEqual(info.rows, { scalars: 4 });
      assert.deepEqual(info.warnings, ["3 null items were skipped (they hold no data)"]);
      assert.deepEqual(await columnsOf(p, "variants", "scalars"), [
        ...SYS,
        ["value", "BIGINT"],
        ["value__v_text", "VARCHAR"],
        ["value__v_double", "DOUBLE"],
        ["value__v_bool", "BOOLEAN"],
      ]);
      assert.deepEqual(
        (
          await rowsOf(
            p,
            "select coalesce(cast(value as varchar), value__v_text, cast(value__v_double as varchar), cast(value__v_bool as varchar)) as v from scalars",
          )
        )
          .map((r) => r.v)
          .sort(),
        ["1", "3.5", "true", "two"],
      );
    } finally {
      cleanup();
    }
  });

  test("bigints beyond int64 are kept exactly", async () => {
    const { p, cleanup } = tempPipeline("bigints");
    try {
      await p.run(
        [
          { i: 1, a: 2n ** 63n, b: 10n ** 39n + 1n },
          { i: 2, a: -(2n ** 63n) - 1n, b: -123n },
          { i: 3, a: 10n ** 35n },
        ],
        { table: "big" },
      );
      assert.deepEqual(await columnsOf(p, "bigints", "big"), [
        ...SYS,
        ["i", "BIGINT"],
        ["a", "DECIMAL(38,9)"],
        ["b", "VARCHAR"],
        ["a__v_text", "VARCHAR"],
      ]);
      assert.deepEqual(await rowsOf(p, "select cast(a as varchar) as a, b, a__v_text from big order by i"), [
        {
          a: "9223372036854775808.000000000",
          b: "1000000000000000000000000000000000000001",
          a__v_text: null,
        },
        { a: "-9223372036854775809.000000000", b: "-123", a__v_text: null },
        { a: null, b: null, a__v_text: "100000000000000000000000000000000000" },
      ]);
    } finally {
      cleanup();
    }
  });

  test("freeze contracts name table, column, type and value; the failed run loads nothing and does not block the next", async () => {
    const { p, cleanup } = tempPipeline("freeze");
    try {
      await p.run(resource("users", [{ id: 1, name: "a" }]));
      const frozen = (rows: unknown[], name = "users") => resource({ name, schemaContract: "freeze" }, rows);
      const rejects = (rows: unknown[], message: string, fields: Record<string, string>, name?: string) =>
        assert.rejects(p.run(frozen(rows, name)), (e: unknown) => {
          assert.ok(e instanceof SchemaContractError);
          assert.equal(e.message, message);
          assert.deepEqual(e.fields, fields);
          return true;
        });
      await rejects(
        [
          { id: 2, name: "b" },
          { id: 3, extra: "x" },
        ],
        'schema contract "freeze" on columns of table "users" rejects new column "extra" of type text (value: "x")',
        { table: "users", column: "extra", type: "text" },
      );
      await rejects(
        [{ id: "abc" }],
        'schema contract "freeze" on data_type of table "users" rejects value of type text for column "id" of type bigint (value: "abc")',
        { table: "users", column: "id", type: "text" },
      );
      await rejects(
        [{ id: 1 }],
        'schema contract "freeze" on tables rejects new table "others" (first row: {"id":1})',
        { table: "others" },
        "others",
      );
      assert.deepEqual(await rowsOf(p, "select id, name from users"), [{ id: 1, name: "a" }]);
      assert.equal(await count(p, "_ferry_loads"), 1);
      assert.equal((await p.dataset().tables()).includes("others"), false);
      assert.equal((await p.packages()).failed.length, 3);
      assert.equal(p.schema?.version, 1);
      // Data that fits the frozen schema still loads, and evolving again works.
      assert.deepEqual((await p.run(frozen([{ id: 2, name: "b" }]))).rows, { users: 1 });
      assert.deepEqual((await p.run(resource("users", [{ id: 3, extra: "x" }]))).rows, { users: 1 });
      assert.equal(await count(p, "users"), 3);
    } finally {
      cleanup();
    }
  });

  test("discard_row drops offending rows; discard_value drops offending values", async () => {
    const { p, cleanup } = tempPipeline("discard");
    try {
      await p.run(resource("users", [{ id: 1, name: "a" }]));
      const dr = await p.run(
        resource({ name: "users", schemaContract: "discard_row" }, [
          { id: 2, name: "b" },
          { id: 3, extra: "x" },
          { id: "bad" },
        ]),
      );
      assert.deepEqual(dr.rows, { users: 1 });
      assert.deepEqual(dr.warnings, ["2 rows were discarded by the schema contract"]);
      const dv = await p.run(
        resource({ name: "users", schemaContract: "discard_value" }, [
          { id: 4, name: "c", extra: "x" },
          { id: "bad", name: "d" },
        ]),
      );
      assert.deepEqual(dv.rows, { users: 2 });
      assert.deepEqual(dv.warnings, ["2 values were discarded by the schema contract"]);
      assert.deepEqual(dv.schemaChanges, []);
      assert.deepEqual(await columnsOf(p, "discard", "users"), [
        ...SYS,
        ["id", "BIGINT"],
        ["name", "VARCHAR"],
      ]);
      assert.deepEqual(await rowsOf(p, "select id, name from users order by name"), [
        { id: 1, name: "a" },
        { id: 2, name: "b" },
        { id: 4, name: "c" },
        { id: null, name: "d" },
      ]);
    } finally {
      cleanup();
    }
  });
});
