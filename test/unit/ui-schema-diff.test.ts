// The schema page's history and tree: what each version added or changed, and child tables under their parents.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { StoredSchema } from "../../src/schema/types.js";
import { diffSchemas, tableTree } from "../../src/ui/data-view.js";

const schema = (version: number, tables: StoredSchema["tables"]): StoredSchema => ({
  name: "s",
  version,
  versionHash: `h${version}`,
  engineVersion: 1,
  tables,
});

const v1 = schema(1, {
  issues: {
    name: "issues",
    columns: { id: { name: "id", type: "bigint" }, score: { name: "score", type: "bigint" } },
  },
  issues__labels: {
    name: "issues__labels",
    parent: "issues",
    columns: { value: { name: "value", type: "text" } },
  },
  _ferry_loads: { name: "_ferry_loads", columns: {} },
});
const v2 = schema(2, {
  issues: {
    name: "issues",
    columns: {
      id: { name: "id", type: "bigint" },
      score: { name: "score", type: "double" },
      title: { name: "title", type: "text" },
    },
  },
  issues__labels__meta: {
    name: "issues__labels__meta",
    parent: "issues__labels",
    columns: { k: { name: "k", type: "text" } },
  },
  issues__labels: {
    name: "issues__labels",
    parent: "issues",
    columns: { value: { name: "value", type: "text" } },
  },
});

test("a version's diff: new tables and columns, changed types, removed tables", () => {
  assert.deepEqual(diffSchemas(v1, v2), {
    addedTables: ["issues__labels__meta"],
    addedColumns: [
      { table: "issues", column: "title", type: "text" },
      { table: "issues__labels__meta", column: "k", type: "text" },
    ],
    changedColumns: [{ table: "issues", column: "score", from: "bigint", to: "double" }],
    removedTables: ["_ferry_loads"],
  });
  assert.deepEqual(diffSchemas(undefined, v1).addedTables, ["issues", "issues__labels", "_ferry_loads"]);
});

test("the tree nests child tables under their parents and leaves system tables out", () => {
  const names = (nodes: ReturnType<typeof tableTree>): unknown =>
    nodes.map((n) => [n.table.name, names(n.children)]);
  assert.deepEqual(names(tableTree(v2)), [["issues", [["issues__labels", [["issues__labels__meta", []]]]]]]);
  assert.deepEqual(names(tableTree(v1)), [["issues", [["issues__labels", []]]]]);
});
