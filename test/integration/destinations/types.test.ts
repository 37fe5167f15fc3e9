import assert from "node:assert/strict";
import { test } from "node:test";
import { resource } from "../../../src/index.js";
import { type Backend, eachBackend, withDataset } from "../../helpers/backends.js";

// One test body for every backend: values come back exactly as they went in, with the column types of each
// destination's mapping.

/** Rows of every type; `old` (a date before 1970) only where the backend stores such dates. */
const typed = (b: Backend) =>
  resource(
    {
      name: "typed",
      columns: {
        amount: { type: "decimal", precision: 38, scale: 9 },
        price: { type: "decimal", precision: 10, scale: 2 },
        tm: { type: "time" },
        doc: { type: "json" },
      },
    },
    [
      {
        id: 1,
        big: 9007199254740993n,
        neg: -9223372036854775808n,
        maxi: 9223372036854775807n,
        small: 42,
        amount: "12345678901234567890.123456789",
        price: "0.10",
        hugeint: 12345678901234567890123n,
        f: 0.1,
        fbig: 1e300,
        ftiny: 5e-324,
        nan: Number.NaN,
        inf: Number.NEGATIVE_INFINITY,
        ts: "2024-02-29T23:59:59.123456Z",
        tsoff: "2024-01-01T10:00:00+02:00",
        tsdate: new Date("2001-09-09T01:46:40.000Z"),
        d: "2024-02-29",
        ...(b.lacks.datesBefore1970 ? {} : { old: "1900-01-01" }),
        tm: "23:59:59.999999",
        doc: { a: [1, { b: "x" }], 'k"q': null, u: "名前 \\ \n", n: 1.5 },
        bin: Buffer.from([0, 0x5c, 0x0a, 0x09, 0xff, 0x22, 0x2c]),
        yes: true,
        no: false,
      },
      // Every column NULL but the id.
      {
        id: 2,
        big: null,
        amount: null,
        ts: null,
        d: null,
        tm: null,
        doc: null,
        bin: null,
        yes: null,
        f: null,
      },
    ],
  );

const STRINGS = [
  "",
  "\\N",
  "NULL",
  "\\.",
  'it\'s "quoted"',
  "line1\nline2\r\nline3\rend",
  "back\\slash\\\\double \\t not a tab",
  "tab\there\tand\tthere",
  'a,b,c,"d,e"',
  "naïve 名前 🚀 \u2028 \u00a0 ∑",
  "   leading and trailing   ",
  "x".repeat(100_000),
];

await eachBackend("destination types", (b) => {
  test("column types follow the destination's mapping", { skip: b.lacks.informationSchema ?? false }, () =>
    withDataset(b, "coltypes", async (ds) => {
      const p = ds.pipeline("coltypes");
      await p.run(typed(b));
      const cols = await p
        .dataset()
        .sql(
          "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns where table_schema = $1 and table_name = 'typed' order by ordinal_position",
          [ds.dataset],
        );
      const byName = Object.fromEntries(
        cols.map((c): [string, Record<string, unknown>] => [
          String(c.column_name),
          { ...c, data_type: b.typeName(String(c.data_type)) },
        ]),
      );
      const T = b.dataType;
      const expect: Record<string, string> = {
        _ferry_id: T.text,
        _ferry_load_id: T.text,
        id: T.bigint,
        big: T.bigint,
        small: T.bigint,
        f: T.double,
        nan: T.double,
        ts: T.timestamp,
        tsdate: T.timestamp,
        d: T.date,
        tm: T.time,
        doc: T.json,
        bin: T.binary,
        yes: T.bool,
      };
      for (const [name, type] of Object.entries(expect)) assert.equal(byName[name]?.data_type, type, name);
      for (const [name, p0, s0] of [
        ["amount", 38, 9],
        ["price", 10, 2],
        ["hugeint", 38, 9],
      ] as const) {
        assert.ok(String(byName[name]?.data_type).startsWith(T.decimal), name);
        assert.equal(byName[name]?.numeric_precision, p0, name);
        assert.equal(byName[name]?.numeric_scale, s0, name);
      }
    }),
  );

  test("values round-trip exactly: bigints beyond 2^53, decimals, timestamps, dates, times, json, binary, NULLs", () =>
    withDataset(b, "values", async (ds) => {
      const p = ds.pipeline("values");
      await p.run(typed(b));
      const [text] = await p.dataset().sql(
        `select cast(big as varchar) as big, cast(neg as varchar) as neg, cast(maxi as varchar) as maxi,
                  cast(amount as varchar) as amount, cast(price as varchar) as price, ${b.lacks.wideDecimalText ? "" : "cast(hugeint as varchar) as hugeint,"}
                  cast(ts as varchar) as ts, cast(tsoff as varchar) as tsoff, cast(tsdate as varchar) as tsdate,
                  cast(d as varchar) as d, ${b.lacks.datesBefore1970 ? "" : "cast(old as varchar) as old,"} cast(tm as varchar) as tm
             from typed where id = 1`,
      );
      const T = b.text;
      assert.deepEqual(text, {
        big: "9007199254740993",
        neg: "-9223372036854775808",
        maxi: "9223372036854775807",
        amount: "12345678901234567890.123456789",
        price: T.decimal("0.10"),
        ...(b.lacks.wideDecimalText ? {} : { hugeint: T.decimal("12345678901234567890123.000000000") }),
        ts: T.timestamp("2024-02-29 23:59:59.123456"),
        tsoff: T.timestamp("2024-01-01 08:00:00"),
        tsdate: T.timestamp("2001-09-09 01:46:40"),
        d: "2024-02-29",
        ...(b.lacks.datesBefore1970 ? {} : { old: "1900-01-01" }),
        tm: "23:59:59.999999",
      });
      const rows = await p.dataset().table("typed", { orderBy: "id" });
      assert.equal(rows.length, 2);
      const r = rows[0] ?? {};
      assert.equal(r.id, 1);
      assert.equal(r.big, 9007199254740993n);
      assert.equal(r.neg, -9223372036854775808n);
      assert.equal(r.small, 42);
      assert.equal(r.amount, "12345678901234567890.123456789"); // beyond a double: exact text
      assert.equal(r.price, 0.1); // fits a double exactly: a number
      assert.equal(r.f, 0.1);
      assert.equal(r.fbig, 1e300);
      assert.equal(r.ftiny, b.lacks.tinyDoubles ? 0 : 5e-324);
      assert.ok(Number.isNaN(r.nan as number));
      assert.equal(r.inf, Number.NEGATIVE_INFINITY);
      assert.ok(r.ts instanceof Date);
      // Where timestamps are whole seconds, the fraction is cut (docs/clickhouse.md).
      assert.equal(
        (r.ts as Date).toISOString(),
        b.lacks.subsecondTimestamps ? "2024-02-29T23:59:59.000Z" : "2024-02-29T23:59:59.123Z",
      );
      assert.equal((r.tsoff as Date).toISOString(), "2024-01-01T08:00:00.000Z");
      assert.equal((r.d as Date).toISOString(), "2024-02-29T00:00:00.000Z");
      assert.equal(r.tm, "23:59:59.999999");
      assert.equal(typeof r.doc, "string");
      assert.deepEqual(JSON.parse(r.doc as string), {
        a: [1, { b: "x" }],
        'k"q': null,
        u: "名前 \\ \n",
        n: 1.5,
      });
      assert.ok(r.bin instanceof Uint8Array);
      assert.deepEqual(
        Buffer.from(r.bin as Uint8Array),
        Buffer.from([0, 0x5c, 0x0a, 0x09, 0xff, 0x22, 0x2c]),
      );
      assert.equal(r.yes, true);
      assert.equal(r.no, false);
      // The second row: NULL everywhere but the system columns and the id.
      const nulls = Object.entries(rows[1] ?? {}).filter(([, v]) => v !== null);
      assert.deepEqual(nulls.map(([k]) => k).sort(), ["_ferry_id", "_ferry_load_id", "id"]);
    }));

  test("strings with quotes, newlines, backslashes, tabs, commas and unicode; empty string is not NULL", () =>
    withDataset(b, "strings", async (ds) => {
      const p = ds.pipeline("strings");
      const data = [...STRINGS.map((s, i) => ({ id: i, s })), { id: STRINGS.length, s: null }];
      const info = await p.run(data, { table: "strings" });
      assert.equal(info.rows.strings, STRINGS.length + 1);
      const rows = await p.dataset().sql("select id, s from strings order by id");
      assert.deepEqual(rows, [...STRINGS.map((s, i) => ({ id: i, s })), { id: STRINGS.length, s: null }]);
      assert.deepEqual(await p.dataset().sql("select count(*) as n from strings where s is null"), [
        { n: 1 },
      ]);
      assert.deepEqual(await p.dataset().sql("select id from strings where s = ''"), [{ id: 0 }]);
      assert.deepEqual(await p.dataset().sql("select id from strings where s = $1", ["\\N"]), [{ id: 1 }]);
    }));

  test("child tables keep types and order: lists of decimals, timestamps and objects", () =>
    withDataset(b, "children", async (ds) => {
      const p = ds.pipeline("children");
      await p.run(
        [
          {
            id: 1,
            when: ["2024-01-01T00:00:00Z", "2024-06-30T12:00:00.5Z"],
            lines: [
              { sku: "a\tb", qty: 2, big: 9007199254740995n },
              { sku: "c\nd", qty: null, big: -1 },
            ],
          },
        ],
        { table: "orders" },
      );
      const when = await p
        .dataset()
        .sql("select cast(value as varchar) as v from orders__when order by _ferry_list_idx");
      assert.deepEqual(when, [
        { v: b.text.timestamp("2024-01-01 00:00:00") },
        { v: b.text.timestamp("2024-06-30 12:00:00.5") },
      ]);
      const lines = await p.dataset().sql("select sku, qty, big from orders__lines order by _ferry_list_idx");
      assert.deepEqual(lines, [
        { sku: "a\tb", qty: 2, big: 9007199254740995n },
        { sku: "c\nd", qty: null, big: -1 },
      ]);
    }));
});
