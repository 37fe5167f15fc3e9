// Concurrent writers of one Delta table: a commit is a conditional put of the next log entry, so of two writers that
// planned on the same version exactly one gets it; the other reads the new version and plans again (its schema
// merged with the winner's, a merge re-applied to the winner's files). Deterministic races in one process (the
// second writer commits while the first is about to), and two processes appending freely. Read back with deltalake.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import { type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import { childrenOf } from "../fixtures/delta-child.js";
import { runChild } from "../helpers/delta-child-run.js";
import { type DeltaRead, deltaPython, deltaReaderTarget, readDelta } from "../helpers/delta-reader.js";
import { type BackendRoot, backends, RecordingStore, withRoot } from "../helpers/filesystem-backends.js";

const { python, skip: noPython } = deltaPython();
const TIMEOUT = { timeout: 180_000 };
const commitKey = (table: string, v: number) =>
  `lake/${table}/_delta_log/${String(v).padStart(20, "0")}.json`;

for (const backend of await backends()) {
  const skip = backend.skip || noPython;
  const open = (root: BackendRoot, work: string, name: string, store?: RecordingStore): Pipeline =>
    pipeline({
      name,
      destination: store
        ? filesystem({ store, tableFormat: "delta" })
        : filesystem({ url: root.url, tableFormat: "delta", ...root.options }),
      dataset: "lake",
      dir: join(work, name),
      logger: silentLogger,
    });
  const read = (root: BackendRoot, table: string, order: string[] = []): Promise<DeltaRead> => {
    const at = deltaReaderTarget(backend.name, root.url, root.options.env as Record<string, string>);
    return readDelta(python, at.uri(`lake/${table}`), at.options, order, at.env);
  };
  /** The load id in a commit file. */
  const loadOf = async (root: BackendRoot, key: string) =>
    JSON.parse((await root.store.get(key))!.toString().split("\n")[0]!).commitInfo.ferry.loadId as string;

  /** `writer`'s commit of `key` waits until `other` ran: both planned on the same version. */
  const racing = (root: BackendRoot, key: string, other: () => Promise<unknown>) => {
    const store = new RecordingStore(root.store);
    let raced = false;
    store.before = async (op, k) => {
      if (op === "putIfAbsent" && k === key && !raced) {
        raced = true;
        await other();
      }
    };
    return store;
  };

  /** One commit per table for each load id: nothing was committed twice. */
  function assertOneCommitPerLoad(t: DeltaRead, loads: string[]) {
    const seen = t.history.map((h) => h.ferry?.loadId).filter((id) => id !== undefined);
    assert.deepEqual([...seen].sort(), [...loads].sort());
  }

  describe(`concurrent Delta writers on ${backend.name}`, { skip }, () => {
    test(
      "two appends race for version 0: one wins, the other commits version 1 with both schemas",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const b = open(root, work, "bee");
            let bLoad = "";
            const store = racing(root, commitKey("shared", 0), async () => {
              bLoad = (await b.run([{ id: 2, b_only: "from b" }], { table: "shared" })).loadId!;
            });
            const a = open(root, work, "ay", store);
            const aLoad = (await a.run([{ id: 1, a_only: "from a" }], { table: "shared" })).loadId!;
            const tries = store.ops.filter((o) => o.startsWith("putIfAbsent lake/shared/_delta_log/"));
            assert.deepEqual(tries, [
              `putIfAbsent ${commitKey("shared", 0)}`,
              `putIfAbsent ${commitKey("shared", 1)}`,
            ]);
            assert.equal(
              await loadOf(root, commitKey("shared", 0)),
              bLoad,
              "the winner's commit was not overwritten",
            );
            assert.equal(await loadOf(root, commitKey("shared", 1)), aLoad);
            const t = await read(root, "shared", ["id"]);
            assert.equal(t.version, 1);
            assert.deepEqual(
              t.rows.map((r) => [r.id, r.a_only, r.b_only]),
              [
                [1, "from a", null],
                [2, null, "from b"],
              ],
            );
            assert.deepEqual(
              t.schema.map((c) => c.name).filter((n) => !n.startsWith("_ferry")),
              ["id", "b_only", "a_only"],
              "the loser's new column joined the winner's schema",
            );
          },
          await backend.root(),
        ),
    );

    test("a merge that loses the race is applied again to the winner's version", TIMEOUT, async () =>
      withRoot(
        async (root, work) => {
          const accounts = (rows: object[]) => ({
            table: "accounts",
            primaryKey: "id",
            writeDisposition: "merge" as const,
            rows,
          });
          const seed = open(root, work, "seed");
          const start = accounts([1, 2, 3, 4].map((id) => ({ id, balance: 0 })));
          await seed.run(start.rows, start);
          const b = open(root, work, "bee");
          const store = racing(root, commitKey("accounts", 1), async () => {
            const m = accounts([
              { id: 2, balance: 20 },
              { id: 4, balance: 40 },
            ]);
            await b.run(m.rows, m);
          });
          const a = open(root, work, "ay", store);
          const m = accounts([
            { id: 2, balance: 10 },
            { id: 3, balance: 30 },
          ]);
          await a.run(m.rows, m);
          const t = await read(root, "accounts", ["id"]);
          assert.deepEqual(
            t.rows.map((r) => [r.id, r.balance]),
            [
              [1, 0],
              [2, 10],
              [3, 30],
              [4, 40],
            ],
            "B's change to 4 stays, A's later change to 2 wins, every id once",
          );
          assert.deepEqual(
            t.history.map((h) => [h.version, h.operation, h.parameters?.readVersion]),
            [
              [2, "MERGE", 1],
              [1, "MERGE", 0],
              [0, "MERGE", -1],
            ],
          );
        },
        await backend.root(),
      ),
    );

    test(
      "two processes appending to one table: every commit lands once, none overwrites another",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const args = (name: string, start: number) => ({
              dir: join(work, name),
              name,
              dataset: "lake",
              mode: "append" as const,
              start,
              count: 50,
              tag: name,
              loads: 4,
            });
            const [a, b] = await Promise.all([
              runChild(root, args("one", 1)),
              runChild(root, args("two", 1001)),
            ]);
            const items = await read(root, "items", ["id"]);
            assert.equal(items.version, 7, "eight commits, versions 0..7");
            assert.equal(items.rows.length, 400);
            assert.equal(new Set(items.rows.map((r) => r.id)).size, 400);
            assertOneCommitPerLoad(items, [...a!, ...b!]);
            const children = await read(root, "items__children");
            let expected = 0;
            for (let i = 0; i < 200; i++) expected += childrenOf(1 + i) + childrenOf(1001 + i);
            assert.equal(children.rows.length, expected);
            assertOneCommitPerLoad(children, [...a!, ...b!]);
          },
          await backend.root(),
        ),
    );
  });
}
