/**
 * Incremental loading from Postgres and MariaDB: an updated_at cursor with merge on the reflected primary key (one
 * row per key, only new and changed rows read), an id cursor, initial and end values, and the boundary: rows that
 * share the last cursor value are neither duplicated nor lost.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connectEngine, sqlDatabase, sqlTable } from "../../src/sources/sql-database/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";
import { sourceServers } from "./sql-source-helpers.js";

const SPACE = "sqlsrc_incremental";

for (const s of await sourceServers()) {
  const ts = s.name === "postgres" ? "timestamp(6)" : "DATETIME(6)";

  describe(`sql source incremental: ${s.name}`, { skip: s.svc.skip }, () => {
    before(async () => {
      await s.reset(SPACE);
      await s.exec(
        SPACE,
        `CREATE TABLE orders (id INT PRIMARY KEY, status VARCHAR(20), amount DECIMAL(10,2), updated_at ${ts});
         INSERT INTO orders VALUES
           (1, 'new', 10.50, '2024-01-01 10:00:00.000001'),
           (2, 'new', 20.00, '2024-01-01 11:00:00'),
           (3, 'new', 30.25, '2024-01-01 12:00:00.5');
         CREATE TABLE events (id BIGINT PRIMARY KEY, kind VARCHAR(20));
         INSERT INTO events VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');
         CREATE TABLE no_key (seq INT, note VARCHAR(20));
         INSERT INTO no_key VALUES (1, 'x'), (2, 'y');`,
      );
    });
    after(() => s.drop(SPACE));

    const orders = async (p: import("../../src/index.js").Pipeline) =>
      p.dataset().sql("select id, status, amount::varchar as amount from orders order by id");

    it("reads only new and changed rows on an updated_at cursor and merges them on the primary key", async () => {
      const t = tempPipeline(`inc_orders_${s.name}`);
      const src = () =>
        sqlDatabase({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          tables: ["orders"],
          incremental: { orders: { cursor: "updated_at" } },
        });
      try {
        const first = await t.p.run(await src());
        assert.deepEqual(first.rows, { orders: 3 });
        assert.deepEqual(t.p.schema?.tables.orders?.writeDisposition, "merge");
        assert.equal(t.p.schema?.tables.orders?.columns.id?.primaryKey, true);

        await s.exec(
          SPACE,
          `UPDATE orders SET status = 'paid', updated_at = '2024-01-02 09:00:00' WHERE id = 2;
           UPDATE orders SET status = 'silently changed' WHERE id = 1;
           INSERT INTO orders VALUES (4, 'new', 40.00, '2024-01-02 08:00:00');`,
        );
        const second = await t.p.run(await src());
        // Row 3 (the stored boundary) is read again by ">=" and recognised as loaded; row 1 kept its cursor.
        assert.deepEqual(second.rows, { orders: 2 });
        assert.deepEqual(await orders(t.p), [
          { id: 1, status: "new", amount: "10.50" },
          { id: 2, status: "paid", amount: "20.00" },
          { id: 3, status: "new", amount: "30.25" },
          { id: 4, status: "new", amount: "40.00" },
        ]);

        const third = await t.p.run(await src());
        assert.deepEqual(third.rows, {});

        // A late row with exactly the last cursor value, and an update of the boundary row itself.
        await s.exec(
          SPACE,
          `INSERT INTO orders VALUES (5, 'late', 50.00, '2024-01-02 09:00:00');
           UPDATE orders SET status = 'shipped', updated_at = '2024-01-03 00:00:00' WHERE id = 2;`,
        );
        const fourth = await t.p.run(await src());
        assert.deepEqual(fourth.rows, { orders: 2 });
        assert.deepEqual(await orders(t.p), [
          { id: 1, status: "new", amount: "10.50" },
          { id: 2, status: "shipped", amount: "20.00" },
          { id: 3, status: "new", amount: "30.25" },
          { id: 4, status: "new", amount: "40.00" },
          { id: 5, status: "late", amount: "50.00" },
        ]);
        const dupes = await t.p.dataset().sql("select id from orders group by id having count(*) > 1");
        assert.deepEqual(dupes, []);
      } finally {
        t.cleanup();
      }
    });

    it("reads an id cursor from its initial value, appending new ids only", async () => {
      const t = tempPipeline(`inc_events_${s.name}`);
      const res = () =>
        sqlTable({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          table: "events",
          writeDisposition: "append",
          incremental: { cursor: "id", initialValue: 3 },
        });
      try {
        assert.deepEqual((await t.p.run(await res())).rows, { events: 3 });
        await s.exec(SPACE, "INSERT INTO events VALUES (6, 'f'), (7, 'g'), (8, 'h')");
        assert.deepEqual((await t.p.run(await res())).rows, { events: 3 });
        assert.deepEqual((await t.p.run(await res())).rows, {});
        const rows = await t.p.dataset().sql("select id, kind from events order by id");
        assert.deepEqual(rows, [
          { id: 3, kind: "c" },
          { id: 4, kind: "d" },
          { id: 5, kind: "e" },
          { id: 6, kind: "f" },
          { id: 7, kind: "g" },
          { id: 8, kind: "h" },
        ]);
        assert.equal(
          t.p.state?.sources[`inc_events_${s.name}`]?.resources.events?.incremental?.id?.lastValue,
          8,
        );
      } finally {
        t.cleanup();
      }
    });

    it("backfills a range with an end value without moving the stored cursor", async () => {
      const t = tempPipeline(`inc_range_${s.name}`);
      try {
        const backfill = await sqlTable({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          table: "events",
          incremental: { cursor: "id", initialValue: 2, endValue: 4 },
        });
        assert.deepEqual((await t.p.run(backfill)).rows, { events: 2 });
        const rows = await t.p.dataset().sql("select id from events order by id");
        assert.deepEqual(rows, [{ id: 2 }, { id: 3 }]);
        assert.equal(t.p.state?.sources[`inc_range_${s.name}`]?.resources.events?.incremental, undefined);
      } finally {
        t.cleanup();
      }
    });

    it("appends incremental tables without a primary key, and replaces tables read whole", async () => {
      const t = tempPipeline(`inc_nokey_${s.name}`);
      const src = () =>
        sqlDatabase({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          tables: ["no_key", "events"],
          incremental: { no_key: { cursor: "seq" } },
        });
      try {
        const first = await src();
        assert.deepEqual(
          first.resources.map((r) => [r.name, r.options.writeDisposition]),
          [
            ["no_key", "append"],
            ["events", "replace"],
          ],
        );
        await t.p.run(first);
        await s.exec(SPACE, "INSERT INTO no_key VALUES (3, 'z')");
        await t.p.run(await src());
        const counts = await t.p
          .dataset()
          .sql(
            "select (select count(*) from no_key) as no_key, (select count(*) from events) as events, (select count(distinct seq) from no_key) as seqs",
          );
        // no_key: the boundary row (seq 2) is read again and recognised by its hash; events: replaced, not doubled.
        assert.deepEqual(counts, [{ no_key: 3, events: 8, seqs: 3 }]);
      } finally {
        t.cleanup();
      }
    });

    it("filters and orders by the cursor in the database, with the bounds bound as parameters", async () => {
      const engine = await connectEngine(s.url(SPACE));
      try {
        const [events] = await engine.reflect({
          schema: s.schema(SPACE) ?? SPACE,
          includeViews: false,
          tables: ["events"],
        });
        assert.ok(events);
        const id = events.columns.find((c) => c.name === "id")!;
        const pages: unknown[][] = [];
        const cursor = { column: id, start: 4, end: 8, includeNulls: false };
        for await (const page of engine.readPages(events, { chunkSize: 2, cursor })) pages.push(page);
        assert.deepEqual(pages, [
          [
            { id: 4, kind: "d" },
            { id: 5, kind: "e" },
          ],
          [
            { id: 6, kind: "f" },
            { id: 7, kind: "g" },
          ],
        ]);
        // A hostile value is a value, never SQL: Postgres refuses it as a bigint, MariaDB compares it as 1.
        const hostile = { column: id, start: "1; DROP TABLE events", includeNulls: false };
        let read: number | string = 0;
        try {
          for await (const page of engine.readPages(events, { chunkSize: 2, cursor: hostile }))
            read += page.length;
        } catch (err) {
          read = String(err);
        }
        assert.match(String(read), s.name === "postgres" ? /invalid input syntax for type bigint/ : /^8$/);
      } finally {
        await engine.close();
      }
      const still = await s.query(SPACE, "SELECT count(*) AS n FROM events");
      assert.equal(Number(still[0]?.n), 8);
    });

    it("rejects a cursor column that is not an integer, timestamp or date", async () => {
      await assert.rejects(
        sqlTable({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          table: "orders",
          incremental: { cursor: "amount" },
        }),
        /cursor column "amount" of table "orders" has type (numeric|decimal)\(10,2\), which cannot be an incremental cursor/,
      );
      await assert.rejects(
        sqlTable({
          url: s.url(SPACE),
          schema: s.schema(SPACE),
          table: "orders",
          incremental: { cursor: "nope" },
        }),
        /cursor column "nope" not found in table "orders"/,
      );
    });
  });
}
