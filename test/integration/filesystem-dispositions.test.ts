// Write dispositions on the filesystem destination: replace writes the new files first and removes the old ones only
// after the load's marker, so readers never see an empty or half-replaced table; merge is rejected before extracting,
// from the destination's capabilities, with the alternatives. One test body per backend.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import {
  ConfigError,
  DestinationError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  resource,
  silentLogger,
} from "../../src/index.js";
import {
  type BackendRoot,
  backends,
  keysUnder,
  RecordingStore,
  withRoot,
} from "../helpers/filesystem-backends.js";

const items = (from: number, to: number, tag: string) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, tag, children: [{ k: 0 }, { k: 1 }] }));

for (const backend of await backends()) {
  const open = (root: BackendRoot, work: string, extra: Partial<PipelineOptions> = {}): Pipeline =>
    pipeline({
      name: "loads",
      destination: filesystem({ url: root.url, ...root.options }),
      dataset: "lake",
      dir: join(work, ".ferry"),
      logger: silentLogger,
      ...extra,
    });

  describe(`filesystem dispositions on ${backend.name}`, { skip: backend.skip }, () => {
    test("replace: new files first, old ones removed after the marker; readers never see an empty table", async () =>
      withRoot(
        async (root, work) => {
          const store = new RecordingStore(root.store);
          const p = open(root, work, { destination: filesystem({ store }) });
          const reader = open(root, work, { name: "reader" });
          const first = await p.run(items(1, 3, "a"), { table: "items", writeDisposition: "replace" });
          const oldKeys = (await keysUnder(root.store, "lake/items")).filter((k) => k.endsWith(".parquet"));
          assert.equal(oldKeys.length, 2, "items and items__children");
          store.ops.length = 0;
          const seen: string[] = [];
          store.before = async (op, key) => {
            const rows = await reader
              .dataset()
              .sql("select string_agg(distinct tag, ',' order by tag) as tags, count(*) as n from items");
            seen.push(`${op} ${key.split("/")[1]}: ${rows[0]!.tags} ${rows[0]!.n}`);
          };
          const second = await p.run(items(10, 11, "b"), { table: "items", writeDisposition: "replace" });
          store.before = undefined;
          const id = second.loadId!;
          // The schema did not change: no new version file.
          assert.deepEqual(
            store.ops.map((o) =>
              o.replace(new RegExp(`${id}|${first.loadId}`, "g"), (m) => (m === id ? "NEW" : "OLD")),
            ),
            [
              "putFile lake/items/NEW.0000.parquet",
              "putFile lake/items__children/NEW.0000.parquet",
              "put lake/_ferry_pipeline_state/loads/NEW.json",
              "put lake/_ferry_loads/NEW.json",
              "delete lake/items/OLD.0000.parquet lake/items__children/OLD.0000.parquet",
            ],
          );
          assert.deepEqual(seen, [
            "putFile items: a 3",
            "putFile items__children: a 3",
            "put _ferry_pipeline_state: a 3",
            "put _ferry_loads: a 3",
            // The marker is written: the load is complete, its rows replace the old ones before any file is deleted.
            "delete items: b 2",
          ]);
          assert.deepEqual(
            (await keysUnder(root.store, "lake/items")).filter((k) => k.endsWith(".parquet")),
            [`lake/items/${id}.0000.parquet`, `lake/items__children/${id}.0000.parquet`],
          );
          assert.deepEqual(await p.dataset().sql("select count(*) as n from items__children"), [{ n: 4 }]);
          // Replacing with nothing empties the table family and keeps the tables.
          const empty = await p.run([], { table: "items", writeDisposition: "replace" });
          assert.deepEqual(empty.rows, {});
          assert.deepEqual(
            (await keysUnder(root.store, "lake/items")).filter((k) => k.endsWith(".parquet")),
            [],
          );
          assert.deepEqual(await p.dataset().sql("select count(*) as n from items"), [{ n: 0 }]);
          assert.deepEqual(await p.dataset().sql("select count(*) as n from items__children"), [{ n: 0 }]);
          assert.ok((await p.dataset().tables()).includes("items__children"));
        },
        await backend.root(),
      ));

    test("merge is rejected before extracting, with the alternatives", async () =>
      withRoot(
        async (root, work) => {
          const p = open(root, work);
          let called = false;
          const merging = resource(
            { name: "users", primaryKey: "id", writeDisposition: "merge" },
            function* () {
              called = true;
              yield { id: 1 };
            },
          );
          const rejected = (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.match(e.message, /cannot merge: resource "users" uses writeDisposition "merge"/);
            assert.match(e.hint ?? "", /"append" or "replace"/);
            assert.match(e.hint ?? "", /duckdb or postgres/);
            assert.match(e.hint ?? "", /Delta table/);
            assert.match(e.hint ?? "", /table_format=delta/);
            return true;
          };
          await assert.rejects(p.run(merging), rejected);
          await assert.rejects(p.extract(merging), rejected);
          await assert.rejects(
            p.run([{ id: 1 }], {
              table: "users",
              primaryKey: "id",
              writeDisposition: { disposition: "merge", strategy: "upsert" },
            }),
            (e: Error) => e instanceof ConfigError && /cannot merge/.test(e.message),
          );
          assert.equal(called, false, "the resource never ran");
          const pk = await p.packages();
          assert.deepEqual([pk.pending.length, pk.failed.length], [0, 0]);
          assert.deepEqual(await keysUnder(root.store, ""), [], "nothing was written");
          // The check reads capabilities: a destination offering only delete-insert rejects upsert alone.
          const fs = filesystem({ url: root.url, ...root.options });
          const partial = {
            ...fs,
            capabilities: { ...fs.capabilities, mergeStrategies: ["delete-insert"] as const },
          };
          const q = open(root, work, { name: "partial", destination: partial });
          await assert.rejects(
            q.extract([{ id: 1 }], {
              table: "u",
              primaryKey: "id",
              writeDisposition: { disposition: "merge", strategy: "upsert" },
            }),
            /cannot merge with strategy "upsert" \(it offers delete-insert\)/,
          );
          // A merge package that reaches the client anyway (extracted for another destination) writes nothing.
          const client = await fs.connect({ dataset: "lake", pipelineName: "x", logger: silentLogger });
          try {
            const table = { name: "users", writeDisposition: "merge" as const, columns: {} };
            await assert.rejects(
              client.loadPackage({
                loadId: "1.abc",
                resumed: false,
                pipelineName: "x",
                schema: {
                  name: "x",
                  version: 1,
                  versionHash: "h",
                  engineVersion: 1,
                  tables: { users: table },
                },
                families: [{ root: table, tables: [table], jobs: [] }],
                state: { json: "{}", version: 1, hash: "s" },
                onJobStarted: async () => {},
                onJobCompleted: async () => {},
              }),
              (e: Error) => e instanceof DestinationError && /cannot merge/.test(e.message) && !e.transient,
            );
          } finally {
            await client.close();
          }
          assert.deepEqual(await keysUnder(root.store, ""), []);
        },
        await backend.root(),
      ));
  });
}
