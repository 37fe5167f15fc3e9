/**
 * `ctx.selection`: the resources a run loads through a resource (itself when selected, its selected transformers),
 * which sources with one cursor for several tables keep the cursor with.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ResourceContext, resource, source, transformer } from "../../src/index.js";
import { withPipeline } from "../helpers/rest-api.js";

function family(seen: Record<string, readonly string[]>) {
  const parent = resource({ name: "parent" }, (ctx: ResourceContext) => {
    seen.parent = ctx.selection;
    return [{ id: 1 }];
  });
  const child = transformer({ name: "child", parent }, (item: unknown, ctx: ResourceContext) => {
    seen.child = ctx.selection;
    return [{ of: (item as { id: number }).id }];
  });
  const grandchild = transformer(
    { name: "grandchild", parent: child },
    (item: unknown, ctx: ResourceContext) => {
      seen.grandchild = ctx.selection;
      return [item];
    },
  );
  return source({ name: "fam", resources: [parent, child, grandchild] });
}

test("ctx.selection names the resource and the selected transformers below it", () =>
  withPipeline("selection", async ({ p }) => {
    const all: Record<string, readonly string[]> = {};
    await p.run(family(all));
    assert.deepEqual(all, {
      parent: ["parent", "child", "grandchild"],
      child: ["child", "grandchild"],
      grandchild: ["grandchild"],
    });
    const some: Record<string, readonly string[]> = {};
    await p.run(family(some).select("grandchild"));
    assert.deepEqual(some, { parent: ["grandchild"], child: ["grandchild"], grandchild: ["grandchild"] });
    const top: Record<string, readonly string[]> = {};
    await p.run(family(top).select("parent"));
    assert.deepEqual(top, { parent: ["parent"] });
  }));
