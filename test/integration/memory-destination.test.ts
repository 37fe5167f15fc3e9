import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";

test("duckdb::memory: keeps one database for the pipeline's destination (loads and reads see the same data)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-mem-"));
  try {
    const p = pipeline({ name: "mem", destination: "duckdb::memory:", dir, logger: silentLogger });
    const first = await p.run([{ id: 1, tags: ["a", "b"] }, { id: 2 }], { table: "things" });
    assert.deepEqual(first.rows, { things: 2, things__tags: 2 });
    const second = await p.run([{ id: 3 }], { table: "things" });
    assert.deepEqual(second.rows, { things: 1 });
    assert.deepEqual(await p.dataset().sql("select id from things order by id"), [
      { id: 1 },
      { id: 2 },
      { id: 3 },
    ]);
    assert.deepEqual(await p.dataset().sql("select value from things__tags order by _ferry_list_idx"), [
      { value: "a" },
      { value: "b" },
    ]);
    const loads = await p.dataset().sql("select count(*) as n from _ferry_loads where status = 0");
    assert.deepEqual(loads, [{ n: 2 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
