/**
 * Every source type round-trips into DuckDB with exact values and exact DuckDB column types, on Postgres and
 * MariaDB. The process runs in a far-from-UTC time zone so any date or timestamp shifted through a local-time
 * Date would show.
 */
process.env.TZ = "Pacific/Auckland";

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sqlDatabase, sqlTable } from "../../src/sources/sql-database/index.js";
import { columnsOf, tempPipeline } from "../helpers/tmp-pipeline.js";
import { type SourceServer, sourceServers } from "./sql-source-helpers.js";

const SPACE = "sqlsrc_types";
const servers = await sourceServers();
const pg = servers.find((s) => s.name === "postgres") as SourceServer;
const maria = servers.find((s) => s.name === "mariadb") as SourceServer;

/** Microseconds since the epoch of a UTC wall-clock time. */
const us = (iso: string, micros: number) => BigInt(Date.parse(iso)) * 1000n + BigInt(micros);

async function loadAll(s: SourceServer, name: string) {
  const t = tempPipeline(name);
  const src = await sqlDatabase({ url: s.url(SPACE), schema: s.schema(SPACE), name: "src" });
  const info = await t.p.run(src);
  return { ...t, info };
}

describe("sql source types: postgres", { skip: pg.svc.skip }, () => {
  before(async () => {
    await pg.reset(SPACE);
    await pg.exec(
      SPACE,
      `CREATE TYPE mood AS ENUM ('sad', 'happy');
       CREATE TABLE all_types (
         id int PRIMARY KEY, small smallint, i int, big bigint,
         num numeric(12,2), num_big numeric(38,10), num_free numeric, f4 real, f8 double precision,
         flag boolean, ts timestamp(6), tstz timestamptz(6), d date, t time(6),
         j json, jb jsonb, u uuid, b bytea, m mood, arr int[], tags text[], iv interval,
         txt text, vc varchar(10), ch char(3), tsv tsvector);
       INSERT INTO all_types VALUES
        (1, 32767, 2147483647, 9223372036854775807, 1234567890.12, 1234567890123456789012345678.0123456789,
         0.1, 1.5, 0.1, true, '2024-02-29 23:59:59.123456', '2024-03-10 02:30:00.654321+05', '1999-12-31',
         '23:59:59.999999', '{"a": [1, 2, {"b": null}], "s": "x\\ty"}', '{"n": "é", "k": 1.5}',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', 'happy', '{1,2,3}', '{"a b","c,d"}',
         '1 year 2 mons 3 days 04:05:06.5', E'multi\\nline\\ttab\\\\back "q"', 'héllo', 'ab', 'a fat cat'),
        (2, -32768, -2147483648, -9223372036854775808, -0.01, -0.0000000001, -1.0000000001, -2.25,
         -1e300, false, '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', '0001-01-01', '00:00:00',
         '[]', '"just a string"', '00000000-0000-0000-0000-000000000000', '\\x', 'sad', '{}', '{NULL}',
         '-1 days', '', '', '', ''),
        (3, NULL, NULL, 9007199254740993, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
       CREATE TABLE empty_one (id bigint PRIMARY KEY, amount numeric(10,3), at timestamptz, body jsonb);`,
    );
  });
  after(() => pg.drop(SPACE));

  it("loads every type with its DuckDB type, and warns about the one it does not know", async () => {
    const { p, info, cleanup } = await loadAll(pg, "pg_types");
    try {
      assert.deepEqual(info.rows, { all_types: 3 });
      assert.deepEqual(
        (await columnsOf(p, "pg_types", "all_types")).filter(([c]) => !c.startsWith("_ferry")),
        [
          ["id", "BIGINT"],
          ["small", "BIGINT"],
          ["i", "BIGINT"],
          ["big", "BIGINT"],
          ["num", "DECIMAL(12,2)"],
          ["num_big", "DECIMAL(38,10)"],
          ["num_free", "DECIMAL(38,9)"],
          ["f4", "DOUBLE"],
          ["f8", "DOUBLE"],
          ["flag", "BOOLEAN"],
          ["ts", "TIMESTAMP WITH TIME ZONE"],
          ["tstz", "TIMESTAMP WITH TIME ZONE"],
          ["d", "DATE"],
          ["t", "TIME"],
          ["j", "JSON"],
          ["jb", "JSON"],
          ["u", "VARCHAR"],
          ["b", "BLOB"],
          ["m", "VARCHAR"],
          ["arr", "JSON"],
          ["tags", "JSON"],
          ["iv", "VARCHAR"],
          ["txt", "VARCHAR"],
          ["vc", "VARCHAR"],
          ["ch", "VARCHAR"],
          ["tsv", "VARCHAR"],
          // numeric without precision keeps values beyond decimal(38, 9) exactly, as text, in a variant column
          ["num_free__v_text", "VARCHAR"],
        ],
      );
      assert.deepEqual(info.warnings, [
        'all_types: column "tsv" of table "all_types" has type tsvector, which ferry does not know: it is loaded as text',
      ]);
      const rows = await p.dataset().sql(
        `select id, small, i, big::varchar as big, num::varchar as num, num_big::varchar as num_big,
             num_free::varchar as num_free, num_free__v_text, f4, f8, flag, epoch_us(ts) as ts, epoch_us(tstz) as tstz,
             d::varchar as d, t::varchar as t, j::varchar as j, jb::varchar as jb, u, hex(b) as b, m,
             arr::varchar as arr, tags::varchar as tags, iv, txt, vc, ch, tsv
           from all_types order by id`,
      );
      assert.deepEqual(rows[0], {
        id: 1,
        small: 32767,
        i: 2147483647,
        big: "9223372036854775807",
        num: "1234567890.12",
        num_big: "1234567890123456789012345678.0123456789",
        num_free: "0.100000000",
        num_free__v_text: null,
        f4: 1.5,
        f8: 0.1,
        flag: true,
        ts: Number(us("2024-02-29T23:59:59Z", 123456)),
        tstz: Number(us("2024-03-09T21:30:00Z", 654321)),
        d: "1999-12-31",
        t: "23:59:59.999999",
        j: '{"a":[1,2,{"b":null}],"s":"x\\ty"}',
        jb: '{"k":1.5,"n":"é"}',
        u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        b: "00FF10",
        m: "happy",
        arr: "[1,2,3]",
        tags: '["a b","c,d"]',
        iv: "P1Y2M3DT4H5M6.5S",
        txt: 'multi\nline\ttab\\back "q"',
        vc: "héllo",
        ch: "ab ",
        tsv: "'a' 'cat' 'fat'",
      });
      assert.deepEqual(rows[1], {
        id: 2,
        small: -32768,
        i: -2147483648,
        big: "-9223372036854775808",
        num: "-0.01",
        num_big: "-0.0000000001",
        num_free: null,
        num_free__v_text: "-1.0000000001",
        f4: -2.25,
        f8: -1e300,
        flag: false,
        ts: 0,
        tstz: -1,
        d: "0001-01-01",
        t: "00:00:00",
        j: "[]",
        jb: '"just a string"',
        u: "00000000-0000-0000-0000-000000000000",
        b: "",
        m: "sad",
        arr: "[]",
        tags: "[null]",
        iv: "P-1D",
        txt: "",
        vc: "",
        ch: "   ",
        tsv: "",
      });
      const nulls = rows[2] as Record<string, unknown>;
      assert.equal(nulls.big, "9007199254740993");
      for (const [k, v] of Object.entries(nulls)) if (k !== "id" && k !== "big") assert.equal(v, null, k);
    } finally {
      cleanup();
    }
  });

  it("gives an empty table its exact column types", async () => {
    const t = tempPipeline("pg_empty");
    try {
      const info = await t.p.run(await sqlTable({ url: pg.url(SPACE), schema: SPACE, table: "empty_one" }));
      assert.deepEqual(info.rows, {});
      assert.deepEqual(
        (await columnsOf(t.p, "pg_empty", "empty_one")).filter(([c]) => !c.startsWith("_ferry")),
        [
          ["id", "BIGINT"],
          ["amount", "DECIMAL(10,3)"],
          ["at", "TIMESTAMP WITH TIME ZONE"],
          ["body", "JSON"],
        ],
      );
    } finally {
      t.cleanup();
    }
  });
});

describe("sql source types: mariadb", { skip: maria.svc.skip }, () => {
  before(async () => {
    await maria.reset(SPACE);
    await maria.exec(
      SPACE,
      `SET time_zone = '+05:00';
       CREATE TABLE all_types (
         id INT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, big BIGINT, ubig BIGINT UNSIGNED,
         num DECIMAL(12,2), num_big DECIMAL(38,10), f FLOAT, d8 DOUBLE, flag TINYINT(1), bit1 BIT(1), bits BIT(12),
         dt DATETIME(6), ts TIMESTAMP(6) NULL, d DATE, t TIME(6), y YEAR, j JSON, txt TEXT, vc VARCHAR(20),
         ch CHAR(3), e ENUM('sad','happy'), st SET('a','b','c'), b VARBINARY(10), bl BLOB, u UUID, g POINT);
       INSERT INTO all_types VALUES
        (1, -128, 32767, 8388607, 2147483647, 9223372036854775807, 18446744073709551615, 1234567890.12,
         1234567890123456789012345678.0123456789, 1.5, 0.1, 1, b'1', b'101010101010',
         '2024-02-29 23:59:59.123456', '2024-03-10 02:30:00.654321', '1999-12-31', '23:59:59.999999', 2024,
         '{"a": [1, 2, {"b": null}], "s": "x\\\\ty"}', 'multi\\nline\\ttab\\\\back "q"', 'héllo', 'ab', 'happy', 'a,c',
         x'00ff10', x'cafe', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ST_PointFromText('POINT(1 2)')),
        (2, 127, -32768, -8388608, -2147483648, -9223372036854775808, 0, -0.01, -0.0000000001, -2.25, -1e300,
         0, b'0', b'0', '1000-01-01 00:00:00', '1970-01-01 05:00:01', '1000-01-01', '-838:59:59', 1901, '[]',
         '', '', '', 'sad', '', x'', x'', '00000000-0000-0000-0000-000000000000', ST_PointFromText('POINT(0 0)')),
        (3, NULL, NULL, NULL, NULL, 9007199254740993, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
       CREATE TABLE empty_one (id BIGINT PRIMARY KEY, amount DECIMAL(10,3), at DATETIME(6), body JSON);`,
    );
  });
  after(() => maria.drop(SPACE));

  it("loads every type with its DuckDB type", async () => {
    const { p, info, cleanup } = await loadAll(maria, "maria_types");
    try {
      assert.deepEqual(info.rows, { all_types: 3 });
      assert.deepEqual(info.warnings, []);
      assert.deepEqual(
        (await columnsOf(p, "maria_types", "all_types")).filter(([c]) => !c.startsWith("_ferry")),
        [
          ["id", "BIGINT"],
          ["ti", "BIGINT"],
          ["si", "BIGINT"],
          ["mi", "BIGINT"],
          ["i", "BIGINT"],
          ["big", "BIGINT"],
          ["ubig", "DECIMAL(20,0)"],
          ["num", "DECIMAL(12,2)"],
          ["num_big", "DECIMAL(38,10)"],
          ["f", "DOUBLE"],
          ["d8", "DOUBLE"],
          ["flag", "BOOLEAN"],
          ["bit1", "BOOLEAN"],
          ["bits", "BIGINT"],
          ["dt", "TIMESTAMP WITH TIME ZONE"],
          ["ts", "TIMESTAMP WITH TIME ZONE"],
          ["d", "DATE"],
          ["t", "TIME"],
          ["y", "BIGINT"],
          ["j", "JSON"],
          ["txt", "VARCHAR"],
          ["vc", "VARCHAR"],
          ["ch", "VARCHAR"],
          ["e", "VARCHAR"],
          ["st", "VARCHAR"],
          ["b", "BLOB"],
          ["bl", "BLOB"],
          ["u", "VARCHAR"],
          ["g", "VARCHAR"],
          // TIME beyond 24 hours (MySQL's durations) is kept exactly, as text
          ["t__v_text", "VARCHAR"],
        ],
      );
      const rows = await p.dataset().sql(
        `select id, ti, si, mi, i, big::varchar as big, ubig::varchar as ubig, num::varchar as num,
             num_big::varchar as num_big, f, d8, flag, bit1, bits, epoch_us(dt) as dt, epoch_us(ts) as ts,
             d::varchar as d, t::varchar as t, t__v_text, y, j::varchar as j, txt, vc, ch, e, st, hex(b) as b,
             hex(bl) as bl, u, g
           from all_types order by id`,
      );
      assert.deepEqual(rows[0], {
        id: 1,
        ti: -128,
        si: 32767,
        mi: 8388607,
        i: 2147483647,
        big: "9223372036854775807",
        ubig: "18446744073709551615",
        num: "1234567890.12",
        num_big: "1234567890123456789012345678.0123456789",
        f: 1.5,
        d8: 0.1,
        flag: true,
        bit1: true,
        bits: 2730,
        dt: Number(us("2024-02-29T23:59:59Z", 123456)),
        ts: Number(us("2024-03-09T21:30:00Z", 654321)),
        d: "1999-12-31",
        t: "23:59:59.999999",
        t__v_text: null,
        y: 2024,
        j: '{"a":[1,2,{"b":null}],"s":"x\\ty"}',
        txt: 'multi\nline\ttab\\back "q"',
        vc: "héllo",
        ch: "ab",
        e: "happy",
        st: "a,c",
        b: "00FF10",
        bl: "CAFE",
        u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        g: "POINT(1 2)",
      });
      assert.deepEqual(rows[1], {
        id: 2,
        ti: 127,
        si: -32768,
        mi: -8388608,
        i: -2147483648,
        big: "-9223372036854775808",
        ubig: "0",
        num: "-0.01",
        num_big: "-0.0000000001",
        f: -2.25,
        d8: -1e300,
        flag: false,
        bit1: false,
        bits: 0,
        dt: us("1000-01-01T00:00:00Z", 0),
        ts: 1_000_000,
        d: "1000-01-01",
        t: null,
        t__v_text: "-838:59:59.000000",
        y: 1901,
        j: "[]",
        txt: "",
        vc: "",
        ch: "",
        e: "sad",
        st: "",
        b: "",
        bl: "",
        u: "00000000-0000-0000-0000-000000000000",
        g: "POINT(0 0)",
      });
      const nulls = rows[2] as Record<string, unknown>;
      assert.equal(nulls.big, "9007199254740993");
      for (const [k, v] of Object.entries(nulls)) if (k !== "id" && k !== "big") assert.equal(v, null, k);
    } finally {
      cleanup();
    }
  });

  it("gives an empty table its exact column types", async () => {
    const t = tempPipeline("maria_empty");
    try {
      const info = await t.p.run(await sqlTable({ url: maria.url(SPACE), table: "empty_one" }));
      assert.deepEqual(info.rows, {});
      assert.deepEqual(
        (await columnsOf(t.p, "maria_empty", "empty_one")).filter(([c]) => !c.startsWith("_ferry")),
        [
          ["id", "BIGINT"],
          ["amount", "DECIMAL(10,3)"],
          ["at", "TIMESTAMP WITH TIME ZONE"],
          ["body", "JSON"],
        ],
      );
    } finally {
      t.cleanup();
    }
  });
});
