import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { resource } from "../../../src/index.js";
import { eachBackend, withDataset } from "../../helpers/backends.js";

// One test body for every backend: the schema evolves (new columns, variant columns, new child tables) and
// hostile or overlong names load safely, shortened to the destination's identifier limit.

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

await eachBackend("schema evolution and names", (b) => {
  test("a new column, a variant column and a new child table appear in later runs", () =>
    withDataset(b, "evolve", async (ds) => {
      const p = ds.pipeline("evolve");
      await p.run([{ id: 1, a: 10 }], { table: "t" });
      await p.run([{ id: 2, a: 20, b: true }], { table: "t" });
      const info = await p.run([{ id: 3, a: "not a number", tags: ["x"] }], { table: "t" });
      assert.deepEqual(info.rows, { t: 1, t__tags: 1 });
      const cols = await b.columns(p, ds.dataset, "t");
      assert.deepEqual(
        cols.filter(([n]) => !n.startsWith("_ferry")),
        [
          ["id", b.dataType.bigint],
          ["a", b.dataType.bigint],
          ["b", b.dataType.bool],
          ["a__v_text", b.dataType.text],
        ],
      );
      // Where booleans are UInt8 (ClickHouse before 21.12), SQL results hold 1 and 0.
      const yes = b.lacks.boolResults ? 1 : true;
      assert.deepEqual(await p.dataset().sql("select id, a, b, a__v_text from t order by id"), [
        { id: 1, a: 10, b: null, a__v_text: null },
        { id: 2, a: 20, b: yes, a__v_text: null },
        { id: 3, a: null, b: null, a__v_text: "not a number" },
      ]);
      assert.deepEqual(await p.dataset().sql("select value from t__tags"), [{ value: "x" }]);
      assert.ok(info.schemaChanges.length > 0);
    }));

  test("hostile table and column names (quotes, semicolons, unicode) load under safe names", () =>
    withDataset(b, "hostile", async (ds) => {
      const p = ds.pipeline("hostile");
      await p.run([{ keep: 1 }], { table: "other" });
      const row = {
        'x"; DROP TABLE other; --': "injected?",
        "Robert'); DROP TABLE students;--": 1,
        Größe: 2,
        名前: "名前の値",
        "café au lait": true,
        Name: "upper",
        name: "lower",
        list: [{ 'k"ey;': "v" }],
      };
      const info = await p.run([row], { table: 'x"; DROP TABLE other; --' });
      assert.deepEqual(info.rows, { x_drop_table_other: 1, x_drop_table_other__list: 1 });
      const tables = await p.dataset().tables();
      for (const t of ["other", "x_drop_table_other", "x_drop_table_other__list"])
        assert.ok(tables.includes(t), t);
      assert.equal((await p.dataset().sql("select count(*) as n from other"))[0]?.n, 1);
      const cols = (await b.columns(p, ds.dataset, "x_drop_table_other")).map(([n]) => n);
      for (const c of [
        "x_drop_table_other",
        "robert_drop_table_students",
        "grosse",
        "名前",
        "cafe_au_lait",
        "name",
      ])
        assert.ok(cols.includes(c), `${c} in ${cols.join(", ")}`);
      // "Name" came first and keeps `name`; "name" gets a hashed suffix.
      const suffixed = cols.find((c) => /^name_[a-z2-7]{4}$/.test(c));
      assert.ok(suffixed, cols.join(", "));
      const [r] = await p
        .dataset()
        .sql(
          `select x_drop_table_other, robert_drop_table_students, grosse, "名前", name, "${suffixed}" as other_name from x_drop_table_other`,
        );
      assert.deepEqual(r, {
        x_drop_table_other: "injected?",
        robert_drop_table_students: 1,
        grosse: 2,
        名前: "名前の値",
        name: "upper",
        other_name: "lower",
      });
      assert.deepEqual(await p.dataset().sql("select k_ey from x_drop_table_other__list"), [{ k_ey: "v" }]);
      // Keys that are also properties of every JS object: a row without them has NULLs, not functions.
      await p.run([{ id: 1, constructor: "c", valueOf: 1 }, { id: 2 }], { table: "protos" });
      assert.deepEqual(await p.dataset().sql("select id, constructor, value_of from protos order by id"), [
        { id: 1, constructor: "c", value_of: 1 },
        { id: 2, constructor: null, value_of: null },
      ]);
    }));

  test("100-character table, column and child table names are shortened to the identifier limit", () =>
    withDataset(b, "long", async (ds) => {
      const p = ds.pipeline("long");
      const max = b.capabilities.maxIdentifierLength;
      const table = `t${"a".repeat(99)}`;
      const column = `c${"b".repeat(99)}`;
      const wide = "名".repeat(30); // 30 characters, 90 bytes
      const rows = [{ id: 1, [column]: "long", [wide]: "wide", items: [{ v: 1 }, { v: 2 }] }];
      const info = await p.run(rows, { table, writeDisposition: "merge", primaryKey: "id" });
      await p.run([{ ...rows[0], [column]: "long2" }], {
        table,
        writeDisposition: "merge",
        primaryKey: "id",
      });
      const tables = (await p.dataset().tables()).filter((t) => !t.startsWith("_ferry"));
      assert.equal(tables.length, 2, tables.join(", "));
      assert.deepEqual(Object.keys(info.rows).sort(), [...tables].sort());
      for (const t of tables) assert.ok(bytes(t) <= max, `${t}: ${bytes(t)} bytes`);
      const root = tables.find((t) => !t.includes("__")) ?? "";
      const child = tables.find((t) => t !== root) ?? "";
      if (bytes(table) > max) {
        assert.equal(bytes(root), max);
        assert.ok(root.startsWith(table.slice(0, max - 9)), root);
      } else assert.equal(root, table);
      const cols = (await b.columns(p, ds.dataset, root)).map(([n]) => n);
      for (const c of cols) assert.ok(bytes(c) <= max, `${c}: ${bytes(c)} bytes`);
      const longCol = cols.find((c) => c.startsWith("cbbb")) ?? "";
      const wideCol = cols.find((c) => c.startsWith("名")) ?? "";
      if (bytes(column) > max) assert.equal(bytes(longCol), max);
      else assert.equal(longCol, column);
      if (bytes(wide) > max) assert.ok(bytes(wideCol) <= max && wideCol !== wide, wideCol);
      else assert.equal(wideCol, wide);
      // Merged by the shortened names: one row, its latest value, its children once.
      const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
      assert.deepEqual(
        await p.dataset().sql(`select id, ${q(longCol)} as l, ${q(wideCol)} as w from ${q(root)}`),
        [{ id: 1, l: "long2", w: "wide" }],
      );
      assert.deepEqual(await p.dataset().sql(`select v from ${q(child)} order by v`), [{ v: 1 }, { v: 2 }]);
    }));

  test("a dataset named with quotes, a semicolon and unicode works for loads, merges and queries", async () => {
    const name = `d "q"; -- ü ${randomBytes(3).toString("hex")}`;
    await withDataset(
      b,
      "hostile_ds",
      async (ds) => {
        const p = ds.pipeline("hostile_ds");
        const users = (rows: unknown[]) =>
          resource({ name: "users", primaryKey: "id", writeDisposition: "merge" }, rows);
        await p.run(users([{ id: 1, v: "a", tags: ["t"] }]));
        await p.run(
          users([
            { id: 1, v: "b", tags: ["u", "w"] },
            { id: 2, v: "c" },
          ]),
        );
        assert.deepEqual(await p.dataset().sql("select id, v from users order by id"), [
          { id: 1, v: "b" },
          { id: 2, v: "c" },
        ]);
        assert.deepEqual(
          await p
            .dataset()
            .table("users__tags", { orderBy: "value" })
            .then((r) => r.map((x) => x.value)),
          ["u", "w"],
        );
        assert.ok((await p.dataset().tables()).includes("users"));
        if (!b.lacks.informationSchema) {
          const schemas = await p
            .dataset()
            .sql(
              "select count(*) as n from information_schema.tables where table_schema = $1 and table_name = 'users'",
              [name],
            );
          assert.deepEqual(schemas, [{ n: 1 }]);
        }
      },
      { dataset: name },
    );
  });
  test("a table whose name was shortened to the limit is emptied by a replace run that yields nothing", () =>
    withDataset(b, "longreplace", async (ds) => {
      const p = ds.pipeline("longreplace");
      const long = `t_${"very_long_table_name_".repeat(7)}`;
      assert.ok(long.length > b.capabilities.maxIdentifierLength);
      const make = (rows: Array<{ id: number }>) =>
        resource({ name: long, writeDisposition: "replace" }, () => rows);
      const first = await p.run(make([{ id: 1 }, { id: 2 }]));
      const [table] = Object.keys(first.rows);
      assert.ok(table && bytes(table) <= b.capabilities.maxIdentifierLength && table !== long, table);
      assert.deepEqual(await p.dataset().sql(`select count(*) as n from "${table}"`), [{ n: 2 }]);
      await p.run(make([]));
      assert.deepEqual(await p.dataset().sql(`select count(*) as n from "${table}"`), [{ n: 0 }]);
    }));
});
