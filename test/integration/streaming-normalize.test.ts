// Big packages are normalized on worker threads while they are still being extracted (run() only): these tests run
// packages of three or more 16 MB extracted files and check that the result is what one thread gives.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DataError, ExtractError, jsonLines, type ProgressEvent, resource } from "../../src/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

const PAD = "p".repeat(700);
/** Enough records of about 800 bytes to fill three 16 MB extracted files. */
const BIG = 60_000;

function record(i: number, extra: Record<string, unknown> = {}) {
  return { id: i, pad: PAD, group: `g${i % 7}`, kids: [{ k: i }, { k: i + 1 }], ...extra };
}

/** Yields `n` records from `from` in pages of 1000, with `extra(i)` merged into each. */
function* pages(from: number, n: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  for (let start = from; start < from + n; start += 1000) {
    const page = [];
    for (let i = start; i < Math.min(from + n, start + 1000); i++) page.push(record(i, extra(i)));
    yield page;
  }
}

const columnsOf = (schema: { tables: Record<string, { columns: Record<string, { type: string }> }> }) =>
  Object.fromEntries(
    Object.entries(schema.tables)
      .filter(([t]) => !t.startsWith("_ferry"))
      .map(([t, table]) => [
        t,
        Object.values(table.columns)
          .map((c) => `${(c as { name?: string }).name}:${c.type}`)
          .sort(),
      ]),
  );

describe("normalizing while extracting", () => {
  test("normalize progress arrives before extraction ends, and the tables equal a one-thread run", async () => {
    const events: ProgressEvent[] = [];
    const streamed = tempPipeline("stream_eq", {
      dataset: "d",
      normalizeWorkers: 2,
      onProgress: (e) => events.push(e),
    });
    const single = tempPipeline("stream_eq1", { dataset: "d", normalizeWorkers: 1 });
    try {
      const normalized = () => events.some((e) => e.stage === "normalize" && "items" in e && e.items > 0);
      // Two files' worth of records, then the source waits until workers report normalized items: the run can only
      // finish if normalizing goes on while the package is still being extracted.
      const data = (wait: boolean) =>
        resource({ name: "big" }, async function* () {
          yield* pages(0, 40_000);
          for (let waited = 0; wait && !normalized(); waited += 10) {
            if (waited > 30_000) throw new Error("no normalize progress while extracting");
            await new Promise((r) => setTimeout(r, 10));
          }
          yield* pages(40_000, BIG - 40_000);
        });
      const info = await streamed.p.run(data(true));
      const reference = await single.p.run(data(false));
      assert.deepEqual(info.rows, { big: BIG, big__kids: 2 * BIG });
      assert.deepEqual(info.rows, reference.rows);
      assert.deepEqual(columnsOf(streamed.p.schema as never), columnsOf(single.p.schema as never));
      const summary =
        "SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, sum(id)::BIGINT AS s FROM big";
      assert.deepEqual(await streamed.p.dataset().sql(summary), await single.p.dataset().sql(summary));
      const kids =
        "SELECT count(*)::INT AS n, sum(k.k)::BIGINT AS s FROM big__kids k JOIN big b ON k._ferry_parent_id = b._ferry_id";
      assert.deepEqual(await streamed.p.dataset().sql(kids), [{ n: 2 * BIG, s: BIG * BIG }]);
    } finally {
      streamed.cleanup();
      single.cleanup();
    }
  });

  test("merge across streamed files: the latest record of each key wins, with its child rows", async () => {
    const { p, cleanup } = tempPipeline("stream_merge", { dataset: "d", normalizeWorkers: 2 });
    try {
      const n = 30_000;
      // Every id twice: first "old" (early files), then "new" (later files) with one child row instead of two.
      const data = resource({ name: "items", primaryKey: "id", writeDisposition: "merge" }, function* () {
        yield* pages(0, n, () => ({ v: "old" }));
        for (const page of pages(0, n, () => ({ v: "new" })))
          yield page.map((r) => ({ ...r, kids: [{ k: -r.id }] }));
      });
      const info = await p.run(data);
      assert.equal(info.rows.items, 2 * n, "both versions were normalized");
      assert.deepEqual(await p.dataset().sql("SELECT v, count(*)::INT AS n FROM items GROUP BY v"), [
        { v: "new", n },
      ]);
      assert.deepEqual(
        await p.dataset().sql("SELECT count(*)::INT AS n, sum(k)::BIGINT AS s FROM items__kids"),
        [{ n, s: -(n * (n - 1)) / 2 }],
      );
    } finally {
      cleanup();
    }
  });

  test("workers that meet a new column with different types fall back to one thread: same schema as one thread", async () => {
    const streamed = tempPipeline("stream_split", { dataset: "d", normalizeWorkers: 2 });
    const single = tempPipeline("stream_split1", { dataset: "d", normalizeWorkers: 1 });
    try {
      // Files 1 and 2 have no `x`; from the middle of file 2 `x` is a number, from file 3 on it is text.
      const third = BIG / 3;
      const data = () =>
        resource({ name: "split" }, () =>
          pages(0, BIG + third, (i) =>
            i < third * 1.5 ? {} : i < third * 2.5 ? { x: i } : { x: `text ${i}` },
          ),
        );
      const info = await streamed.p.run(data());
      await single.p.run(data());
      assert.equal(info.rows.split, BIG + third);
      const cols = columnsOf(streamed.p.schema as never);
      assert.deepEqual(cols, columnsOf(single.p.schema as never));
      assert.ok(
        cols.split?.includes("x:bigint") && cols.split.includes("x__v_text:text"),
        String(cols.split),
      );
      const split = "SELECT count(x)::INT AS nums, count(x__v_text)::INT AS texts FROM split";
      assert.deepEqual(await streamed.p.dataset().sql(split), await single.p.dataset().sql(split));
    } finally {
      streamed.cleanup();
      single.cleanup();
    }
  });

  test("an extraction that fails after workers started leaves no package and stops them; the next run loads", async () => {
    const { p, cleanup } = tempPipeline("stream_fail", { dataset: "d", normalizeWorkers: 2 });
    try {
      const failing = resource({ name: "big" }, function* () {
        yield* pages(0, BIG);
        throw new Error("the source went away");
      });
      await assert.rejects(p.run(failing), (err: unknown) => {
        assert.ok(err instanceof ExtractError);
        assert.match(err.message, /resource "big" failed: the source went away/);
        return true;
      });
      assert.deepEqual((await p.packages()).pending, []);
      const info = await p.run(resource({ name: "big" }, () => pages(0, 10)));
      assert.deepEqual(info.rows, { big: 10, big__kids: 20 });
    } finally {
      cleanup();
    }
  });

  test("a bad line in a later file fails the run with the line, and the package is set aside", async () => {
    const { p, cleanup } = tempPipeline("stream_bad", { dataset: "d", normalizeWorkers: 2 });
    try {
      const lines = resource({ name: "events" }, function* () {
        for (let b = 0; b < 60; b++) {
          const batch = Array.from({ length: 1000 }, (_, i) => JSON.stringify(record(b * 1000 + i)));
          if (b === 50) batch[10] = '{"id": 50010, "pad": truncated';
          yield jsonLines(`${batch.join("\n")}\n`);
        }
      });
      await assert.rejects(p.run(lines), (err: unknown) => {
        assert.ok(err instanceof DataError, String(err));
        assert.match(err.message, /resource "events" yielded a line that is not valid JSON/);
        assert.match(err.message, /the line: \{"id": 50010, "pad": truncated/);
        return true;
      });
      const packages = await p.packages();
      assert.deepEqual([packages.pending.length, packages.failed.length], [0, 1]);
    } finally {
      cleanup();
    }
  });
});
