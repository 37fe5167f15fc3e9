/**
 * JSONL load files: the value encoders per column type (formats/jsonl-values.ts) and the LoadFileWriter that writes
 * normalized rows into per-table, size-rotated files with merge order (`_ferry_seq`) and an index of what it wrote
 * (normalize/load-file-writer.ts). The files are read back by DuckDB with readLoadFilesSql, as the DuckDB destination
 * loads them, and give the same values.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadFileSelectExpr, readLoadFilesSql } from "../../src/destinations/duckdb/load-file-sql.js";
import { JSONL_ENCODERS, toJsonText } from "../../src/formats/jsonl-values.js";
import { LoadFileWriter } from "../../src/normalize/load-file-writer.js";
import {
  fileSafe,
  type JsonlFileEntry,
  type LoadFileIndex,
  SEQ_FIELD,
} from "../../src/package/load-files.js";
import { Schema } from "../../src/schema/schema.js";
import type { Column, DataType, Table } from "../../src/schema/types.js";
import { type MemoryDuckDb, memoryDuckDb } from "../helpers/memory-duckdb.js";

const dir = mkdtempSync(join(tmpdir(), "ferry-jsonl-unit-"));
let db: MemoryDuckDb;
before(async () => {
  db = await memoryDuckDb();
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
let outNo = 0;
const outDir = () => join(dir, `out${outNo++}`);

const col = (name: string, type: DataType, more: Partial<Column> = {}): Column => ({ name, type, ...more });
const table = (name: string, columns: Column[], extra: Partial<Table> = {}): Table => ({
  name,
  columns: Object.fromEntries(columns.map((c) => [c.name, c])),
  ...extra,
});

/** The lines of a written file. */
const linesOf = (path: string) => readFileSync(path, "utf8").split("\n").slice(0, -1);
/** The longest line of a file in UTF-8 bytes, its newline included. */
const longestLine = (path: string) =>
  Math.max(
    ...readFileSync(path)
      .toString("utf8")
      .split("\n")
      .slice(0, -1)
      .map((l) => Buffer.byteLength(l) + 1),
  );
const entries = (index: LoadFileIndex, t: string) => (index.tables[t]?.files ?? []) as JsonlFileEntry[];

describe("JSONL_ENCODERS", () => {
  const e = JSONL_ENCODERS;

  test("text, timestamp, date and time: JSON strings, escaped only where JSON needs it", () => {
    assert.equal(e.text("plain €"), '"plain €"');
    assert.equal(e.text('say "hi"\\'), '"say \\"hi\\"\\\\"');
    assert.equal(e.text("l1\nl2\t\u0000\u001f"), '"l1\\nl2\\t\\u0000\\u001f"');
    assert.equal(e.timestamp("2024-01-02T03:04:05.123Z"), '"2024-01-02T03:04:05.123Z"');
    assert.equal(e.date("2024-02-29"), '"2024-02-29"');
    assert.equal(e.time("01:02:03.5"), '"01:02:03.5"');
    for (const s of ["x", 'a"b', "\u007f\u2028", "\ud83d\ude00"]) assert.equal(JSON.parse(e.text(s)), s);
  });

  test("bigint: exact digits beyond 2^53, from bigints and numbers", () => {
    assert.equal(e.bigint(2n ** 63n - 1n), "9223372036854775807");
    assert.equal(e.bigint(-(2n ** 63n)), "-9223372036854775808");
    assert.equal(e.bigint(9007199254740993n), "9007199254740993");
    assert.equal(e.bigint(42), "42");
    assert.equal(e.bigint(-7), "-7");
  });

  test("double: finite numbers as JSON numbers, NaN and infinities as strings", () => {
    assert.equal(e.double(1.5), "1.5");
    assert.equal(e.double(1e21), "1e+21");
    assert.equal(e.double(-2.5e-7), "-2.5e-7");
    assert.equal(e.double(Number.NaN), '"NaN"');
    assert.equal(e.double(Number.POSITIVE_INFINITY), '"Infinity"');
    assert.equal(e.double(Number.NEGATIVE_INFINITY), '"-Infinity"');
  });

  test("bool, decimal and binary", () => {
    assert.equal(e.bool(true), "true");
    assert.equal(e.bool(false), "false");
    assert.equal(e.decimal("12.30"), '"12.30"');
    assert.equal(e.decimal("-0.000000001"), '"-0.000000001"');
    assert.equal(e.decimal(1.5), '"1.5"');
    assert.equal(e.binary(Buffer.from("hi")), '"aGk="');
    assert.equal(e.binary(new Uint8Array([0, 255, 128])), '"AP+A"');
    assert.equal(e.binary(new Uint8Array([])), '""');
  });

  test("json: JSON text of the value; bigints, bytes and lone surrogates made JSON-safe at any depth", () => {
    assert.equal(e.json({ a: [1, "x", null], b: true }), '{"a":[1,"x",null],"b":true}');
    assert.equal(
      toJsonText({ n: 5n, big: 2n ** 60n, neg: -(2n ** 62n) }),
      '{"n":5,"big":"1152921504606846976","neg":"-4611686018427387904"}',
    );
    assert.equal(
      toJsonText({ raw: new Uint8Array([1]), deep: [{ b: Buffer.from("hi") }] }),
      '{"raw":"AQ==","deep":[{"b":"aGk="}]}',
    );
    assert.equal(
      toJsonText({ s: "a\ud800b", deep: [{ t: "\udc00" }] }),
      '{"s":"a\ufffdb","deep":[{"t":"\ufffd"}]}',
    );
    assert.equal(toJsonText("lone \udbff"), '"lone \ufffd"');
    assert.equal(toJsonText("\ud83d\ude00"), '"\ud83d\ude00"');
    assert.equal(toJsonText(undefined), "null");
    assert.equal(toJsonText(7n), "7");
    assert.equal(e.json(["a\u0000"]), '["a\\u0000"]');
  });

  test("json: a lone surrogate in an object key is replaced too, so DuckDB can read the load file", async () => {
    assert.equal(toJsonText({ "k\udc00": 1 }), '{"k\ufffd":1}');
    const s = Schema.empty("s");
    s.addTable(table("docs", [col("doc", "json")]));
    const out = outDir();
    const w = new LoadFileWriter(out, s);
    await w.write("docs", { doc: { "k\ud800": 1 } });
    const [file] = entries(await w.close(), "docs");
    const from = readLoadFilesSql(join(out, file?.id ?? ""), [col("doc", "json")], file?.maxLineBytes);
    assert.deepEqual(await db.rows(`SELECT CAST(doc AS VARCHAR) AS doc FROM ${from}`), [
      { doc: '{"k\ufffd":1}' },
    ]);
  });
});

describe("LoadFileWriter", () => {
  const schema = Schema.empty("s");
  schema.addTable(
    table(
      "orders",
      [col("_ferry_id", "text"), col("id", "bigint", { primaryKey: true }), col("note", "text")],
      {
        writeDisposition: "merge",
      },
    ),
  );
  schema.addTable(
    table("orders__items", [col("_ferry_id", "text"), col("_ferry_root_id", "text"), col("sku", "text")], {
      parent: "orders",
    }),
  );
  schema.addTable(
    table("orders__items__tags", [col("_ferry_root_id", "text"), col("tag", "text")], {
      parent: "orders__items",
    }),
  );
  schema.addTable(
    table("events", [col("id", "bigint"), col("a", "text"), col(`q"k`, "double"), col("amount", "decimal")], {
      writeDisposition: "append",
    }),
  );

  test("merge root rows carry _ferry_seq in order, their children (at any depth) their root row's", async () => {
    const out = outDir();
    const w = new LoadFileWriter(out, schema);
    await w.write("orders", { _ferry_id: "o1", id: 1 });
    await w.write("orders__items", { _ferry_id: "i1", _ferry_root_id: "o1", sku: "a" });
    await w.write("orders__items__tags", { _ferry_root_id: "o1", tag: "t" });
    await w.write("orders__items", { _ferry_id: "i2", _ferry_root_id: "o1", sku: "b" });
    await w.write("orders", { _ferry_id: "o2", id: 2 });
    await w.write("orders__items", { _ferry_id: "i3", _ferry_root_id: "o2", sku: "c" });
    await w.write("events", { id: 1 });
    const index = await w.close();
    const seqs = (t: string) => linesOf(join(out, `${t}.0000.jsonl`)).map((l) => JSON.parse(l)[SEQ_FIELD]);
    assert.deepEqual(seqs("orders"), [1, 2]);
    assert.deepEqual(seqs("orders__items"), [1, 1, 2]);
    assert.deepEqual(seqs("orders__items__tags"), [1]);
    assert.deepEqual(seqs("events"), [undefined]);
    assert.deepEqual(Object.fromEntries(Object.entries(index.tables).map(([t, v]) => [t, v.rows])), {
      orders: 2,
      orders__items: 3,
      orders__items__tags: 1,
      events: 1,
    });
  });

  test("beginInput(i) offsets the sequence by i * 2^32, so rows of later input files always win", async () => {
    const out = outDir();
    const w = new LoadFileWriter(out, schema);
    await w.write("orders", { id: 1 });
    w.beginInput(1);
    await w.write("orders", { id: 1 });
    await w.write("orders__items", { sku: "x" });
    await w.write("orders", { id: 1 });
    w.beginInput(2);
    await w.write("orders", { id: 1 });
    await w.close();
    const seqs = linesOf(join(out, "orders.0000.jsonl")).map((l) => JSON.parse(l)[SEQ_FIELD]);
    assert.deepEqual(seqs, [1, 2 ** 32 + 2, 2 ** 32 + 3, 2 * 2 ** 32 + 4]);
    assert.deepEqual(
      linesOf(join(out, "orders__items.0000.jsonl")).map((l) => JSON.parse(l)[SEQ_FIELD]),
      [2 ** 32 + 2],
    );
  });

  test("lines: null and undefined omitted, names escaped, values by column type; the index has the true longest line", async () => {
    const out = outDir();
    const w = new LoadFileWriter(out, schema);
    await w.write("events", { id: 1, a: null, 'q"k': Number.NaN, amount: "1.50", gone: undefined });
    await w.write("events", { a: "€😀 x", id: 2n ** 62n });
    await w.write("events", { id: 3, a: "x" });
    const index = await w.close();
    const path = join(out, "events.0000.jsonl");
    assert.deepEqual(linesOf(path), [
      '{"id":1,"q\\"k":"NaN","amount":"1.50"}',
      '{"a":"€😀 x","id":4611686018427387904}',
      '{"id":3,"a":"x"}',
    ]);
    // The second line: 38 UTF-16 code units, 42 bytes (the euro sign takes 3, the emoji 4) and its newline.
    assert.equal(longestLine(path), 43);
    assert.deepEqual(index, {
      tables: {
        events: { rows: 3, files: [{ id: "events.0000.jsonl", format: "jsonl", maxLineBytes: 43 }] },
      },
    });
  });

  test("rotation by maxFileBytes: several files, every row once and in order, each with its own longest line", async () => {
    const out = outDir();
    const w = new LoadFileWriter(out, schema, { maxFileBytes: 16 * 1024 });
    const n = 6000;
    for (let i = 0; i < n; i++) await w.write("events", { id: i, a: "x".repeat(i % 97) });
    const index = await w.close();
    const files = entries(index, "events");
    assert.ok(files.length >= 3, `${files.length} files`);
    assert.equal(index.tables.events?.rows, n);
    assert.deepEqual(
      files.map((f) => f.id),
      files.map((_, i) => `events.${String(i).padStart(4, "0")}.jsonl`),
    );
    const ids: number[] = [];
    for (const [i, f] of files.entries()) {
      const path = join(out, f.id);
      assert.equal(f.maxLineBytes, longestLine(path), f.id);
      if (i < files.length - 1) assert.ok(statSync(path).size >= 16 * 1024, `${f.id} is full`);
      for (const l of linesOf(path)) ids.push(JSON.parse(l).id);
    }
    assert.deepEqual(
      ids,
      Array.from({ length: n }, (_, i) => i),
    );
  });

  test("file names: a prefix keeps writers apart, table names that are not file-safe are hashed", async () => {
    const s = Schema.empty("s");
    s.addTable(table("Größe", [col("id", "bigint")]));
    const out = outDir();
    const w = new LoadFileWriter(out, s, { prefix: "w1" });
    await w.write("Größe", { id: 1 });
    const index = await w.close();
    assert.deepEqual(entries(index, "Größe"), [
      { id: `${fileSafe("Größe")}.w1.0000.jsonl`, format: "jsonl", maxLineBytes: 9 },
    ]);
    assert.deepEqual(linesOf(join(out, `${fileSafe("Größe")}.w1.0000.jsonl`)), ['{"id":1}']);
  });
});

describe("round trip through DuckDB's read_json", () => {
  test("every type reads back as written", async () => {
    const columns = [
      col("n", "bigint"),
      col("t", "text"),
      col("i", "bigint"),
      col("f", "double"),
      col("b", "bool"),
      col("ts", "timestamp"),
      col("d", "date"),
      col("tm", "time"),
      col("dec", "decimal"),
      col("j", "json"),
      col("raw", "binary"),
    ];
    const s = Schema.empty("s");
    s.addTable(table("all_types", columns));
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const rows = [
      {
        n: 1,
        t: 'q"\\ \n\t\u0001 €😀',
        i: 2n ** 63n - 1n,
        f: Number.NaN,
        b: true,
        ts: "2024-01-02T03:04:05.123456Z",
        d: "2024-02-29",
        tm: "23:59:59.999999",
        dec: "12345678901234567890123456789.123456789",
        j: { big: 2n ** 60n, raw: new Uint8Array([1]), s: "a\ud800", list: [1.5, null, "x"] },
        raw: bytes,
      },
      {
        n: 2,
        t: "lone \udc00",
        i: -(2n ** 63n),
        f: Number.POSITIVE_INFINITY,
        b: false,
        dec: "-0.000000001",
        j: [],
      },
      { n: 3, f: Number.NEGATIVE_INFINITY, j: "just text" },
      { n: 4, f: 0.1, raw: new Uint8Array([]) },
    ];
    const out = outDir();
    const w = new LoadFileWriter(out, s);
    for (const r of rows) await w.write("all_types", r);
    const index = await w.close();
    const files = entries(index, "all_types");
    const paths = files.map((f) => join(out, f.id));
    const maxLine = Math.max(...files.map((f) => f.maxLineBytes ?? 0));
    const from = readLoadFilesSql(paths, columns, maxLine);
    const back = await db.rows(
      `SELECT * REPLACE (hex(raw) AS raw, CAST(j AS VARCHAR) AS j) FROM (SELECT ${columns.map(loadFileSelectExpr).join(", ")} FROM ${from}) ORDER BY n`,
    );
    const none = { t: null, i: null, b: null, ts: null, d: null, tm: null, dec: null, j: null, raw: null };
    assert.deepEqual(
      back.map((r) => ({ ...r, j: r.j === null ? null : JSON.parse(String(r.j)) })),
      [
        {
          n: "1",
          t: 'q"\\ \n\t\u0001 €😀',
          i: "9223372036854775807",
          f: "NaN",
          b: true,
          ts: "2024-01-02 03:04:05.123456+00",
          d: "2024-02-29",
          tm: "23:59:59.999999",
          dec: "12345678901234567890123456789.123456789",
          j: { big: "1152921504606846976", raw: "AQ==", s: "a\ufffd", list: [1.5, null, "x"] },
          raw: Buffer.from(bytes).toString("hex").toUpperCase(),
        },
        // Lone surrogates in text become U+FFFD when the line is encoded as UTF-8 (the json encoder does the same).
        {
          ...none,
          n: "2",
          t: "lone \ufffd",
          i: "-9223372036854775808",
          f: "Infinity",
          b: false,
          dec: "-0.000000001",
          j: [],
        },
        { ...none, n: "3", f: "-Infinity", j: "just text" },
        { ...none, n: "4", f: 0.1, raw: "" },
      ],
    );
  });

  test("merge order survives the read: _ferry_seq of roots and children", async () => {
    const s = Schema.empty("s");
    s.addTable(table("o", [col("id", "bigint")], { writeDisposition: "merge" }));
    s.addTable(table("o__c", [col("v", "text")], { parent: "o" }));
    const out = outDir();
    const w = new LoadFileWriter(out, s);
    w.beginInput(3);
    for (const id of [10, 20]) {
      await w.write("o", { id });
      await w.write("o__c", { v: `c${id}` });
    }
    const index = await w.close();
    const seq = col(SEQ_FIELD, "bigint");
    const read = (t: string, cols: Column[]) =>
      db.rows(
        `SELECT ${[...cols, seq].map(loadFileSelectExpr).join(", ")} FROM ${readLoadFilesSql(
          entries(index, t).map((f) => join(out, f.id)),
          [...cols, seq],
          entries(index, t)[0]?.maxLineBytes,
        )} ORDER BY ALL`,
      );
    const base = 3 * 2 ** 32;
    assert.deepEqual(await read("o", [col("id", "bigint")]), [
      { id: "10", _ferry_seq: String(base + 1) },
      { id: "20", _ferry_seq: String(base + 2) },
    ]);
    assert.deepEqual(await read("o__c", [col("v", "text")]), [
      { v: "c10", _ferry_seq: String(base + 1) },
      { v: "c20", _ferry_seq: String(base + 2) },
    ]);
  });
});
