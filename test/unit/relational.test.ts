import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HARD_NESTING_LIMIT, RelationalNormalizer } from "../../src/normalize/rows/relational.js";
import type { Row } from "../../src/normalize/rows/row-sink.js";
import type { TableHints } from "../../src/package/table-hints.js";
import { shortenIdentifier } from "../../src/schema/naming.js";
import { Schema } from "../../src/schema/schema.js";
import { DataError, SchemaContractError } from "../../src/util/errors.js";
import { derivedId, shortHash } from "../../src/util/hash.js";

const MAX_LEN = 63;

function setup(hints: Partial<TableHints> = {}, schema = Schema.empty("s"), table = "t") {
  const rows: Array<{ table: string; row: Row }> = [];
  const n = new RelationalNormalizer({
    schema,
    loadId: "L1",
    maxIdentifierLength: MAX_LEN,
    sink: { write: (t, row) => void rows.push({ table: t, row: { ...row } }) },
  });
  const root = n.rootTable(table, { resource: "r", writeDisposition: "append", ...hints });
  const of = (t: string) => rows.filter((r) => r.table === t).map((r) => r.row);
  return { n, root, rows, of, schema };
}

/** Columns of a table as [name, type] in creation order. */
const cols = (s: Schema, t: string) =>
  Object.values(s.getTable(t)?.columns ?? {}).map((c) => [c.name, c.type]);
const ROOT_SYS = [
  ["_ferry_id", "text"],
  ["_ferry_load_id", "text"],
];
const CHILD_SYS = [
  ["_ferry_id", "text"],
  ["_ferry_parent_id", "text"],
  ["_ferry_list_idx", "bigint"],
];

/** A schema that already has table t (id bigint, name text) and child t__tags, as stored by an earlier run. */
async function existing(): Promise<Schema> {
  const x = setup();
  await x.n.normalizeItem({ id: 1, name: "a", tags: ["x"] }, x.root);
  x.schema.bumpVersion();
  return Schema.fromStored(x.schema.toStored());
}

describe("RelationalNormalizer: shapes", () => {
  test("nested objects flatten into a__b columns", async () => {
    const x = setup();
    await x.n.normalizeItem({ id: 1, a: { b: 2, c: { d: "x" } }, createdAt: "2024-01-01" }, x.root);
    const [row] = x.of("t");
    assert.deepEqual(Object.keys(row ?? {}), [
      "_ferry_id",
      "_ferry_load_id",
      "id",
      "a__b",
      "a__c__d",
      "created_at",
    ]);
    assert.equal(row?._ferry_load_id, "L1");
    assert.match(String(row?._ferry_id), /^[0-9A-Za-z]{14}$/);
    assert.deepEqual(cols(x.schema, "t"), [
      ...ROOT_SYS,
      ["id", "bigint"],
      ["a__b", "bigint"],
      ["a__c__d", "text"],
      ["created_at", "date"],
    ]);
    assert.deepEqual(
      { ...row, _ferry_id: "" },
      {
        _ferry_id: "",
        _ferry_load_id: "L1",
        id: 1,
        a__b: 2,
        a__c__d: "x",
        created_at: "2024-01-01",
      },
    );
  });

  test("lists of objects become child tables with parent id, list index and deterministic ids", async () => {
    const x = setup();
    await x.n.normalizeItem({ id: 1, items: [{ x: 1 }, null, { x: 2, sub: [true] }] }, x.root);
    const pid = x.of("t")[0]?._ferry_id as string;
    assert.equal(x.schema.getTable("t__items")?.parent, "t");
    assert.equal(x.schema.getTable("t__items__sub")?.parent, "t__items");
    assert.deepEqual(x.of("t__items"), [
      { _ferry_id: derivedId(pid, "t__items", "0"), _ferry_parent_id: pid, _ferry_list_idx: 0, x: 1 },
      { _ferry_id: derivedId(pid, "t__items", "2"), _ferry_parent_id: pid, _ferry_list_idx: 2, x: 2 },
    ]);
    const item2 = derivedId(pid, "t__items", "2");
    assert.deepEqual(x.of("t__items__sub"), [
      {
        _ferry_id: derivedId(item2, "t__items__sub", "0"),
        _ferry_parent_id: item2,
        _ferry_list_idx: 0,
        value: true,
      },
    ]);
    assert.deepEqual(cols(x.schema, "t__items"), [...CHILD_SYS, ["x", "bigint"]]);
    assert.deepEqual(x.n.stats.rows, { t: 1, t__items: 2, t__items__sub: 1 });
  });

  test("scalar lists store items in a value column; empty lists create nothing", async () => {
    const x = setup();
    await x.n.normalizeItem({ tags: ["a", null, "b"], none: [] }, x.root);
    const pid = x.of("t")[0]?._ferry_id as string;
    assert.deepEqual(x.of("t__tags"), [
      { _ferry_id: derivedId(pid, "t__tags", "0"), _ferry_parent_id: pid, _ferry_list_idx: 0, value: "a" },
      { _ferry_id: derivedId(pid, "t__tags", "2"), _ferry_parent_id: pid, _ferry_list_idx: 2, value: "b" },
    ]);
    assert.deepEqual(cols(x.schema, "t__tags"), [...CHILD_SYS, ["value", "text"]]);
    assert.deepEqual(Object.keys(x.schema.tables), ["t", "t__tags"]);
  });

  test("lists of lists go through an intermediate <t>__<f> table into <t>__<f>__value", async () => {
    const x = setup();
    await x.n.normalizeItem({ grid: [[1, 2], [3]] }, x.root);
    const pid = x.of("t")[0]?._ferry_id as string;
    const g0 = derivedId(pid, "t__grid", "0");
    const g1 = derivedId(pid, "t__grid", "1");
    assert.deepEqual(x.of("t__grid"), [
      { _ferry_id: g0, _ferry_parent_id: pid, _ferry_list_idx: 0 },
      { _ferry_id: g1, _ferry_parent_id: pid, _ferry_list_idx: 1 },
    ]);
    assert.deepEqual(x.of("t__grid__value"), [
      { _ferry_id: derivedId(g0, "t__grid__value", "0"), _ferry_parent_id: g0, _ferry_list_idx: 0, value: 1 },
      { _ferry_id: derivedId(g0, "t__grid__value", "1"), _ferry_parent_id: g0, _ferry_list_idx: 1, value: 2 },
      { _ferry_id: derivedId(g1, "t__grid__value", "0"), _ferry_parent_id: g1, _ferry_list_idx: 0, value: 3 },
    ]);
    assert.deepEqual(cols(x.schema, "t__grid"), CHILD_SYS);
    assert.deepEqual(cols(x.schema, "t__grid__value"), [...CHILD_SYS, ["value", "bigint"]]);
  });

  test("_ferry_root_id appears on child rows only when merging", async () => {
    const append = setup();
    await append.n.normalizeItem({ id: 1, l: [{ a: [1] }] }, append.root);
    assert.equal(
      append.rows.some((r) => "_ferry_root_id" in r.row),
      false,
    );
    assert.equal(
      Object.keys(append.schema.tables).some(
        (t) => "_ferry_root_id" in (append.schema.getTable(t)?.columns ?? {}),
      ),
      false,
    );

    const merge = setup({ writeDisposition: "merge", primaryKey: ["id"] });
    await merge.n.normalizeItem({ id: 1, l: [{ a: [1] }] }, merge.root);
    const rootId = merge.of("t")[0]?._ferry_id as string;
    assert.equal("_ferry_root_id" in (merge.of("t")[0] ?? {}), false);
    assert.equal(merge.of("t__l")[0]?._ferry_root_id, rootId);
    assert.equal(merge.of("t__l__a")[0]?._ferry_root_id, rootId);
    assert.deepEqual(cols(merge.schema, "t__l__a"), [
      ...CHILD_SYS,
      ["_ferry_root_id", "text"],
      ["value", "bigint"],
    ]);
  });

  test("upsert derives root ids from the primary key, so child ids repeat too", async () => {
    const x = setup({ writeDisposition: "merge", mergeStrategy: "upsert", primaryKey: ["id", "k"] });
    await x.n.normalizeItem({ id: 1, k: "a", l: [1] }, x.root);
    await x.n.normalizeItem({ id: 1, k: "a", l: [2] }, x.root);
    await x.n.normalizeItem({ id: 2, k: "a" }, x.root);
    const rootId = derivedId("t", "1", "a");
    assert.deepEqual(
      x.of("t").map((r) => r._ferry_id),
      [rootId, rootId, derivedId("t", "2", "a")],
    );
    const childId = derivedId(rootId, "t__l", "0");
    assert.deepEqual(x.of("t__l"), [
      { _ferry_id: childId, _ferry_parent_id: rootId, _ferry_list_idx: 0, _ferry_root_id: rootId, value: 1 },
      { _ferry_id: childId, _ferry_parent_id: rootId, _ferry_list_idx: 0, _ferry_root_id: rootId, value: 2 },
    ]);
    await assert.rejects(
      async () => x.n.normalizeItem({ k: "a" }, x.root),
      (err: unknown) => {
        assert.ok(err instanceof DataError);
        assert.equal(err.message, 'primary key "id" is missing in a record');
        return true;
      },
    );
  });

  test("null and undefined values create no columns", async () => {
    const x = setup();
    await x.n.normalizeItem({ id: 1, a: null, b: undefined, c: { d: null }, e: [null] }, x.root);
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["id", "bigint"]]);
    assert.deepEqual(Object.keys(x.schema.tables), ["t"]);
    assert.deepEqual(Object.keys(x.of("t")[0] ?? {}), ["_ferry_id", "_ferry_load_id", "id"]);
  });

  test("a value that does not fit its column goes to a variant column", async () => {
    const x = setup();
    for (const v of [1, "x", 2.5, true, "2024-01-01", 3n, 2n ** 70n, "7"])
      await x.n.normalizeItem({ v }, x.root);
    assert.deepEqual(
      x.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest),
      [
        { v: 1 },
        { v__v_text: "x" },
        { v__v_double: 2.5 },
        { v__v_bool: true },
        { v__v_date: "2024-01-01" },
        { v: 3n },
        { v__v_decimal: 2n ** 70n },
        { v: 7n },
      ],
    );
    assert.deepEqual(cols(x.schema, "t"), [
      ...ROOT_SYS,
      ["v", "bigint"],
      ["v__v_text", "text"],
      ["v__v_double", "double"],
      ["v__v_bool", "bool"],
      ["v__v_date", "date"],
      ["v__v_decimal", "decimal"],
    ]);
    assert.equal(x.schema.getTable("t")?.columns.v__v_text?.variantOf, "v");
  });

  test("later rows reuse a key's variant columns, and values whose fit depends on the value are still checked", async () => {
    const x = setup();
    const values = [1, 2.5, 3.5, "x", "42", "y", 4, 5.5, true, false];
    for (const v of values) await x.n.normalizeItem({ v, a: { b: v } }, x.root);
    // A timestamp column: text never fits it, and a string with a lone surrogate is still made well formed.
    for (const ts of ["2024-01-01T00:00:00Z", "soon", "later", "bad\ud800"])
      await x.n.normalizeItem({ ts }, x.root);
    const rows = x.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest);
    const placed = [
      { v: 1 },
      { v__v_double: 2.5 },
      { v__v_double: 3.5 },
      { v__v_text: "x" },
      { v: 42n },
      { v__v_text: "y" },
      { v: 4 },
      { v__v_double: 5.5 },
      { v__v_bool: true },
      { v__v_bool: false },
    ];
    assert.deepEqual(
      rows.slice(0, values.length),
      placed.map((p) => {
        const [[k, v]] = Object.entries(p) as [[string, unknown]];
        return { [k]: v, [k.replace(/^v/, "a__b")]: v };
      }),
    );
    assert.deepEqual(rows.slice(values.length), [
      { ts: "2024-01-01T00:00:00Z" },
      { ts__v_text: "soon" },
      { ts__v_text: "later" },
      { ts__v_text: "bad\ufffd" },
    ]);
  });

  test('"Name" and "name": the first keeps name, the other gets a hashed suffix, stable across rows', async () => {
    const x = setup();
    await x.n.normalizeItem({ Name: "A", name: "b" }, x.root);
    await x.n.normalizeItem({ name: "c" }, x.root);
    await x.n.normalizeItem({ Name: "D" }, x.root);
    const other = `name_${shortHash("name", 4)}`;
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["name", "text"], [other, "text"]]);
    assert.equal(x.schema.getTable("t")?.columns.name?.origin, "Name");
    assert.equal(x.schema.getTable("t")?.columns[other]?.origin, "name");
    assert.deepEqual(
      x.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest),
      [{ name: "A", [other]: "b" }, { [other]: "c" }, { name: "D" }],
    );
  });

  test('a data key "_ferry_id" does not overwrite the system column', async () => {
    const x = setup();
    await x.n.normalizeItem({ _ferry_id: "mine", id: 1 }, x.root);
    const row = x.of("t")[0] ?? {};
    const renamed = `_ferry_id_${shortHash("_ferry_id", 4)}`;
    assert.match(String(row._ferry_id), /^[0-9A-Za-z]{14}$/);
    assert.notEqual(row._ferry_id, "mine");
    assert.equal(row[renamed], "mine");
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, [renamed, "text"], ["id", "bigint"]]);
  });

  test("top-level scalars go to a value column; null items are counted, not written", async () => {
    const x = setup();
    for (const v of [5, null, 7n, undefined, "s"]) await x.n.normalizeItem(v, x.root);
    assert.deepEqual(
      x.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest),
      [{ value: 5 }, { value: 7n }, { value__v_text: "s" }],
    );
    assert.equal(x.n.stats.skippedNullItems, 2);
    assert.deepEqual(x.n.stats.rows, { t: 3 });
  });

  test("a 50 MB string value is kept intact", async () => {
    const x = setup();
    const big = `${"x".repeat(50 * 1024 * 1024 - 1)}é`;
    await x.n.normalizeItem({ s: big }, x.root);
    const s = x.of("t")[0]?.s as string;
    assert.equal(s.length, 50 * 1024 * 1024);
    assert.equal(s === big, true);
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["s", "text"]]);
  });
});

describe("RelationalNormalizer: nesting limits", () => {
  test("maxTableNesting 0: lists are json, objects still flatten", async () => {
    const x = setup({ maxTableNesting: 0 });
    await x.n.normalizeItem({ o: { p: 1 }, l: [1, 2], lo: [{ z: 1 }] }, x.root);
    assert.deepEqual(Object.keys(x.schema.tables), ["t"]);
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["o__p", "bigint"], ["l", "json"], ["lo", "json"]]);
    const { _ferry_id, _ferry_load_id, ...rest } = x.of("t")[0] ?? {};
    assert.deepEqual(rest, { o__p: 1, l: [1, 2], lo: [{ z: 1 }] });
  });

  test("maxTableNesting 1: one level of child tables, lists inside them are json", async () => {
    const x = setup({ maxTableNesting: 1 });
    await x.n.normalizeItem({ l: [{ m: [1], o: { p: 2 } }] }, x.root);
    assert.deepEqual(Object.keys(x.schema.tables), ["t", "t__l"]);
    assert.deepEqual(cols(x.schema, "t__l"), [...CHILD_SYS, ["m", "json"], ["o__p", "bigint"]]);
    assert.deepEqual(x.of("t__l")[0]?.m, [1]);
  });

  test("1000-deep objects do not crash: the part beyond the hard limit is one json column", async () => {
    const x = setup();
    const levels: Array<Record<string, unknown>> = [{ leaf: 1 }];
    for (let i = 0; i < 1000; i++) levels.push({ k: levels[i] });
    await x.n.normalizeItem(levels[1000], x.root);
    const name = shortenIdentifier(
      Array(HARD_NESTING_LIMIT + 1)
        .fill("k")
        .join("__"),
      MAX_LEN,
    );
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, [name, "json"]]);
    assert.equal(x.of("t")[0]?.[name], levels[1000 - HARD_NESTING_LIMIT - 1]);
  });

  test("1000-deep lists stop at the hard limit of child tables and end in json", async () => {
    const x = setup();
    let deep: unknown = [1];
    for (let i = 0; i < 1000; i++) deep = [deep];
    await x.n.normalizeItem({ a: deep }, x.root);
    const names = ["t"];
    let name = shortenIdentifier("t__a", MAX_LEN);
    names.push(name);
    for (let i = 1; i < HARD_NESTING_LIMIT; i++) {
      name = shortenIdentifier(`${name}__value`, MAX_LEN);
      names.push(name);
    }
    assert.deepEqual(Object.keys(x.schema.tables), names);
    assert.equal(x.rows.length, HARD_NESTING_LIMIT + 1);
    const last = names[names.length - 1] ?? "";
    assert.deepEqual(cols(x.schema, last), [...CHILD_SYS, ["value", "json"]]);
    let expected: unknown = deep;
    for (let i = 0; i < HARD_NESTING_LIMIT; i++) expected = (expected as unknown[])[0];
    assert.equal(x.of(last)[0]?.value, expected);
  });
});

describe("RelationalNormalizer: schema contracts", () => {
  test("freeze on columns throws SchemaContractError naming table, column, type and value", async () => {
    const x = setup({ schemaContract: { columns: "freeze" } }, await existing());
    await x.n.normalizeItem({ id: 2, name: "b" }, x.root);
    await assert.rejects(
      async () => x.n.normalizeItem({ id: 3, extra: 5 }, x.root),
      (err: unknown) => {
        assert.ok(err instanceof SchemaContractError);
        assert.equal(
          err.message,
          'schema contract "freeze" on columns of table "t" rejects new column "extra" of type bigint (value: 5)',
        );
        assert.deepEqual(err.fields, { table: "t", column: "extra", type: "bigint" });
        assert.equal(err.code, "schema_contract");
        return true;
      },
    );
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["id", "bigint"], ["name", "text"]]);
    assert.equal(x.of("t").length, 1);
  });

  test("freeze on data_type rejects a value that would need a variant column", async () => {
    const x = setup({ schemaContract: { data_type: "freeze" } }, await existing());
    await x.n.normalizeItem({ id: 6, name: 5 }, x.root); // 5 fits text losslessly
    assert.equal(x.of("t")[0]?.name, "5");
    await assert.rejects(async () => x.n.normalizeItem({ id: "x" }, x.root), {
      name: "SchemaContractError",
      message:
        'schema contract "freeze" on data_type of table "t" rejects value of type text for column "id" of type bigint (value: "x")',
    });
  });

  test("discard_row drops the whole row (and its children) and counts it", async () => {
    const x = setup({ schemaContract: { columns: "discard_row" } }, await existing());
    await x.n.normalizeItem({ id: 2, extra: 5 }, x.root);
    await x.n.normalizeItem({ id: 3, name: "b", tags: ["y"] }, x.root);
    await x.n.normalizeItem({ id: 4, tags: ["z"], more: true }, x.root);
    assert.deepEqual(
      x.of("t").map((r) => r.id),
      [3],
    );
    assert.deepEqual(
      x.of("t__tags").map((r) => r.value),
      ["y"],
    );
    assert.equal(x.n.stats.discardedRows, 2);
    assert.equal(x.n.stats.discardedValues, 0);
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["id", "bigint"], ["name", "text"]]);
  });

  test("discard_value drops only the value and counts it", async () => {
    const cx = setup({ schemaContract: { columns: "discard_value" } }, await existing());
    await cx.n.normalizeItem({ id: 2, extra: 5, more: true }, cx.root);
    assert.deepEqual(
      cx.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest),
      [{ id: 2 }],
    );
    assert.equal(cx.n.stats.discardedValues, 2);
    assert.equal(cx.n.stats.discardedRows, 0);

    const dx = setup({ schemaContract: { data_type: "discard_value" } }, await existing());
    await dx.n.normalizeItem({ id: "x", name: "n" }, dx.root);
    assert.deepEqual(
      dx.of("t").map(({ _ferry_id, _ferry_load_id, ...rest }) => rest),
      [{ name: "n" }],
    );
    assert.equal(dx.n.stats.discardedValues, 1);
    assert.equal(dx.schema.getTable("t")?.columns.id__v_text, undefined);
  });

  test("freeze on tables rejects a new table; existing tables and their children still load", async () => {
    const schema = await existing();
    const x = setup({ schemaContract: { tables: "freeze" } }, schema, "other");
    await assert.rejects(
      async () => x.n.normalizeItem({ id: 1, l: [1] }, x.root),
      (err: unknown) => {
        assert.ok(err instanceof SchemaContractError);
        assert.equal(
          err.message,
          'schema contract "freeze" on tables rejects new table "other" (first row: {"id":1,"l":[1]})',
        );
        assert.deepEqual(err.fields, { table: "other" });
        return true;
      },
    );
    assert.deepEqual(Object.keys(schema.tables), ["t", "t__tags"]);

    const ok = setup({ schemaContract: "freeze" }, schema);
    await ok.n.normalizeItem({ id: 9, name: "z", tags: ["q"] }, ok.root);
    assert.equal(ok.of("t").length, 1);
    assert.equal(ok.of("t__tags")[0]?.value, "q");
    await assert.rejects(async () => ok.n.normalizeItem({ id: 10, newlist: [1] }, ok.root), {
      message: 'schema contract "freeze" on tables rejects new table "t__newlist" (first row: {"value":1})',
    });
  });

  test("a typed column hint does not let a new table past a frozen or discarding tables contract", async () => {
    const frozen = setup(
      { schemaContract: "freeze", columns: { id: { type: "bigint" } } },
      Schema.empty("s"),
      "other",
    );
    await assert.rejects(async () => frozen.n.normalizeItem({ id: 1 }, frozen.root), SchemaContractError);
    assert.deepEqual(Object.keys(frozen.schema.tables), []);

    const discard = setup(
      { schemaContract: { tables: "discard_row" }, columns: { id: { type: "bigint" } } },
      Schema.empty("s"),
      "other",
    );
    await discard.n.normalizeItem({ id: 1 }, discard.root);
    assert.equal(discard.rows.length, 0);
    assert.equal(discard.n.stats.discardedRows, 1);
    assert.deepEqual(Object.keys(discard.schema.tables), []);
  });

  test("columns of a table created in this run evolve even under columns: freeze", async () => {
    const x = setup({ schemaContract: { columns: "freeze" } });
    await x.n.normalizeItem({ id: 1 }, x.root);
    await x.n.normalizeItem({ id: 2, b: "later" }, x.root);
    assert.deepEqual(cols(x.schema, "t"), [...ROOT_SYS, ["id", "bigint"], ["b", "text"]]);
  });
});
