/**
 * The SQL source's pure parts, without a server: COPY text parsing across chunk boundaries, escapes, value
 * conversions, type mapping and URL parsing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSqlUrl, recordKey } from "../../src/sources/sql-database/index.js";
import { mysqlType } from "../../src/sources/sql-database/mysql/mysql-types.js";
import {
  CopyRowParser,
  LineSplitter,
  unescapeCopy,
} from "../../src/sources/sql-database/postgres/copy-text.js";
import { pgType } from "../../src/sources/sql-database/postgres/pg-types.js";
import { cursorText, sqlTimestampToIso, toInt8 } from "../../src/sources/sql-database/values.js";
import { redactSecrets } from "../../src/util/log.js";

describe("COPY text format", () => {
  it("splits lines across chunks, also inside a multi-byte character", () => {
    const bytes = Buffer.from("1\tnaïve 名前\n2\tsecond line\n3\tlast\n", "utf8");
    const at = bytes.indexOf(Buffer.from("名")) + 1; // in the middle of a 3-byte character
    const splitter = new LineSplitter();
    const lines = [
      ...splitter.push(bytes.subarray(0, at)),
      ...splitter.push(bytes.subarray(at, at + 2)),
      ...splitter.push(bytes.subarray(at + 2, at + 20)),
      ...splitter.push(bytes.subarray(at + 20)),
    ];
    assert.deepEqual(lines, ["1\tnaïve 名前", "2\tsecond line", "3\tlast"]);
    assert.equal(splitter.hasRemainder, false);
    assert.deepEqual(splitter.push(Buffer.from("4\tcut")), []);
    assert.equal(splitter.hasRemainder, true);
  });

  it("undoes escapes and converts fields by kind; \\N is NULL, the text \\N is not", () => {
    assert.equal(unescapeCopy("a\\tb\\nc\\\\d\\re\\x41\\101"), "a\tb\nc\\d\reAA");
    const parser = new CopyRowParser(
      ["id", "big", "f", "ok", "doc", "bin", "ts", "tstz", "text"],
      ["int", "int8", "float", "bool", "json", "binary", "timestamp", "timestamptz", "text"],
    );
    assert.deepEqual(
      parser.parse(
        '7\t9007199254740993\tNaN\tt\t{"a":"x\\\\ty"}\t\\\\x00ff\t2024-01-02 03:04:05.123456\t2024-01-02 03:04:05+00\t\\\\N',
      ),
      {
        id: 7,
        big: 9007199254740993n,
        f: Number.NaN,
        ok: true,
        doc: { a: "x\ty" },
        bin: Buffer.from([0, 255]),
        ts: "2024-01-02T03:04:05.123456Z",
        tstz: "2024-01-02T03:04:05Z",
        text: "\\N",
      },
    );
    assert.deepEqual(parser.parse("\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N"), {
      id: null,
      big: null,
      f: null,
      ok: null,
      doc: null,
      bin: null,
      ts: null,
      tstz: null,
      text: null,
    });
    assert.throws(() => parser.parse("1\t2"), /COPY returned a row of 2 fields, expected 9/);
  });
});

describe("value conversions", () => {
  it("keeps integers exact and timestamps in UTC ISO form, leaving odd values as text", () => {
    assert.equal(toInt8("9007199254740991"), 9007199254740991);
    assert.equal(toInt8("-9223372036854775808"), -9223372036854775808n);
    assert.equal(sqlTimestampToIso("2024-01-02 03:04:05", false), "2024-01-02T03:04:05Z");
    assert.equal(sqlTimestampToIso("infinity", true), "infinity");
    assert.equal(sqlTimestampToIso("0044-03-15 00:00:00 BC", false), "0044-03-15 00:00:00 BC");
    assert.equal(sqlTimestampToIso("0044-03-15 00:00:00+00 BC", true), "0044-03-15 00:00:00+00 BC");
    assert.equal(sqlTimestampToIso("0000-00-00 00:00:00", false), "0000-00-00T00:00:00Z");
  });

  it("turns cursor values back into the text a database compares", () => {
    assert.equal(cursorText("2024-01-02T03:04:05.123456Z", "timestamptz"), "2024-01-02 03:04:05.123456");
    assert.equal(cursorText("2024-01-02T05:04:05+02:00", "timestamp"), "2024-01-02 03:04:05.000");
    assert.equal(cursorText(new Date(Date.UTC(2024, 0, 2)), "timestamp"), "2024-01-02 00:00:00.000");
    assert.equal(cursorText(12345678901234567890n, "int8"), "12345678901234567890");
    assert.equal(cursorText("2024-01-02", "text"), "2024-01-02");
  });
});

describe("type mapping", () => {
  const numeric = (p: number, s: number) => ((p << 16) | (s & 0x7ff)) + 4;
  it("maps Postgres types", () => {
    const pg = (typname: string, typmod = -1, typcategory = "N", typtype = "b") =>
      pgType({ typname, typmod, typcategory, typtype });
    assert.deepEqual(pg("numeric", numeric(12, 2)), {
      type: "decimal",
      precision: 12,
      scale: 2,
      kind: "text",
      select: "plain",
      known: true,
    });
    assert.deepEqual(pg("numeric", numeric(5, -2)), { ...pg("numeric", numeric(7, 0)) });
    assert.equal(pg("numeric", numeric(7, 0)).precision, 7);
    assert.equal(pg("numeric", numeric(50, 2)).type, "text");
    assert.equal(pg("numeric").type, "decimal");
    assert.equal(pg("numeric").precision, undefined);
    assert.equal(pg("_int4", -1, "A").select, "array_json");
    assert.equal(pg("mood", -1, "E", "e").type, "text");
    assert.deepEqual(pg("tsvector", -1, "U"), { type: "text", kind: "text", select: "text", known: false });
  });

  it("maps MySQL/MariaDB types", () => {
    const my = (
      dataType: string,
      columnType: string,
      precision?: number,
      scale?: number,
      jsonCheck = false,
    ) => mysqlType({ dataType, columnType, precision, scale, jsonCheck });
    assert.equal(my("tinyint", "tinyint(1)").type, "bool");
    assert.equal(my("tinyint", "tinyint(4)").type, "bigint");
    assert.deepEqual(my("bigint", "bigint(20) unsigned"), {
      type: "decimal",
      kind: "text",
      select: "plain",
      known: true,
      precision: 20,
      scale: 0,
    });
    assert.equal(my("decimal", "decimal(65,30)", 65, 30).type, "text");
    assert.equal(my("longtext", "longtext", undefined, undefined, true).type, "json");
    assert.equal(my("point", "point").select, "wkt");
    assert.equal(my("vector", "vector(3)").known, false);
  });
});

describe("URLs and record keys", () => {
  it("parses URLs, decodes and masks the password", () => {
    const u = parseSqlUrl("postgresql://ana:p%40ss%2Fw0rd@db.example:6543/shop?sslmode=require");
    assert.deepEqual(u.where, {
      engine: "postgres",
      host: "db.example",
      port: 6543,
      database: "shop",
      user: "ana",
    });
    assert.equal(u.password, "p@ss/w0rd");
    assert.equal(u.params.get("sslmode"), "require");
    assert.equal(redactSecrets("failed with p@ss/w0rd"), "failed with ***");
    assert.equal(parseSqlUrl("mysql://root@localhost/").where.port, 3306);
    assert.equal(parseSqlUrl("mariadb://root@[::1]:3307/x").where.host, "::1");
  });

  it("keeps source names as record keys, except dots", () => {
    assert.equal(recordKey("Unit Price"), "Unit Price");
    assert.equal(recordKey("a.b.c"), "a\u2024b\u2024c");
  });
});
