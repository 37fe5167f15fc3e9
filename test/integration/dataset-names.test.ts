import assert from "node:assert/strict";
import { test } from "node:test";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

for (const dataset of [`my "ds"`, "with space", "it's", "Ünïcode", "x; DROP SCHEMA main"]) {
  test(`dataset ${JSON.stringify(dataset)} is quoted everywhere: load, sql() and table()`, async () => {
    const { p, cleanup } = tempPipeline("names", { dataset });
    try {
      const info = await p.run([{ id: 1, tags: ["a"] }], { table: "t" });
      assert.deepEqual(info.rows, { t: 1, t__tags: 1 });
      assert.deepEqual(await p.dataset().sql("select id from t"), [{ id: 1 }]);
      assert.deepEqual(
        await p
          .dataset()
          .sql("select schema_name from information_schema.schemata where schema_name = $1", [dataset]),
        [{ schema_name: dataset }],
      );
      const rows = await p.dataset().table("t__tags");
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.value, "a");
    } finally {
      cleanup();
    }
  });
}
