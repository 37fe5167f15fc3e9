import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serverFeatures } from "../../src/destinations/clickhouse/server-features.js";
import { decoderOf, parseInteger, parseTsvResult } from "../../src/destinations/clickhouse/tsv-results.js";
import {
  clickhouseTimestamp,
  tsvBytes,
  tsvEncoders,
  tsvField,
  tsvRowEncoder,
  ValueRefused,
} from "../../src/destinations/clickhouse/tsv-values.js";
import type { Column } from "../../src/index.js";

const modern = serverFeatures("26.7.2.1");
const old = serverFeatures("18.16.1");

describe("TabSeparated values for ClickHouse", () => {
  test("strings escape backslash, newline, carriage return, tab and NUL; bytes go as \\xHH", () => {
    assert.equal(tsvField("plain"), "plain");
    assert.equal(tsvField("a\tb\nc\rd\\e\0f"), "a\\tb\\nc\\rd\\\\e\\0f");
    assert.equal(tsvField("\\N"), "\\\\N", "a string that reads \\N is not NULL");
    assert.equal(tsvBytes(Buffer.from([0x61, 0x00, 0xff, 0x5c, 0x09, 0x7e])), "a\\x00\\xff\\x5c\\x09~");
  });

  test("timestamps become UTC text: offsets applied, microseconds kept (DateTime64) or cut (DateTime)", () => {
    assert.equal(clickhouseTimestamp("2024-02-29T23:59:59.123456Z", true), "2024-02-29 23:59:59.123456");
    assert.equal(clickhouseTimestamp("2024-02-29T23:59:59.123456789Z", true), "2024-02-29 23:59:59.123456");
    assert.equal(clickhouseTimestamp("2024-02-29T23:59:59.5Z", true), "2024-02-29 23:59:59.500000");
    assert.equal(clickhouseTimestamp("2024-01-01T10:00:00+02:00", true), "2024-01-01 08:00:00.000000");
    assert.equal(clickhouseTimestamp("2024-01-01T00:30:00.25-0130", true), "2024-01-01 02:00:00.250000");
    assert.equal(clickhouseTimestamp("2024-03-01T01:00:00+05", true), "2024-02-29 20:00:00.000000");
    assert.equal(
      clickhouseTimestamp("2024-01-01 10:00", true),
      "2024-01-01 10:00:00.000000",
      "no offset: UTC",
    );
    assert.equal(clickhouseTimestamp("2024-01-01T10:00:00.999+00:00", false), "2024-01-01 10:00:00");
    assert.throws(() => clickhouseTimestamp("yesterday", true), ValueRefused);
  });

  test("each type's encoder, per server version", () => {
    const m = tsvEncoders(modern);
    const o = tsvEncoders(old);
    assert.deepEqual(
      ["NaN", "Infinity", "-Infinity", 1.5, 5e-324].map((v) => m.double(v, "", "x")),
      ["nan", "inf", "-inf", "1.5", "5e-324"],
    );
    assert.deepEqual([m.bool(true, "", "b"), m.bool(false, "", "b")], ["true", "false"]);
    assert.deepEqual([o.bool(true, "", "b"), o.bool(false, "", "b")], ["1", "0"]);
    // A bigint beyond 2^53 keeps its digits from the line (JSON.parse would round it).
    const line = '{"big":9007199254740993}';
    assert.equal(m.bigint(JSON.parse(line).big, line, "big"), "9007199254740993");
    const doc = '{"doc":{"n":12345678901234567890,"s":"a\\tb"}}';
    assert.equal(m.json(JSON.parse(doc).doc, doc, "doc"), '{"n":12345678901234567890,"s":"a\\\\tb"}');
    assert.equal(m.binary(Buffer.from([0, 255]).toString("base64"), "", "b"), "\\x00\\xff");
    assert.equal(m.timestamp("2024-01-01T00:00:00Z", "", "t"), "2024-01-01 00:00:00.000000");
    assert.equal(o.timestamp("2024-01-01T00:00:00.5Z", "", "t"), "2024-01-01 00:00:00");
  });

  test("dates and timestamps beyond what the server's type holds are refused, not clamped", () => {
    const m = tsvEncoders(modern);
    const o = tsvEncoders(old);
    assert.equal(m.date("1900-01-01", "", "d"), "1900-01-01");
    assert.throws(
      () => m.date("1899-12-31", "", "d"),
      /outside what ClickHouse's Date32 holds \(1900-01-01 to 2299-12-31\)/,
    );
    assert.throws(() => o.date("1969-12-31", "", "d"), /Date holds \(1970-01-01 to 2149-06-06\)/);
    assert.throws(() => o.timestamp("2106-02-07T06:28:16Z", "", "t"), /DateTime holds/);
    assert.equal(o.timestamp("2106-02-07T06:28:15Z", "", "t"), "2106-02-07 06:28:15");
    assert.throws(() => m.timestamp("2300-01-01T00:00:00Z", "", "t"), /DateTime64 holds/);
  });

  test("a row: columns in order, NULL and missing as \\N, own properties only, a NULL in a not-nullable column refused", () => {
    const columns: Column[] = [
      { name: "id", type: "bigint", nullable: false },
      { name: "name", type: "text" },
      { name: "constructor", type: "text" },
      { name: "ok", type: "bool" },
      { name: "d", type: "decimal", precision: 10, scale: 2 },
    ];
    const encode = tsvRowEncoder(columns, modern);
    assert.equal(encode('{"id":1,"name":"a\\tb","ok":true,"d":"0.10"}'), "1\ta\\tb\t\\N\ttrue\t0.10\n");
    assert.equal(encode('{"id":2,"name":null}'), "2\t\\N\t\\N\t\\N\t\\N\n");
    assert.throws(() => encode('{"name":"x"}'), /column "id" is declared not nullable but has no value/);
  });
});

describe("ClickHouse results (TabSeparatedWithNamesAndTypes)", () => {
  test("values decoded by type: integers, decimals, floats, Bool, dates, strings, NULLs, escapes", () => {
    const text = [
      "i\tbig\tu\tdec\twide\tf\tb\td\tts\ts\tn\tnul",
      "Int64\tInt64\tUInt64\tDecimal(10, 2)\tDecimal(38, 9)\tFloat64\tBool\tDate32\tDateTime64(6, \\'UTC\\')\tString\tNullable(Int64)\tNullable(String)",
      "42\t9007199254740993\t18446744073709551615\t0.10\t12345678901234567890.123456789\t-inf\ttrue\t2024-02-29\t2024-02-29 23:59:59.123456\ta\\tb\\\\c\\nd\\0\t\\N\t\\N",
      "",
    ].join("\n");
    const [r] = parseTsvResult(Buffer.from(text));
    assert.deepEqual(r, {
      i: 42,
      big: 9007199254740993n,
      u: 18446744073709551615n,
      dec: 0.1,
      wide: "12345678901234567890.123456789",
      f: Number.NEGATIVE_INFINITY,
      b: true,
      d: new Date("2024-02-29T00:00:00Z"),
      ts: new Date("2024-02-29T23:59:59.123Z"),
      s: "a\tb\\c\nd\0",
      n: null,
      nul: null,
    });
  });

  test("strings that are not UTF-8 come back as their bytes; overrides read binary and UInt8 bools", () => {
    const buf = Buffer.concat([
      Buffer.from("s\tbin\tflag\nString\tNullable(String)\tUInt8\n"),
      Buffer.from([0xff, 0x61, 0x09]),
      Buffer.from("caf\xc3\xa9", "latin1"),
      Buffer.from("\t1\n"),
    ]);
    const [plain] = parseTsvResult(buf);
    assert.deepEqual(plain?.s, Buffer.from([0xff, 0x61]));
    assert.equal(plain?.bin, "café");
    assert.equal(plain?.flag, 1);
    const [typed] = parseTsvResult(buf, { bin: "binary", flag: "bool" });
    assert.deepEqual(typed?.bin, Buffer.from("café"));
    assert.equal(typed?.flag, true);
  });

  test("decoders look through Nullable and LowCardinality; integers beyond 2^53 are bigints", () => {
    assert.equal(decoderOf("LowCardinality(Nullable(String))")(Buffer.from("x")), "x");
    assert.equal(decoderOf("Nullable(Float64)")(Buffer.from("nan")), Number.NaN);
    assert.equal(parseInteger("-9223372036854775808"), -9223372036854775808n);
    assert.equal(parseInteger("12"), 12);
    assert.deepEqual(parseTsvResult(Buffer.from("")), []);
  });
});
