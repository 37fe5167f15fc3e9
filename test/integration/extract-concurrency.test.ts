import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resource, source } from "../../src/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two resources that each wait until the other has started: they only finish when they run at the same time. */
function rendezvousSource() {
  const started = { a: false, b: false };
  const waitFor = async (other: "a" | "b") => {
    for (let i = 0; i < 200 && !started[other]; i++) await sleep(5);
    if (!started[other]) throw new Error(`resource ${other} never started while this one ran`);
  };
  const make = (name: "a" | "b", other: "a" | "b") =>
    resource({ name }, async function* () {
      started[name] = true;
      await waitFor(other);
      for (let i = 0; i < 5; i++) yield { id: i, from: name };
    });
  return source({ name: "pair", resources: [make("a", "b"), make("b", "a")] });
}

describe("concurrent extraction of root resources", () => {
  test("root resources run at the same time and every record of each lands once", async () => {
    const { p, cleanup } = tempPipeline("conc", { dataset: "conc" });
    try {
      const info = await p.run(rendezvousSource());
      assert.deepEqual(info.rows, { a: 5, b: 5 });
      const rows = await p.dataset().sql('SELECT count(DISTINCT id) AS n, min("from") AS f FROM a');
      assert.deepEqual(rows, [{ n: 5, f: "a" }]);
    } finally {
      cleanup();
    }
  });

  test("extractConcurrency: 1 runs resources one after the other", async () => {
    const { p, cleanup } = tempPipeline("seq", { dataset: "seq" });
    try {
      await assert.rejects(
        p.run(rendezvousSource(), { extractConcurrency: 1 }),
        /never started while this one ran/,
      );
    } finally {
      cleanup();
    }
  });

  test("a failing resource stops the others and nothing of the run is loaded", async () => {
    const { p, cleanup } = tempPipeline("fail", { dataset: "fail" });
    let endlessPages = 0;
    const endless = resource({ name: "endless" }, async function* () {
      for (;;) {
        endlessPages++;
        yield [{ id: endlessPages }];
        await sleep(2);
      }
    });
    const broken = resource({ name: "broken" }, async function* () {
      yield { id: 1 };
      await sleep(30);
      throw new Error("upstream said no");
    });
    try {
      await assert.rejects(p.run(source({ name: "s", resources: [endless, broken] })), /upstream said no/);
      const pagesAtFailure = endlessPages;
      await sleep(50);
      assert.equal(endlessPages, pagesAtFailure, "the endless resource kept running after the failure");
      assert.ok(pagesAtFailure > 1, "both resources ran at the same time");
      assert.deepEqual(await p.dataset().tables(), []);
      assert.deepEqual(await p.packages(), { pending: [], failed: [] });
    } finally {
      cleanup();
    }
  });

  test("two resources writing one table through a table function interleave across flushes and file rotation without losing a row", async () => {
    const { p, cleanup } = tempPipeline("shared", { dataset: "shared" });
    const make = (name: string, offset: number) =>
      resource({ name, table: () => "shared_table" }, async function* () {
        for (let page = 0; page < 40; page++) {
          yield Array.from({ length: 500 }, (_, i) => ({
            id: offset + page * 500 + i,
            pad: "x".repeat(450),
          }));
          await sleep(0);
        }
      });
    try {
      await p.run(source({ name: "s", resources: [make("one", 0), make("two", 1_000_000)] }));
      const rows = await p.dataset().sql("SELECT count(*) AS n, count(DISTINCT id) AS d FROM shared_table");
      assert.deepEqual(rows, [{ n: 40_000, d: 40_000 }]);
    } finally {
      cleanup();
    }
  });
});
