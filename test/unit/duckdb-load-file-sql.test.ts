/**
 * DuckDB's readers of load files (destinations/duckdb/load-file-sql.ts): read_json of typed JSONL files and the
 * INSERT of typed CSV files, run against a real in-memory DuckDB on real temp files in a folder whose name needs
 * quoting. Every type reads back exactly, and a value that does not fit its type fails the statement.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { duckdbDialect } from "../../src/destinations/duckdb/duckdb-dialect.js";
import {
  insertTypedCsvSql,
  loadFileSelectExpr,
  ROW_ID_SEQUENCE,
  readJsonObjectSize,
  readLoadFilesSql,
} from "../../src/destinations/duckdb/load-file-sql.js";
import { createTableSql } from "../../src/destinations/sql/ddl.js";
import type { Column, DataType } from "../../src/schema/types.js";
import { type MemoryDuckDb, memoryDuckDb } from "../helpers/memory-duckdb.js";

const col = (name: string, type: DataType, more: Partial<Column> = {}): Column => ({ name, type, ...more });

const dir = mkdtempSync(join(tmpdir(), "ferry-load-sql-unit-"));
// A folder whose name needs quoting inside a SQL string literal.
const files = join(dir, "it's here");
mkdirSync(files);
let db: MemoryDuckDb;
before(async () => {
  db = await memoryDuckDb();
});
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("DuckDB load-file readers", () => {
  test("readJsonObjectSize: the longest line plus 1 MB, at least 16 MB, at most 2047 MB, 257 MB when unknown", () => {
    const MB = 1024 * 1024;
    assert.equal(readJsonObjectSize(1000), 16 * MB);
    assert.equal(readJsonObjectSize(0), 16 * MB);
    assert.equal(readJsonObjectSize(15 * MB), 16 * MB);
    assert.equal(readJsonObjectSize(15 * MB + 1), 16 * MB + 1);
    assert.equal(readJsonObjectSize(50 * MB), 51 * MB);
    assert.equal(readJsonObjectSize(undefined), 257 * MB);
    assert.equal(readJsonObjectSize(2046 * MB), 2047 * MB);
    assert.equal(readJsonObjectSize(5000 * MB), 2047 * MB);
  });

  const columns = [
    col("id", "bigint"),
    col(`n"a'me`, "text"),
    col("raw", "binary"),
    col("doc", "json"),
    col("amount", "decimal", { precision: 12, scale: 2 }),
    col("ts", "timestamp"),
    col("day", "date"),
    col("at", "time"),
    col("f", "double"),
    col("ok", "bool"),
  ];
  const select = (from: string) => `SELECT ${columns.map(loadFileSelectExpr).join(", ")} FROM ${from}`;
  let fileNo = 0;
  const put = (content: string, ext = "jsonl") => {
    const path = join(files, `f${fileNo++}.${ext}`);
    writeFileSync(path, content);
    return path;
  };

  test("readLoadFilesSql text: literals quoted, binary read as text, an explicit column list", () => {
    assert.equal(
      readLoadFilesSql("/p/it's.jsonl", [col(`a"b'`, "binary"), col("n", "bigint")], 100),
      `read_json('/p/it''s.jsonl', format = 'newline_delimited', columns = {'a"b''': 'VARCHAR', 'n': 'BIGINT'}, maximum_object_size = 16777216, ignore_errors = false)`,
    );
    assert.match(
      readLoadFilesSql(["/a.jsonl", "/b'.jsonl"], [], undefined),
      /^read_json\(\['\/a\.jsonl', '\/b''\.jsonl'\], /,
    );
    assert.equal(loadFileSelectExpr(col(`r"aw`, "binary")), `from_base64("r""aw") AS "r""aw"`);
    assert.throws(() => readLoadFilesSql("/p/a\u0000.jsonl", [], 1), /NUL characters/);
  });

  test("readLoadFilesSql reads typed JSONL files: every type, missing keys as NULL", async () => {
    const a = put(
      `{"id":9223372036854775807,"n\\"a'me":"x\\ny","raw":"AP8=","doc":{"a":[1,2.5,null]},"amount":"-1234567890.25","ts":"2024-01-02T03:04:05.123456Z","day":"2024-02-29","at":"01:02:03.5","f":"NaN","ok":true}\n`,
    );
    const b = put(`{"id":2,"f":"-Infinity","ok":false}\n{"id":3,"f":1.5e300}\n`);
    const rows = await db.rows(`${select(readLoadFilesSql([a, b], columns, 300))} ORDER BY id`);
    const nulls = { "n\"a'me": null, raw: null, doc: null, amount: null, ts: null, day: null, at: null };
    assert.deepEqual(rows, [
      { id: "2", ...nulls, f: "-Infinity", ok: false },
      { id: "3", ...nulls, f: 1.5e300, ok: null },
      {
        id: "9223372036854775807",
        "n\"a'me": "x\ny",
        raw: "\\x00\\xFF",
        doc: '{"a":[1,2.5,null]}',
        amount: "-1234567890.25",
        ts: "2024-01-02 03:04:05.123456+00",
        day: "2024-02-29",
        at: "01:02:03.5",
        f: "NaN",
        ok: true,
      },
    ]);
  });

  for (const [what, line, message] of [
    ["text in a bigint column", `{"id":"abc"}`, /in line 2: Failed to cast value to numerical: "abc"/],
    [
      "a bigint beyond 64 bits",
      `{"id":9223372036854775808}`,
      /Failed to cast value to numerical: 9223372036854775808/,
    ],
    ["a decimal too wide for its precision", `{"amount":"12345678901.5"}`, /Failed to cast value to decimal/],
    ["a malformed timestamp", `{"ts":"yesterday"}`, /invalid timestamp field format: "yesterday"/],
    ["a non-boolean in a bool column", `{"ok":"maybe"}`, /Failed to cast value to numerical: "maybe"/],
    ["malformed JSON", `{"doc":{"a":}`, /Malformed JSON/],
  ] as const) {
    test(`a value that does not fit its type fails the read: ${what}`, async () => {
      const path = put(`{"id":1}\n${line}\n`);
      await assert.rejects(db.rows(select(readLoadFilesSql(path, columns, 100))), message);
    });
  }
});

describe("DuckDB typed CSV insert", () => {
  const target = `"csv ds"."o'rders"`;
  const tableColumns = [
    col("_ferry_id", "text"),
    col("_ferry_load_id", "text"),
    col("id", "bigint"),
    col("name", "text"),
    col("raw", "binary"),
    col("doc", "json"),
    col("amount", "decimal", { precision: 12, scale: 2 }),
    col("ts", "timestamp"),
    col("ok", "bool"),
    col("extra", "text"),
  ];
  const layout = {
    columns: ["id", "name", "raw", "doc", "amount", "ts", "ok"],
    constants: { _ferry_load_id: "17.it's" },
    uniqueIds: ["_ferry_id"],
  };
  let fileNo = 0;
  const put = (content: string) => {
    const path = join(files, `c${fileNo++}.csv`);
    writeFileSync(path, content);
    return path;
  };
  const count = async () => (await db.rows(`SELECT count(*)::INT AS n FROM ${target}`))[0]?.n;
  beforeEach(async () => {
    await db.run(
      `CREATE SCHEMA IF NOT EXISTS "csv ds"`,
      `DROP TABLE IF EXISTS ${target}`,
      createTableSql(duckdbDialect, target, tableColumns),
      `CREATE TEMP SEQUENCE IF NOT EXISTS ${ROW_ID_SEQUENCE}`,
    );
  });

  test("constants, fresh ids, NULL vs empty string, json minified and checked, binary decoded", async () => {
    const a = put(`1,"a,""b""",AP8=,"{""k"": [1, 2]}",12.50,2024-01-02 03:04:05.5+00,t\n2,"",,,,,f\n`);
    const b = put(`3,,,null,-0.01,infinity,\n`);
    assert.deepEqual(await db.rows(insertTypedCsvSql([a, b], layout, tableColumns, target)), [
      { Count: "3" },
    ]);
    const rows = await db.rows(`SELECT * EXCLUDE (_ferry_id) FROM ${target} ORDER BY id`);
    const base = { _ferry_load_id: "17.it's", extra: null };
    assert.deepEqual(rows, [
      {
        ...base,
        id: "1",
        name: 'a,"b"',
        raw: "\\x00\\xFF",
        doc: '{"k":[1,2]}',
        amount: "12.50",
        ts: "2024-01-02 03:04:05.5+00",
        ok: true,
      },
      { ...base, id: "2", name: "", raw: null, doc: null, amount: null, ts: null, ok: false },
      { ...base, id: "3", name: null, raw: null, doc: "null", amount: "-0.01", ts: "infinity", ok: null },
    ]);
    const ids = (await db.rows(`SELECT _ferry_id FROM ${target}`)).map((r) => String(r._ferry_id));
    for (const id of ids) assert.match(id, /^[0-9A-Za-z]{12}_\d+$/);
    assert.equal(new Set(ids).size, 3);
  });

  for (const [what, line, message] of [
    ["text in a bigint column", "x,,,,,,\n", /Could not convert string "x" to 'BIGINT'/],
    ["malformed JSON", `1,,,"{""k"":",,,\n`, /Malformed JSON/],
    ["a decimal too wide", "1,,,,12345678901.5,,\n", /Could not convert string "12345678901.5" to 'DECIMAL/],
    ["a non-boolean in a bool column", "1,,,,,,maybe\n", /Could not convert string "maybe" to 'BOOLEAN'/],
    ["invalid base64", "1,,not base64!,,,,\n", /base64/i],
    ["a record with a field too many", "1,,,,,,,x\n", /Expected Number of Columns: 7 Found: 8/],
    ["a record with a field too few", "1,,,,,\n", /Expected Number of Columns: 7 Found: 6/],
  ] as const) {
    test(`a value or record that does not fit fails the insert, nothing inserted: ${what}`, async () => {
      const good = put("7,ok,,,,,t\n");
      await assert.rejects(
        db.rows(insertTypedCsvSql([good, put(line)], layout, tableColumns, target)),
        message,
      );
      assert.equal(await count(), 0);
    });
  }

  test("a malformed timestamp fails the insert", async () => {
    await assert.rejects(
      db.rows(insertTypedCsvSql([put("1,,,,,not a time,\n")], layout, tableColumns, target)),
      /not a time/,
    );
    assert.equal(await count(), 0);
  });

  test("a record with trailing empty fields beyond the declared columns fails the insert", {
    todo:
      "src bug (minor): DuckDB's read_csv ignores trailing empty fields past the declared columns (`1,a,,` loads " +
      "for two columns) while readTypedCsv, the other reader of the same file, refuses the record.",
  }, async () => {
    await assert.rejects(db.rows(insertTypedCsvSql([put("1,,,,,,,,\n")], layout, tableColumns, target)));
    assert.equal(await count(), 0);
  });

  test("insertTypedCsvSql refuses a layout column the table lacks, and NUL in a constant", () => {
    assert.throws(
      () => insertTypedCsvSql(["/x.csv"], { ...layout, columns: ["id", "nope"] }, tableColumns, target),
      /^Error: typed CSV column "nope" is not a column of "csv ds"\."o'rders"$/,
    );
    const nul = { ...layout, constants: { _ferry_load_id: "a\u0000" } };
    assert.throws(() => insertTypedCsvSql(["/x.csv"], nul, tableColumns, target), /NUL characters/);
  });
});
