/**
 * Which tables load and under which names (Postgres and MariaDB): tables / excludeTables / includeViews, the
 * source's own names ("Order Items") loading under ferry's naming (order_items), hostile table and column names,
 * and a 100k-row table streamed in pages while the server is still sending.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { transformer } from "../../src/index.js";
import { sqlDatabase, sqlTable } from "../../src/sources/sql-database/index.js";
import { columnsOf, tempPipeline } from "../helpers/tmp-pipeline.js";
import { sourceServers } from "./sql-source-helpers.js";

const SPACE = "sqlsrc_selection";
const HOSTILE_TABLE = `we"ird\`; DROP TABLE customers; --`;
const LONG_TABLE = `t_${"x".repeat(58)}_end`; // 64 characters: MariaDB's limit, just over Postgres' 63 bytes
const LONG_COLUMN = `c_${"y".repeat(56)}_end`; // 62 characters

for (const s of await sourceServers()) {
  const pg = s.name === "postgres";
  const longTable = pg ? LONG_TABLE.slice(0, 63) : LONG_TABLE;

  describe(`sql source selection: ${s.name}`, { skip: s.svc.skip }, () => {
    before(async () => {
      await s.reset(SPACE);
      const q = s.q;
      await s.exec(
        SPACE,
        `CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50));
         INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');
         CREATE TABLE ${q("Order Items")} (${q("Item ID")} INT PRIMARY KEY, ${q("Unit Price")} DECIMAL(8,2), ${q("orderId")} INT);
         INSERT INTO ${q("Order Items")} VALUES (10, 9.99, 1), (11, 0.01, 2);
         CREATE TABLE secret_stuff (id INT PRIMARY KEY);
         INSERT INTO secret_stuff VALUES (1);
         CREATE VIEW big_customers AS SELECT id, name FROM customers WHERE id > 1;
         CREATE TABLE ${q(HOSTILE_TABLE)} (
           ${q('the "quoted" one')} INT PRIMARY KEY, ${q("semi;colon")} VARCHAR(20), ${q("naïve ünïcødé 名前")} VARCHAR(20),
           ${q(LONG_COLUMN)} INT, ${q("a.b")} DECIMAL(6,3), ${q("Name")} VARCHAR(5), ${q("name!")} VARCHAR(5));
         INSERT INTO ${q(HOSTILE_TABLE)} VALUES (1, 'x; DROP', 'ü名', 42, 1.5, 'Up', 'low');
         CREATE TABLE ${q(longTable)} (id INT PRIMARY KEY);
         INSERT INTO ${q(longTable)} VALUES (7);
         CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(300));
         ${
           pg
             ? "INSERT INTO big SELECT i, repeat('p', 200) || i FROM generate_series(1, 100000) i;"
             : "INSERT INTO big SELECT seq, CONCAT(REPEAT('p', 200), seq) FROM seq_1_to_100000;"
         }`,
      );
    });
    after(() => s.drop(SPACE));

    const connect = { url: s.url(SPACE), schema: s.schema(SPACE) };

    it("loads every table but views by default, under ferry's names", async () => {
      const src = await sqlDatabase({ ...connect, excludeTables: ["big"] });
      assert.deepEqual(
        src.resources.map((r) => r.name),
        [HOSTILE_TABLE, "Order Items", "customers", "secret_stuff", longTable].sort(),
      );
      const t = tempPipeline(`sel_all_${s.name}`);
      try {
        const info = await t.p.run(src.select("Order Items", "customers"));
        assert.deepEqual(info.rows, { order_items: 2, customers: 2 });
        assert.deepEqual(
          (await columnsOf(t.p, `sel_all_${s.name}`, "order_items")).filter(([c]) => !c.startsWith("_ferry")),
          [
            ["item_id", "BIGINT"],
            ["unit_price", "DECIMAL(8,2)"],
            ["order_id", "BIGINT"],
          ],
        );
        assert.equal(t.p.schema?.tables.order_items?.columns.item_id?.primaryKey, true);
        const rows = await t.p
          .dataset()
          .sql("select item_id, unit_price::varchar as p from order_items order by 1");
        assert.deepEqual(rows, [
          { item_id: 10, p: "9.99" },
          { item_id: 11, p: "0.01" },
        ]);
      } finally {
        t.cleanup();
      }
    });

    it("takes tables, excludeTables and includeViews", async () => {
      const only = await sqlDatabase({ ...connect, tables: ["Order Items", "customers"] });
      assert.deepEqual(
        only.resources.map((r) => r.name),
        ["Order Items", "customers"],
      );
      const some = await sqlDatabase({
        ...connect,
        tables: ["customers", "secret_stuff", "big_customers"],
        excludeTables: ["secret_stuff"],
        includeViews: true,
      });
      assert.deepEqual(
        some.resources.map((r) => r.name),
        ["customers", "big_customers"],
      );
      const withViews = await sqlDatabase({ ...connect, includeViews: true });
      assert.ok(withViews.resources.some((r) => r.name === "big_customers"));
      const t = tempPipeline(`sel_views_${s.name}`);
      try {
        const info = await t.p.run(some);
        assert.deepEqual(info.rows, { customers: 2, big_customers: 1 });
        assert.equal(t.p.schema?.tables.big_customers?.writeDisposition, "replace");
        const view = await t.p.dataset().sql("select id, name from big_customers");
        assert.deepEqual(view, [{ id: 2, name: "Grace" }]);
      } finally {
        t.cleanup();
      }
    });

    it("loads hostile table and column names safely", async () => {
      const src = await sqlDatabase({ ...connect, tables: [HOSTILE_TABLE, longTable] });
      const t = tempPipeline(`sel_hostile_${s.name}`);
      try {
        const info = await t.p.run(src);
        const hostile = "we_ird_drop_table_customers";
        const long = pg ? longTable : `t_${"x".repeat(58)}_end`;
        assert.deepEqual(info.rows, { [hostile]: 1, [long]: 1 });
        const cols = (await columnsOf(t.p, `sel_hostile_${s.name}`, hostile)).filter(
          ([c]) => !c.startsWith("_ferry"),
        );
        const name = cols.map(([c]) => c);
        assert.deepEqual(cols.slice(0, 5), [
          ["the_quoted_one", "BIGINT"],
          ["semi_colon", "VARCHAR"],
          ["naive_unicode_名前", "VARCHAR"],
          [LONG_COLUMN, "BIGINT"],
          ["a_b", "DECIMAL(6,3)"],
        ]);
        // "Name" and "name!" both normalize to name: the first keeps it, the other gets a hashed suffix.
        assert.equal(name[5], "name");
        assert.match(name[6] ?? "", /^name_[0-9a-z]{4}$/);
        const rows = await t.p
          .dataset()
          .sql(
            `select the_quoted_one, semi_colon, "naive_unicode_名前" as u, "${LONG_COLUMN}" as l, a_b::varchar as ab, name, "${name[6]}" as other from ${hostile}`,
          );
        assert.deepEqual(rows, [
          {
            the_quoted_one: 1,
            semi_colon: "x; DROP",
            u: "ü名",
            l: 42,
            ab: "1.500",
            name: "Up",
            other: "low",
          },
        ]);
        assert.equal(t.p.schema?.tables[hostile]?.columns.the_quoted_one?.primaryKey, true);
        // The source table customers is still there.
        const still = await s.query(SPACE, "SELECT count(*) AS n FROM customers");
        assert.equal(Number(still[0]?.n), 2);
      } finally {
        t.cleanup();
      }
    });

    it("streams a 100k-row table in pages of chunkSize while the server is still sending", async () => {
      const big = await sqlTable({ ...connect, table: "big", chunkSize: 10_000 });
      let page = 0;
      const pages = transformer({ name: "pages", parent: big }, async (items) => ({
        page: ++page,
        rows: (items as unknown[]).length,
        // Backpressure: while the first page is processed, the server has not finished sending the table.
        server_reading: page === 1 ? await s.activeReads(SPACE, "big") : null,
      }));
      const t = tempPipeline(`sel_big_${s.name}`);
      try {
        const info = await t.p.run([big, pages]);
        assert.deepEqual(info.rows, { big: 100_000, pages: 10 });
        const seen = await t.p.dataset().sql("select page, rows, server_reading from pages order by page");
        assert.deepEqual(
          seen.map((r) => r.rows),
          Array(10).fill(10_000),
        );
        assert.equal(seen[0]?.server_reading, 1);
        const sums = await t.p
          .dataset()
          .sql("select count(distinct id) as n, min(id) as lo, max(id) as hi from big");
        assert.deepEqual(sums, [{ n: 100_000, lo: 1, hi: 100_000 }]);
      } finally {
        t.cleanup();
      }
    });

    it("stops reading (and closes the connection) when a resource is limited", async () => {
      const big = (await sqlTable({ ...connect, table: "big", chunkSize: 1000 })).limit(1500);
      const t = tempPipeline(`sel_limit_${s.name}`);
      try {
        const info = await t.p.run(big);
        assert.deepEqual(info.rows, { big: 1500 });
        for (let i = 0; i < 50 && (await s.activeReads(SPACE, "big")) > 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        assert.equal(await s.activeReads(SPACE, "big"), 0);
      } finally {
        t.cleanup();
      }
    });
  });
}
