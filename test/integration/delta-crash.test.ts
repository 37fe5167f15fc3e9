// Crash recovery of Delta loads: a child process (test/fixtures/delta-child.ts) is killed with SIGKILL in the middle
// of a load's commits: before the first log entry (data files uploaded), between the root table's commit and the
// child table's, and after both but before the _ferry_loads marker. The table stays readable by deltalake at every
// point, and the next run completes the load exactly once: every id once, children consistent, one commit per
// table for the load.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import { type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import { childrenOf, type DeltaPause, deltaItems } from "../fixtures/delta-child.js";
import { runChild } from "../helpers/delta-child-run.js";
import { type DeltaRead, deltaPython, deltaReaderTarget, readDelta } from "../helpers/delta-reader.js";
import { type BackendRoot, backends, withRoot } from "../helpers/filesystem-backends.js";

const { python, skip: noPython } = deltaPython();
const TIMEOUT = { timeout: 180_000 };
const DATASET = "crash";

for (const backend of await backends()) {
  if (backend.name === "azure" || backend.name === "gcs") continue; // local disk and MinIO (S3): see the header
  const skip = backend.skip || noPython;
  const open = (root: BackendRoot, dir: string): Pipeline =>
    pipeline({
      name: "crash",
      dir,
      destination: filesystem({ url: root.url, tableFormat: "delta", ...root.options }),
      dataset: DATASET,
      logger: silentLogger,
    });
  const read = (root: BackendRoot, table: string, order: string[] = []): Promise<DeltaRead> => {
    const at = deltaReaderTarget(backend.name, root.url, root.options.env as Record<string, string>);
    return readDelta(python, at.uri(`${DATASET}/${table}`), at.options, order, at.env);
  };

  /** Every id first..last once, each with its own children (labels of the load that wrote the id), per deltalake. */
  async function assertExactlyOnce(root: BackendRoot, last: number, tagOf: (id: number) => string) {
    const items = await read(root, "items", ["id"]);
    assert.deepEqual(
      items.rows.map((r) => r.id),
      Array.from({ length: last }, (_, i) => i + 1),
    );
    for (const r of items.rows) assert.equal(r.tag, tagOf(r.id as number), `tag of ${r.id}`);
    const children = await read(root, "items__children");
    const idOf = new Map(items.rows.map((r) => [r._ferry_id, r.id as number]));
    const perId = new Map<number, string[]>();
    for (const c of children.rows) {
      const id = idOf.get(c._ferry_root_id);
      assert.ok(id !== undefined, `child ${c.label} has no root row`);
      perId.set(id, [...(perId.get(id) ?? []), String(c.label)]);
    }
    for (let id = 1; id <= last; id++) {
      assert.deepEqual(
        (perId.get(id) ?? []).sort(),
        Array.from({ length: childrenOf(id) }, (_, k) => `${tagOf(id)}-${id}-${k}`),
        `children of ${id}`,
      );
    }
    return { items, children };
  }

  /** One commit per table for each load id: nothing was committed twice. */
  function assertOneCommitPerLoad(t: DeltaRead, loads: string[]) {
    const seen = t.history.map((h) => h.ferry?.loadId).filter((id) => id !== undefined);
    assert.deepEqual([...seen].sort(), [...loads].sort());
  }

  describe(`Delta crash recovery on ${backend.name}`, { skip }, () => {
    for (const pause of ["before-commit", "between-commits", "before-marker"] as DeltaPause[]) {
      test(
        `killed ${pause}: a readable table, and the next run completes the load exactly once`,
        TIMEOUT,
        async () =>
          withRoot(
            async (root, work) => {
              const dir = join(work, ".ferry");
              const base = { dir, name: "crash", dataset: DATASET, mode: "merge" as const };
              const [first] = await runChild(root, { ...base, start: 1, count: 1000, tag: "a" });
              // Ids 501..1500: half of them replace rows of the first load.
              await runChild(root, { ...base, start: 501, count: 1000, tag: "b", pause });
              const tagOf = (id: number) => (id <= 500 ? "a" : "b");
              const items = await read(root, "items");
              const children = await read(root, "items__children");
              // deltalake reads the table at every point; the interrupted load is in it once its commit landed.
              const rootCommitted = pause !== "before-commit";
              assert.equal(items.version, rootCommitted ? 1 : 0);
              assert.equal(items.rows.length, rootCommitted ? 1500 : 1000);
              assert.equal(children.version, pause === "before-marker" ? 1 : 0);
              const p = open(root, dir);
              const pending = (await p.packages()).pending.map((x) => x.loadId);
              assert.equal(pending.length, 1, "the interrupted load waits in the working dir");
              const info = await p.run(deltaItems("merge", 1501, 10, "c"));
              assert.deepEqual(info.pendingCompleted, pending);
              const after = await assertExactlyOnce(root, 1510, (id) => (id > 1500 ? "c" : tagOf(id)));
              const loads = [first!, pending[0]!, ...info.loadIds.filter((id) => id !== pending[0])];
              assertOneCommitPerLoad(after.items, loads);
              assertOneCommitPerLoad(after.children, loads);
              assert.deepEqual(
                await p.dataset().sql("select count(*) as n, count(distinct id) as d from items"),
                [{ n: 1510, d: 1510 }],
              );
              assert.deepEqual(
                (await p.dataset().sql("select load_id from _ferry_loads order by load_id")).map(
                  (r) => r.load_id,
                ),
                [...loads].sort(),
              );
            },
            await backend.root(),
          ),
      );
    }
  });
}
