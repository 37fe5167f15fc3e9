/**
 * Typed CSV pass-through: Postgres tables read whole go to DuckDB as typed CSV (COPY ... FORMAT csv into the load
 * package, read_csv at load) and must load exactly what the record path (`bulkExport: false`) loads: same columns,
 * same types, same values. Values typed CSV cannot carry fall back to records; destinations that do not read typed
 * CSV never get it. Resources may hand over their own typed CSV files; those that need each record at extract may
 * not, and schema contracts judge a typed CSV file as they judge records.
 *
 * The process runs in a far-from-UTC time zone so a timestamp shifted through local time would show.
 */
process.env.TZ = "Pacific/Auckland";

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { stagingSchema } from "../../src/destinations/postgres/index.js";
import { pipeline, type ResourceContext, resource, silentLogger } from "../../src/index.js";
import { sqlDatabase, sqlTable } from "../../src/sources/sql-database/index.js";
import { dropSchemas } from "../helpers/backends.js";
import { service } from "../helpers/services.js";
import {
  assertSameLoad,
  BULK_ID,
  columnList,
  dataTables,
  duck,
  idKinds,
  idsUnique,
  qi,
  RECORD_ID,
  RECORD_ID_SHAPE,
  removeScratch,
  valuesOf,
} from "../helpers/typed-csv-checks.js";

const SPACE = "tcsv_src";
const PG = await service("postgres");

/** Runs statements (`;`-separated) on the test server, inside `space` when given. */
async function pgExec(sql: string, space?: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG.url });
  await c.connect();
  try {
    await c.query(space ? `SET search_path TO ${qi(space)}; ${sql}` : sql);
  } finally {
    await c.end();
  }
}

after(removeScratch);

/** Loads one table of SPACE with sqlTable into a fresh DuckDB pipeline. */
async function loadTable(name: string, table: string, bulkExport?: boolean) {
  const t = duck(name);
  const info = await t.p.run(
    await sqlTable({
      url: PG.url,
      schema: SPACE,
      table,
      ...(bulkExport !== undefined ? { bulkExport } : {}),
    }),
  );
  return { ...t, info };
}

/** Runs `tables` of the Postgres schema `space` (one sqlDatabase source) into a fresh DuckDB pipeline. */
async function loadTables(name: string, space: string, tables: string[], bulkExport: boolean) {
  const t = duck(name);
  const src = await sqlDatabase({ url: PG.url, schema: space, name: "src", tables, bulkExport });
  return { ...t, info: await t.p.run(src) };
}

describe("typed CSV from Postgres into DuckDB", { skip: PG.skip }, () => {
  before(async () => {
    await pgExec(`DROP SCHEMA IF EXISTS ${SPACE} CASCADE; CREATE SCHEMA ${SPACE}`);
    await pgExec(
      `CREATE TYPE tcsv_mood AS ENUM ('sad', 'happy', 'so, "so"');
       CREATE TABLE everything (
         id int PRIMARY KEY, big bigint, small smallint, num numeric(12,2), num_free numeric, f4 real,
         f8 double precision, flag boolean, ts timestamp(6), tstz timestamptz(6), d date, t time(6), j json,
         jb jsonb, b bytea, txt text, note varchar(40), ch char(3), u uuid, arr int[], tags text[], iv interval,
         m tcsv_mood);
       INSERT INTO everything VALUES
        (1, 9223372036854775807, 32767, 1234567890.12, 0.5, 1.5, 0.1, true, '2024-02-29 23:59:59.123456',
         '2024-03-10 02:30:00.654321+05', '1999-12-31', '23:59:59.999999',
         '{"b": 1, "a": [1, 2.5, "x,y"], "s": "q\\"uote"}', '{"n": "é", "k": 2.5, "t": true}',
         decode(repeat('00ff10ab', 40), 'hex'), E'comma, "quote" and\\nnewline', 'héllo', 'ab',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,NULL}', '{"a b","c,d","q\\"q",NULL,""}',
         '1 year 2 mons 3 days 04:05:06.5', 'so, "so"'),
        (2, 9007199254740993, -32768, -0.01, -12345678901234567890.123456789, -2.25, 'NaN', false,
         '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', '0001-01-01', '00:00:00', '[]',
         '"just a string"', '\\x', '', '', '', '00000000-0000-0000-0000-000000000000', '{}', '{}', '-1 days',
         'sad'),
        (3, -9223372036854775808, 0, 0, 0, 'Infinity', 'Infinity', NULL, '0001-01-01 00:00:00',
         '9999-12-31 23:59:59.999999+00', '9999-12-31', '12:00:00.5',
         '{"nested": {"deep": [[]]}, "u": "\\u00e9\\ud83d\\ude00", "esc": "tab\\tquote\\"back\\\\"}',
         '[1, "two", null, {"3": [4]}]', decode(repeat('41', 58), 'hex'), E'crlf\\r\\nend, lone cr\\rx',
         E'\\\\.', NULL, NULL, '{-1}', '{"NULL"}', 'P0D', 'happy'),
        (4, -1, 1, 99999999.99, 123456789.987654321, '-Infinity', '-Infinity', true,
         '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00+14', '2000-01-01', '00:00:00.000001', '"x"',
         '{}', decode('0a0d2c22', 'hex'), 'unicode 😀 Zürich 中文 ‰', ' padded ', 'xyz',
         'ffffffff-ffff-ffff-ffff-ffffffffffff', '{{1,2},{3,4}}', '{"\\\\"}', '-1 year -2 mons +3 days -04:05:06',
         'sad'),
        (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL),
        (6, 0, 0, 0, 0, 1e-45, 5e-324, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'NULL', '"', ',',
         NULL, NULL, NULL, NULL, NULL),
        (7, 1, 1, 1, 1, 1, 1.7976931348623157e308, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '""', ',,',
         '"', NULL, NULL, NULL, NULL, NULL);`,
      SPACE,
    );
  });
  after(() => pgExec(`DROP SCHEMA IF EXISTS ${SPACE} CASCADE`));

  it("loads a table of every type in bulk exactly as the record path does", async () => {
    const bulk = await loadTable("tcsv_all_bulk", "everything");
    const rec = await loadTable("tcsv_all_rec", "everything", false);
    assert.deepEqual(bulk.info.rows, { everything: 7 });
    assert.deepEqual(rec.info.rows, { everything: 7 });
    // The bulk run really went through typed CSV; the record run did not.
    assert.deepEqual(await idKinds(bulk.p, "everything"), [BULK_ID]);
    assert.deepEqual(await idKinds(rec.p, "everything"), [RECORD_ID]);
    assert.equal(await idsUnique(bulk.p, "everything"), true);
    assert.deepEqual(bulk.info.warnings, rec.info.warnings);
    await assertSameLoad(bulk.p, rec.p, "everything");
    // One load id per run, on every row.
    for (const { p, info } of [bulk, rec]) {
      assert.deepEqual(await p.dataset().sql("SELECT DISTINCT _ferry_load_id AS id FROM everything"), [
        { id: info.loadIds[0] },
      ]);
    }

    assert.deepEqual(
      (await columnList(bulk.p, "everything")).map(([c, t]) => [c, t]),
      [
        ["id", "BIGINT"],
        ["big", "BIGINT"],
        ["small", "BIGINT"],
        ["num", "DECIMAL(12,2)"],
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
        ["b", "BLOB"],
        ["txt", "VARCHAR"],
        ["note", "VARCHAR"],
        ["ch", "VARCHAR"],
        ["u", "VARCHAR"],
        ["arr", "JSON"],
        ["tags", "JSON"],
        ["iv", "VARCHAR"],
        ["m", "VARCHAR"],
        ["_ferry_id", "VARCHAR"],
        ["_ferry_load_id", "VARCHAR"],
      ],
    );

    // Exact values, read from the bulk load.
    const rows = await bulk.p.dataset().sql(
      `SELECT id, big::VARCHAR AS big, num::VARCHAR AS num, num_free::VARCHAR AS num_free, f4, f8::VARCHAR AS f8,
                flag, ts::VARCHAR AS ts, tstz::VARCHAR AS tstz, epoch_us(ts) AS ts_us, d::VARCHAR AS d, t::VARCHAR AS t,
                j::VARCHAR AS j, jb::VARCHAR AS jb, hex(b) AS b, txt, note, ch, u, arr::VARCHAR AS arr,
                tags::VARCHAR AS tags, iv, m
         FROM everything ORDER BY id`,
    );
    assert.deepEqual(rows[0], {
      id: 1,
      big: "9223372036854775807",
      num: "1234567890.12",
      num_free: "0.500000000",
      f4: 1.5,
      f8: "0.1",
      flag: true,
      ts: "2024-02-29 23:59:59.123456+00",
      tstz: "2024-03-09 21:30:00.654321+00",
      ts_us: Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 123456,
      d: "1999-12-31",
      t: "23:59:59.999999",
      j: '{"b":1,"a":[1,2.5,"x,y"],"s":"q\\"uote"}',
      jb: '{"k":2.5,"n":"é","t":true}',
      b: "00FF10AB".repeat(40),
      txt: 'comma, "quote" and\nnewline',
      note: "héllo",
      ch: "ab ",
      u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      arr: "[1,2,null]",
      tags: '["a b","c,d","q\\"q",null,""]',
      iv: "P1Y2M3DT4H5M6.5S",
      m: 'so, "so"',
    });
    assert.deepEqual(rows[1], {
      id: 2,
      big: "9007199254740993",
      num: "-0.01",
      num_free: "-12345678901234567890.123456789",
      f4: -2.25,
      f8: "nan",
      flag: false,
      ts: "1970-01-01 00:00:00+00",
      tstz: "1969-12-31 23:59:59.999999+00",
      ts_us: 0,
      d: "0001-01-01",
      t: "00:00:00",
      j: "[]",
      jb: '"just a string"',
      b: "",
      txt: "",
      note: "",
      ch: "   ",
      u: "00000000-0000-0000-0000-000000000000",
      arr: "[]",
      tags: "[]",
      iv: "P-1D",
      m: "sad",
    });
    const r3 = rows[2] as Record<string, unknown>;
    assert.equal(r3.big, "-9223372036854775808");
    assert.equal(r3.f4, Number.POSITIVE_INFINITY);
    assert.equal(r3.f8, "inf");
    assert.equal(r3.ts, "0001-01-01 00:00:00+00");
    assert.equal(r3.tstz, "9999-12-31 23:59:59.999999+00");
    assert.equal(r3.b, "41".repeat(58));
    assert.equal(r3.txt, "crlf\r\nend, lone cr\rx");
    assert.equal(r3.note, "\\.");
    assert.equal(r3.j, '{"nested":{"deep":[[]]},"u":"é😀","esc":"tab\\tquote\\"back\\\\"}');
    assert.equal(r3.jb, '[1,"two",null,{"3":[4]}]');
    const r4 = rows[3] as Record<string, unknown>;
    assert.equal(r4.num_free, "123456789.987654321");
    assert.equal(r4.f8, "-inf");
    assert.equal(r4.b, "0A0D2C22");
    assert.equal(r4.txt, "unicode 😀 Zürich 中文 ‰");
    assert.equal(r4.note, " padded ");
    assert.equal(r4.tags, '["\\\\"]');
    assert.equal(r4.arr, "[[1,2],[3,4]]");
    const nulls = rows[4] as Record<string, unknown>;
    for (const [k, v] of Object.entries(nulls)) if (k !== "id") assert.equal(v, null, k);
    assert.deepEqual(
      rows.slice(5).map((r) => [r.f4, r.f8, r.txt, r.note, r.ch]),
      [
        [1e-45, "5e-324", "NULL", '"', ",  "],
        [1, "1.7976931348623157e+308", '""', ",,", '"  '],
      ],
    );
  });

  it("reads a table record by record when a row could be longer than typed CSV carries", async () => {
    const space = `${SPACE}_long`;
    await pgExec(`DROP SCHEMA IF EXISTS ${space} CASCADE; CREATE SCHEMA ${space}`);
    try {
      // fits: 2 MB of text with quotes, 1 MB of binary and a 1 MB json document, within the limit together.
      // long_text: 9 MB of text; long_bytea: 13 MB of binary (17 MB as base64); long_json: a 6 MB json document
      // stored compressed in far less (its text length is measured, not its stored size).
      await pgExec(
        `CREATE TABLE fits (id int PRIMARY KEY, t text, b bytea, j jsonb);
         INSERT INTO fits VALUES (1, repeat('a"', 1000000), decode(repeat('ff', 1000000), 'hex'),
           jsonb_build_object('k', repeat('x', 1000000))), (2, 'short', '\\x00', '[]');
         CREATE TABLE long_text (id int PRIMARY KEY, t text);
         INSERT INTO long_text VALUES (1, 'a'), (2, repeat('ab', 4500000));
         CREATE TABLE long_bytea (id int PRIMARY KEY, b bytea);
         INSERT INTO long_bytea VALUES (1, '\\x00'), (2, decode(repeat('ab', 13000000), 'hex'));
         CREATE TABLE long_json (id int PRIMARY KEY, j jsonb);
         INSERT INTO long_json VALUES (1, '{}'), (2, jsonb_build_object('k', repeat('ab', 3000000)));`,
        space,
      );
      const c = new pg.Client({ connectionString: PG.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT pg_column_size(j)::int AS stored, octet_length(j::text) AS text FROM ${qi(space)}.long_json WHERE id = 2`,
        );
        assert.ok(rows[0].stored < 1_000_000 && rows[0].text > 6_000_000, JSON.stringify(rows[0]));
      } finally {
        await c.end();
      }
      const tables = ["fits", "long_text", "long_bytea", "long_json"];
      const bulk = await loadTables("tcsv_long_bulk", space, tables, true);
      const rec = await loadTables("tcsv_long_rec", space, tables, false);
      assert.deepEqual(bulk.info.rows, { fits: 2, long_text: 2, long_bytea: 2, long_json: 2 });
      for (const table of tables) {
        assert.deepEqual(
          await idKinds(bulk.p, table),
          [table === "fits" ? BULK_ID : RECORD_ID],
          `ids of ${table}`,
        );
        await assertSameLoad(bulk.p, rec.p, table);
      }
      assert.deepEqual(
        await bulk.p.dataset().sql(
          `SELECT (SELECT length(t) FROM fits WHERE id = 1) AS fits, (SELECT length(t) FROM long_text WHERE id = 2) AS t,
               (SELECT octet_length(b) FROM long_bytea WHERE id = 2) AS b, (SELECT length(j->>'k') FROM long_json WHERE id = 2) AS j`,
        ),
        [{ fits: 2_000_000, t: 9_000_000, b: 13_000_000, j: 6_000_000 }],
      );
    } finally {
      await pgExec(`DROP SCHEMA IF EXISTS ${space} CASCADE`);
    }
  });

  it("falls back to records for a table holding a value typed CSV cannot carry, and only for it", async () => {
    const space = `${SPACE}_fb`;
    await pgExec(`DROP SCHEMA IF EXISTS ${space} CASCADE; CREATE SCHEMA ${space}`);
    try {
      await pgExec(
        `CREATE TABLE bc_ts (id int PRIMARY KEY, ts timestamp, note text);
         INSERT INTO bc_ts VALUES (1, '2024-01-01 10:00:00', 'a'), (2, '0044-03-15 12:00:00 BC', 'b,"c"');
         CREATE TABLE bc_tstz (id int PRIMARY KEY, at timestamptz);
         INSERT INTO bc_tstz VALUES (1, '2024-01-01 10:00:00+02'), (2, '0001-12-31 23:00:00+00 BC');
         CREATE TABLE bc_date (id int PRIMARY KEY, d date);
         INSERT INTO bc_date VALUES (1, '2024-01-01'), (2, '4713-01-01 BC'), (3, '10000-01-01');
         CREATE TABLE nan_num (id int PRIMARY KEY, n numeric(12,2), free numeric);
         INSERT INTO nan_num VALUES (1, 1.5, 0.5), (2, 'NaN', 1);
         CREATE TABLE nan_free (id int PRIMARY KEY, free numeric);
         INSERT INTO nan_free VALUES (1, 2.5), (2, 'NaN'), (3, 'Infinity');
         CREATE TABLE wide_num (id int PRIMARY KEY, free numeric);
         INSERT INTO wide_num VALUES (1, 0.5), (2, 0.0000000001), (3, 123456789012345678901234567890.5);
         CREATE TABLE fine (id int PRIMARY KEY, free numeric, ts timestamp, d date);
         INSERT INTO fine VALUES (1, 99999999999999999999999999999.999999999, '0001-01-01', '9999-12-31');`,
        space,
      );
      const tables = ["bc_ts", "bc_tstz", "bc_date", "nan_num", "nan_free", "wide_num", "fine"];
      const bulk = await loadTables("tcsv_fb_bulk", space, tables, true);
      const rec = await loadTables("tcsv_fb_rec", space, tables, false);
      assert.deepEqual(bulk.info.rows, rec.info.rows);
      assert.deepEqual(bulk.info.rows, {
        bc_ts: 2,
        bc_tstz: 2,
        bc_date: 3,
        nan_num: 2,
        nan_free: 3,
        wide_num: 3,
        fine: 1,
      });
      for (const table of tables) {
        assert.deepEqual(
          await idKinds(bulk.p, table),
          [table === "fine" ? BULK_ID : RECORD_ID],
          `ids of ${table}`,
        );
        assert.deepEqual(await idKinds(rec.p, table), [RECORD_ID]);
        await assertSameLoad(bulk.p, rec.p, table);
      }
      assert.deepEqual(await valuesOf(bulk.p, "bc_ts"), [
        { id: "1", ts: "2024-01-01 10:00:00+00", note: "a", ts__v_text: null },
        { id: "2", ts: null, note: 'b,"c"', ts__v_text: "0044-03-15 12:00:00 BC" },
      ]);
      assert.deepEqual(await valuesOf(bulk.p, "bc_date"), [
        { id: "1", d: "2024-01-01", d__v_text: null },
        { id: "2", d: null, d__v_text: "4713-01-01 BC" },
        { id: "3", d: null, d__v_text: "10000-01-01" },
      ]);
      assert.deepEqual(await valuesOf(bulk.p, "nan_num"), [
        { id: "1", n: "1.50", free: "0.500000000", n__v_text: null },
        { id: "2", n: null, free: "1.000000000", n__v_text: "NaN" },
      ]);
      assert.deepEqual(await valuesOf(bulk.p, "wide_num"), [
        { id: "1", free: "0.500000000", free__v_text: null },
        { id: "2", free: null, free__v_text: "0.0000000001" },
        { id: "3", free: null, free__v_text: "123456789012345678901234567890.5" },
      ]);
      assert.deepEqual(await valuesOf(bulk.p, "fine"), [
        {
          id: "1",
          free: "99999999999999999999999999999.999999999",
          ts: "0001-01-01 00:00:00+00",
          d: "9999-12-31",
        },
      ]);
    } finally {
      await pgExec(`DROP SCHEMA IF EXISTS ${space} CASCADE`);
    }
  });

  it("replaces a table in bulk: the second run leaves exactly the new rows, an empty table none", async () => {
    await pgExec(
      `CREATE TABLE orders (id int PRIMARY KEY, name text, amount numeric(10,2), at timestamptz);
       INSERT INTO orders VALUES (1, 'one', 1.10, '2024-01-01 00:00:00+00'), (2, 'two', 2.20, NULL),
         (3, 'three', NULL, '2024-01-03 00:00:00+00');`,
      SPACE,
    );
    const t = duck("tcsv_replace");
    const orders = () => sqlTable({ url: PG.url, schema: SPACE, table: "orders" });
    const first = await t.p.run(await orders());
    assert.deepEqual(first.rows, { orders: 3 });
    await pgExec(
      `DELETE FROM orders WHERE id = 2; UPDATE orders SET name = 'ONE, "updated"', amount = 9.99 WHERE id = 1;
       INSERT INTO orders VALUES (4, E'four\\nlines', 4.40, '2024-01-04 12:00:00.5+00'), (5, '', 0, NULL);`,
      SPACE,
    );
    const second = await t.p.run(await orders());
    assert.deepEqual(second.rows, { orders: 4 });
    assert.deepEqual(await idKinds(t.p, "orders"), [BULK_ID]);
    assert.deepEqual(await valuesOf(t.p, "orders"), [
      { id: "1", name: 'ONE, "updated"', amount: "9.99", at: "2024-01-01 00:00:00+00" },
      { id: "3", name: "three", amount: null, at: "2024-01-03 00:00:00+00" },
      { id: "4", name: "four\nlines", amount: "4.40", at: "2024-01-04 12:00:00.5+00" },
      { id: "5", name: "", amount: "0.00", at: null },
    ]);
    assert.deepEqual(await t.p.dataset().sql("SELECT DISTINCT _ferry_load_id AS id FROM orders"), [
      { id: second.loadIds[0] },
    ]);
    assert.notEqual(second.loadIds[0], first.loadIds[0]);
    await pgExec("DELETE FROM orders", SPACE);
    const third = await t.p.run(await orders());
    assert.deepEqual(third.rows, {});
    assert.deepEqual(await t.p.dataset().sql("SELECT count(*)::INTEGER AS n FROM orders"), [{ n: 0 }]);
  });

  it("loads hostile table and column names in bulk under the same names as the record path", async () => {
    const table = 'Or"der; DROP TABLE x; -- ü.a.b';
    const cols = ["id", 'Quo"te', "semi;colon", "sp ace", "ünïcødé", "a.b", "CamelCase", "x'y", "select"];
    await pgExec(
      `CREATE TABLE ${qi(table)} (${cols.map((c, i) => `${qi(c)} ${i === 0 ? "int PRIMARY KEY" : "text"}`).join(", ")});
       INSERT INTO ${qi(table)} VALUES
         (1, ${cols
           .slice(1)
           .map((_, i) => `'v${i}, "q"'`)
           .join(", ")}),
         (2, ${cols
           .slice(1)
           .map(() => "NULL")
           .join(", ")});`,
      SPACE,
    );
    const bulk = await loadTable("tcsv_names_bulk", table);
    const rec = await loadTable("tcsv_names_rec", table, false);
    assert.deepEqual(Object.keys(bulk.info.rows), Object.keys(rec.info.rows));
    const [name] = Object.keys(bulk.info.rows) as [string];
    assert.deepEqual(await dataTables(bulk.p), [name]);
    assert.deepEqual(await dataTables(rec.p), [name]);
    assert.deepEqual(await idKinds(bulk.p, name), [BULK_ID]);
    assert.deepEqual(await idKinds(rec.p, name), [RECORD_ID]);
    await assertSameLoad(bulk.p, rec.p, name);
    const [row] = await valuesOf(bulk.p, name);
    assert.equal(Object.keys(row ?? {}).length, cols.length);
    assert.deepEqual(Object.values(row ?? {}), ["1", ...cols.slice(1).map((_, i) => `v${i}, "q"`)]);
  });

  it("never hands typed CSV to a Postgres destination: the source reads records", async () => {
    await pgExec(
      `CREATE TABLE to_pg (id int PRIMARY KEY, big bigint, amount numeric(12,2), raw bytea, note text, doc jsonb,
         at timestamptz);
       INSERT INTO to_pg VALUES
         (1, 9007199254740993, 12.50, decode(repeat('ff', 60), 'hex'), E'a, "b"\\r\\nc', '{"k": [1, "x"]}',
          '2024-03-10 02:30:00.654321+05'),
         (2, NULL, NULL, NULL, '', NULL, NULL);`,
      SPACE,
    );
    const dir = mkdtempSync(join(tmpdir(), "ferry-tcsv-pg-"));
    const dataset = `tcsv_pgdest_${randomBytes(4).toString("hex")}`;
    try {
      const p = pipeline({
        name: "tcsv_pgdest",
        destination: PG.url,
        dataset,
        dir: join(dir, ".ferry"),
        logger: silentLogger,
      });
      let offered: unknown = "not called";
      const table = await sqlTable({ url: PG.url, schema: SPACE, table: "to_pg" });
      // The same resource, watching what its context offers.
      const watched = resource({ ...table.options, name: "to_pg" }, (ctx: ResourceContext) => {
        offered = ctx.typedCsv;
        const body = table.body;
        if (body.kind !== "function") throw new Error("a table resource is a function");
        return body.fn(ctx);
      });
      const info = await p.run(watched);
      assert.deepEqual(info.rows, { to_pg: 2 });
      assert.equal(offered, undefined);
      const rows = await p.dataset().sql(
        `SELECT id, big::text AS big, amount::text AS amount, encode(raw, 'hex') AS raw, note, doc::text AS doc,
                  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at,
                  CASE WHEN _ferry_id ~ '^${RECORD_ID_SHAPE}$' THEN '${RECORD_ID}' ELSE _ferry_id END AS idlen
           FROM ${qi(dataset)}.to_pg ORDER BY id`,
      );
      assert.deepEqual(rows, [
        {
          id: 1,
          big: "9007199254740993",
          amount: "12.50",
          raw: "ff".repeat(60),
          note: 'a, "b"\r\nc',
          doc: '{"k": [1, "x"]}',
          at: "2024-03-09 21:30:00.654321",
          idlen: RECORD_ID,
        },
        { id: 2, big: null, amount: null, raw: null, note: "", doc: null, at: null, idlen: RECORD_ID },
      ]);
    } finally {
      await dropSchemas(PG.url, [dataset, stagingSchema(dataset)]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Values the bulk path must load as the record path does: such tables fall back to records. The cases still
  // marked todo are known, documented differences (docs/sql-database.md, "Bulk export"); each fails without `todo`.
  describe("bulk and record paths agree on edge values", () => {
    const divergent = async (name: string, ddl: string) => {
      await pgExec(ddl, SPACE);
      const bulk = await loadTable(`tcsv_div_${name}_bulk`, name);
      const rec = await loadTable(`tcsv_div_${name}_rec`, name, false);
      assert.deepEqual(await idKinds(rec.p, name), [RECORD_ID]);
      await assertSameLoad(bulk.p, rec.p, name);
    };

    it("a carriage return inside a text value of the first row loads (DuckDB sniffs new_line = \\r)", () =>
      divergent(
        "div_cr_first",
        `CREATE TABLE div_cr_first (id int PRIMARY KEY, txt text);
           INSERT INTO div_cr_first VALUES (1, E'crlf\\r\\ninside'), (2, 'x');`,
      ));

    it("infinite timestamps and dates load as the record path loads them", () =>
      divergent(
        "div_inf",
        `CREATE TABLE div_inf (id int PRIMARY KEY, ts timestamp, tstz timestamptz, d date);
           INSERT INTO div_inf VALUES (1, 'infinity', '-infinity', 'infinity');`,
      ));

    it("a timestamp after year 9999 falls back to records like a date after 9999 does", () =>
      divergent(
        "div_y10k",
        `CREATE TABLE div_y10k (id int PRIMARY KEY, ts timestamp, tstz timestamptz);
           INSERT INTO div_y10k VALUES (1, '10000-01-01 00:00:00', '10000-01-01 00:00:00+00');`,
      ));

    it("time 24:00:00 loads as the record path loads it", () =>
      divergent(
        "div_t24",
        `CREATE TABLE div_t24 (id int PRIMARY KEY, t time);
           INSERT INTO div_t24 VALUES (1, '24:00:00');`,
      ));

    it(
      "json null, integral fractions, duplicate keys and integers beyond 2^53 load as the record path loads them",
      { todo: "bulk keeps PG's JSON text (json() minifies), records go through JSON.parse/stringify" },
      () =>
        divergent(
          "div_json",
          `CREATE TABLE div_json (id int PRIMARY KEY, j json, jb jsonb);
           INSERT INTO div_json VALUES (1, 'null', 'null'), (2, '{"f": 1.0, "e": 1e2}', '{"f": 2.0}'),
             (3, '{"a": 1, "a": 2}', '{"big": 12345678901234567890}');`,
        ),
    );

    it(
      "double -0 keeps its sign on both paths",
      {
        todo: "bulk loads -0.0; records lose the sign when extract writes them as JSON (JSON.stringify(-0) is 0)",
      },
      () =>
        divergent(
          "div_negzero",
          `CREATE TABLE div_negzero (id int PRIMARY KEY, f double precision);
           INSERT INTO div_negzero VALUES (1, '-0');`,
        ),
    );
  });
});
