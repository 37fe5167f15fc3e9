import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveContract } from "../../src/schema/contract.js";
import { Schema, stableStringify } from "../../src/schema/schema.js";
import type { StoredSchema, Table } from "../../src/schema/types.js";
import { ENGINE_VERSION } from "../../src/schema/types.js";

const names = (tables: Table[]) => tables.map((t) => t.name);

describe("resolveContract", () => {
  test("no setting means evolve everywhere", () => {
    assert.deepEqual(resolveContract(), { tables: "evolve", columns: "evolve", data_type: "evolve" });
    assert.deepEqual(resolveContract(undefined, undefined), {
      tables: "evolve",
      columns: "evolve",
      data_type: "evolve",
    });
  });

  test("a string mode applies to all three entities", () => {
    for (const mode of ["evolve", "freeze", "discard_row", "discard_value"] as const) {
      assert.deepEqual(resolveContract(mode), { tables: mode, columns: mode, data_type: mode });
    }
  });

  test("an object fills missing entities with evolve", () => {
    assert.deepEqual(resolveContract({ columns: "freeze" }), {
      tables: "evolve",
      columns: "freeze",
      data_type: "evolve",
    });
    assert.deepEqual(resolveContract({ tables: "discard_row", data_type: "discard_value" }), {
      tables: "discard_row",
      columns: "evolve",
      data_type: "discard_value",
    });
    assert.deepEqual(resolveContract({}), { tables: "evolve", columns: "evolve", data_type: "evolve" });
  });

  test("later settings win, entity by entity; undefined is skipped", () => {
    assert.deepEqual(resolveContract("freeze", { columns: "evolve" }), {
      tables: "freeze",
      columns: "evolve",
      data_type: "freeze",
    });
    assert.deepEqual(resolveContract({ tables: "freeze", columns: "discard_row" }, "discard_value"), {
      tables: "discard_value",
      columns: "discard_value",
      data_type: "discard_value",
    });
    assert.deepEqual(resolveContract("freeze", undefined), {
      tables: "freeze",
      columns: "freeze",
      data_type: "freeze",
    });
    assert.deepEqual(
      resolveContract({ data_type: "freeze" }, { tables: "discard_row" }, { data_type: "evolve" }),
      {
        tables: "discard_row",
        columns: "evolve",
        data_type: "evolve",
      },
    );
  });

  test("an unknown mode is a TypeError that lists the valid ones", () => {
    const msg = 'unknown schema contract mode "bogus"; use one of evolve, freeze, discard_row, discard_value';
    assert.throws(() => resolveContract("bogus" as never), { name: "TypeError", message: msg });
    assert.throws(() => resolveContract({ columns: "bogus" } as never), { name: "TypeError", message: msg });
    assert.throws(() => resolveContract("freeze", "Freeze" as never), {
      name: "TypeError",
      message: 'unknown schema contract mode "Freeze"; use one of evolve, freeze, discard_row, discard_value',
    });
  });
});

function sample(): Schema {
  const s = Schema.empty("github");
  s.addTable({ name: "issues", columns: {} });
  s.addColumn("issues", { name: "id", type: "bigint" });
  s.addTable({ name: "issues__labels", parent: "issues", columns: {} });
  s.addColumn("issues__labels", { name: "value", type: "text" });
  s.addTable({ name: "issues__labels__tags", parent: "issues__labels", columns: {} });
  s.addTable({ name: "users", columns: {} });
  s.addTable({ name: "issues__assignees", parent: "issues", columns: {} });
  return s;
}

describe("Schema", () => {
  test("empty schema: version 0, no hash, no tables", () => {
    const s = Schema.empty("x");
    assert.equal(s.name, "x");
    assert.equal(s.version, 0);
    assert.equal(s.versionHash, "");
    assert.deepEqual(s.tables, {});
    assert.deepEqual(s.changes, []);
  });

  test("addTable and addColumn record changes in order", () => {
    const s = Schema.empty("x");
    s.addTable({ name: "t", columns: {} });
    s.addTable({ name: "t__items", parent: "t", columns: {} });
    s.addColumn("t", { name: "id", type: "bigint" });
    s.addColumn("t", { name: "id__v_text", type: "text", variantOf: "id" });
    assert.deepEqual(s.changes, [
      { kind: "new_table", table: "t" },
      { kind: "new_table", table: "t__items", parent: "t" },
      { kind: "new_column", table: "t", column: "id", type: "bigint" },
      { kind: "new_column", table: "t", column: "id__v_text", type: "text", variant: true },
    ]);
    assert.deepEqual(Object.keys(s.getTable("t")?.columns ?? {}), ["id", "id__v_text"]);
    assert.equal(s.getTable("nope"), undefined);
  });

  test("adding an existing table or a column to a missing table throws", () => {
    const s = Schema.empty("x");
    s.addTable({ name: "t", columns: {} });
    assert.throws(() => s.addTable({ name: "t", columns: {} }), { message: "table t already exists" });
    assert.throws(() => s.addColumn("u", { name: "a", type: "text" }), { message: "table u does not exist" });
  });

  test("bumpVersion increments only when the content changed", () => {
    const s = Schema.empty("x");
    assert.equal(s.bumpVersion(), true); // the first bump establishes the hash
    assert.equal(s.version, 1);
    const h1 = s.versionHash;
    assert.equal(h1, Schema.hashTables({}));
    assert.equal(s.bumpVersion(), false);
    assert.equal(s.version, 1);
    assert.equal(s.versionHash, h1);

    s.addTable({ name: "t", columns: {} });
    assert.equal(s.bumpVersion(), true);
    assert.equal(s.version, 2);
    const h2 = s.versionHash;
    assert.notEqual(h2, h1);
    assert.equal(s.bumpVersion(), false);
    assert.equal(s.version, 2);

    s.addColumn("t", { name: "a", type: "text" });
    assert.equal(s.bumpVersion(), true);
    assert.equal(s.version, 3);

    s.updateTableHints("t", { writeDisposition: "merge", resource: undefined });
    assert.equal(s.getTable("t")?.writeDisposition, "merge");
    assert.equal("resource" in (s.getTable("t") ?? {}), false);
    assert.equal(s.bumpVersion(), true);
    assert.equal(s.version, 4);

    s.updateTableHints("t", { writeDisposition: "merge" }); // same value: no change
    assert.equal(s.bumpVersion(), false);
    assert.equal(s.version, 4);

    s.removeTables(["t"]);
    assert.equal(s.bumpVersion(), true);
    assert.equal(s.version, 5);
    assert.equal(s.versionHash, h1); // same content as the empty schema, new version
  });

  test("the hash is stable and independent of key order", () => {
    const a: Record<string, Table> = {
      t: { name: "t", columns: { id: { name: "id", type: "bigint", nullable: false } } },
      u: { name: "u", parent: "t", columns: {} },
    };
    const b: Record<string, Table> = {
      u: { columns: {}, parent: "t", name: "u" },
      t: { columns: { id: { nullable: false, type: "bigint", name: "id" } }, name: "t" },
    };
    assert.equal(Schema.hashTables(a), Schema.hashTables(b));
    assert.equal(Schema.hashTables(a).length, 22);
    assert.match(Schema.hashTables(a), /^[A-Za-z0-9_-]{22}$/);
    const c = structuredClone(a);
    (c.t as Table).columns.id = { name: "id", type: "text", nullable: false };
    assert.notEqual(Schema.hashTables(a), Schema.hashTables(c));
    // undefined properties do not count
    const d: Record<string, Table> = {
      ...a,
      u: { name: "u", parent: "t", columns: {}, resource: undefined },
    };
    assert.equal(Schema.hashTables(a), Schema.hashTables(d));
  });

  test("stableStringify sorts keys at every level and skips undefined", () => {
    assert.equal(
      stableStringify({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }),
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    assert.equal(stableStringify(null), "null");
    assert.equal(stableStringify(undefined), "null");
    assert.equal(stableStringify("x"), '"x"');
  });

  test("tableFamily lists a root and its descendants, parents first", () => {
    const s = sample();
    assert.deepEqual(names(s.tableFamily("issues")), [
      "issues",
      "issues__labels",
      "issues__labels__tags",
      "issues__assignees",
    ]);
    assert.deepEqual(names(s.tableFamily("issues__labels")), ["issues__labels", "issues__labels__tags"]);
    assert.deepEqual(names(s.tableFamily("users")), ["users"]);
    assert.deepEqual(s.tableFamily("missing"), []);
    assert.deepEqual(names(s.rootTables()), ["issues", "users"]);
  });

  test("rootOf walks up to the root table", () => {
    const s = sample();
    assert.equal(s.rootOf("issues__labels__tags")?.name, "issues");
    assert.equal(s.rootOf("issues__assignees")?.name, "issues");
    assert.equal(s.rootOf("issues")?.name, "issues");
    assert.equal(s.rootOf("users")?.name, "users");
    assert.equal(s.rootOf("missing"), undefined);
  });

  test("toStored / fromStored round trip, also through JSON", () => {
    const s = sample();
    s.addColumn("issues", { name: "amount", type: "decimal", precision: 18, scale: 2 });
    s.bumpVersion();
    const stored = s.toStored();
    assert.equal(stored.name, "github");
    assert.equal(stored.version, 1);
    assert.equal(stored.versionHash, s.versionHash);
    assert.equal(stored.engineVersion, ENGINE_VERSION);
    assert.deepEqual(Object.keys(stored.tables), [
      "issues",
      "issues__labels",
      "issues__labels__tags",
      "users",
      "issues__assignees",
    ]);

    const json = JSON.parse(JSON.stringify(stored)) as StoredSchema;
    const back = Schema.fromStored(json);
    assert.equal(back.name, "github");
    assert.equal(back.version, 1);
    assert.equal(back.versionHash, s.versionHash);
    assert.deepEqual(back.tables, s.tables);
    assert.deepEqual(back.changes, []);
    assert.equal(back.bumpVersion(), false);
    assert.equal(back.version, 1);
    assert.deepEqual(back.toStored(), stored);
  });

  test("stored copies are detached from the live schema", () => {
    const s = sample();
    s.bumpVersion();
    const stored = s.toStored();
    (stored.tables.issues as Table).columns.hacked = { name: "hacked", type: "text" };
    assert.equal(s.getTable("issues")?.columns.hacked, undefined);
    const back = Schema.fromStored(stored);
    back.addColumn("users", { name: "email", type: "text" });
    assert.equal(stored.tables.users?.columns.email, undefined);
    assert.equal(s.getTable("users")?.columns.email, undefined);
  });
});
