// The filesystem destination's load protocol: data files first, then schema version and state, the _ferry_loads marker
// last (a load without it is invisible and retried into the same keys); a new machine restores state from the store;
// layouts with placeholders; drop. One test body per backend. Dispositions: filesystem-dispositions.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import {
  ConfigError,
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
  Array.from({ length: to - from + 1 }, (_, i) => ({
    id: from + i,
    tag,
    children: [{ k: 0 }, { k: 1 }],
  }));

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

  describe(`filesystem loads on ${backend.name}`, { skip: backend.skip }, () => {
    test("system files: markers, state and schema versions per load; tables grow by name", async () =>
      withRoot(
        async (root, work) => {
          const p = open(root, work);
          const a = await p.run(items(1, 3, "a"), { table: "items" });
          const b = await p.run(
            items(4, 5, "b").map((r) => ({ ...r, extra: "new" })),
            { table: "items" },
          );
          const [idA, idB] = [a.loadId!, b.loadId!];
          assert.deepEqual(await keysUnder(root.store, "lake/_ferry_loads/"), [
            `lake/_ferry_loads/${idA}.json`,
            `lake/_ferry_loads/${idB}.json`,
          ]);
          assert.deepEqual(await keysUnder(root.store, "lake/_ferry_pipeline_state/"), [
            `lake/_ferry_pipeline_state/loads/${idA}.json`,
            `lake/_ferry_pipeline_state/loads/${idB}.json`,
          ]);
          const versions = await keysUnder(root.store, "lake/_ferry_version/");
          assert.equal(versions.length, 2);
          assert.match(versions[0]!, /^lake\/_ferry_version\/loads\/0000000001\.[\w-]+\.json$/);
          assert.match(versions[1]!, /^lake\/_ferry_version\/loads\/0000000002\.[\w-]+\.json$/);
          const marker = JSON.parse(String(await root.store.get(`lake/_ferry_loads/${idB}.json`)));
          assert.equal(marker.load_id, idB);
          assert.equal(marker.status, 0);
          assert.equal(marker.pipeline_name, "loads");
          assert.deepEqual(
            marker.tables.items.files.map((f: { key: string; rows: number }) => [f.key, f.rows]),
            [[`lake/items/${idB}.0000.parquet`, 2]],
          );
          assert.deepEqual(marker.tables.items__children.files[0].rows, 4);
          assert.ok(marker.tables.items.columns.some((c: { name: string }) => c.name === "extra"));
          const ds = p.dataset();
          assert.deepEqual(await ds.sql("select load_id from _ferry_loads order by load_id"), [
            { load_id: idA },
            { load_id: idB },
          ]);
          assert.deepEqual(
            await ds.sql("select version, _ferry_load_id from _ferry_pipeline_state order by version"),
            [
              { version: 1, _ferry_load_id: idA },
              { version: 2, _ferry_load_id: idB },
            ],
          );
          assert.deepEqual(await ds.sql("select version, schema_name from _ferry_version order by version"), [
            { version: 1, schema_name: "loads" },
            { version: 2, schema_name: "loads" },
          ]);
          // Files of both loads make the table; the older ones have no `extra`.
          assert.deepEqual(await ds.sql("select id, tag, extra from items order by id"), [
            { id: 1, tag: "a", extra: null },
            { id: 2, tag: "a", extra: null },
            { id: 3, tag: "a", extra: null },
            { id: 4, tag: "b", extra: "new" },
            { id: 5, tag: "b", extra: "new" },
          ]);
          assert.deepEqual(await ds.sql("select count(*) as n from items__children"), [{ n: 10 }]);
        },
        await backend.root(),
      ));

    test("layout placeholders: date parts of the load time, validated patterns", async () =>
      withRoot(
        async (root, work) => {
          const layout = "{table}/{YYYY}/{MM}/{DD}/{HH}/{dataset}-{load_id}.{file_id}.{ext}";
          const p = open(root, work, { destination: filesystem({ url: root.url, ...root.options, layout }) });
          const info = await p.run(items(1, 2, "a"), { table: "items" });
          const t = new Date(Number(info.loadId!.split(".")[0]));
          const datePath = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours()].map(
            (n) => String(n).padStart(2, "0"),
          );
          assert.deepEqual(await keysUnder(root.store, "lake/items/"), [
            `lake/items/${datePath.join("/")}/lake-${info.loadId}.0000.parquet`,
          ]);
          assert.deepEqual(await p.dataset().sql("select count(*) as n from items"), [{ n: 2 }]);
          // The URL carries the layout too.
          const byUrl = open(root, work, {
            name: "by_url",
            dataset: "by_url",
            destination: filesystem({
              url: `${root.url}?layout=${encodeURIComponent("{table}/part-{load_id}-{file_id}.{ext}")}`,
              ...root.options,
            }),
          });
          const second = await byUrl.run([{ id: 1 }], { table: "t" });
          assert.deepEqual(await keysUnder(root.store, "by_url/t/"), [
            `by_url/t/part-${second.loadId}-0000.parquet`,
          ]);
          for (const [bad, why] of [
            ["{table}/{load_id}.{ext}", /must contain \{file_id\}/],
            ["{table}/{load_id}.{file_id}.{suffix}", /unknown placeholder\(s\) \{suffix\}/],
            ["/{table}/{load_id}.{file_id}", /relative path/],
            ["{table}/../{load_id}.{file_id}", /relative path/],
          ] as const) {
            assert.throws(
              () => filesystem({ url: root.url, layout: bad }),
              (e: Error) => e instanceof ConfigError && why.test(e.message),
            );
          }
          assert.throws(
            () => filesystem({ url: `${root.url}?format=avro` }),
            (e: Error) => e instanceof ConfigError && /unknown file format "avro"/.test(e.message),
          );
          assert.throws(
            () => filesystem({ url: `${root.url}?secret_access_key=x` }),
            (e: Error) => e instanceof ConfigError && /unknown parameter "secret_access_key"/.test(e.message),
          );
        },
        await backend.root(),
      ));

    test("a new machine restores state from the store: incremental loading continues", async () =>
      withRoot(
        async (root, work) => {
          const events = (last: number) =>
            resource({ name: "events", incremental: { cursor: "id", initialValue: 0 } }, function* () {
              for (let id = 1; id <= last; id++)
                yield { id, at: `2024-01-01T00:00:${String(id % 60).padStart(2, "0")}Z` };
            });
          const first = await open(root, work).run(events(100));
          assert.deepEqual(first.rows, { events: 100 });
          // Another machine: a fresh working dir.
          const other = open(root, work, { dir: join(work, "other-machine") });
          const second = await other.run(events(150));
          assert.deepEqual(second.items, { events: 50 }, "only ids after the restored cursor");
          assert.deepEqual(
            await other.dataset().sql("select count(*) as n, count(distinct id) as d from events"),
            [{ n: 150, d: 150 }],
          );
          assert.equal(other.schema?.tables.events?.columns.at?.type, "timestamp");
          // A third machine restores explicitly.
          const third = open(root, work, { dir: join(work, "third") });
          assert.equal(await third.syncFromDestination(), true);
          assert.equal(third.state?.lastLoadId, second.loadId);
        },
        await backend.root(),
      ));

    test("a load whose marker failed is invisible, then retried into the same keys exactly once", async () =>
      withRoot(
        async (root, work) => {
          const store = new RecordingStore(root.store);
          let failures = 1;
          store.before = async (op, key) => {
            if (op === "put" && key.includes("/_ferry_loads/") && failures-- > 0) {
              const err = new Error("socket hang up") as Error & { code: string };
              err.code = "ECONNRESET";
              throw err;
            }
          };
          const p = open(root, work, {
            destination: filesystem({ store }),
            retry: { attempts: 2, initialDelayMs: 1 },
          });
          const info = await p.run(items(1, 50, "a"), { table: "items" });
          const puts = store.ops.filter((o) => o.startsWith("putFile lake/items/"));
          assert.deepEqual(
            puts,
            [
              `putFile lake/items/${info.loadId}.0000.parquet`,
              `putFile lake/items/${info.loadId}.0000.parquet`,
            ],
            "the retry rewrote the same key",
          );
          assert.deepEqual(await keysUnder(root.store, "lake/items/"), [
            `lake/items/${info.loadId}.0000.parquet`,
          ]);
          assert.deepEqual(
            await p.dataset().sql("select count(*) as n, count(distinct id) as d from items"),
            [{ n: 50, d: 50 }],
          );
          // A terminal failure before the marker: the data files exist, yet readers and restores ignore the load.
          store.before = async (op, key) => {
            if (op === "put" && key.includes("/_ferry_loads/")) throw new Error("access denied");
          };
          await assert.rejects(p.run(items(51, 60, "b"), { table: "items" }), /access denied/);
          assert.equal(
            (await keysUnder(root.store, "lake/items/")).length,
            2,
            "the failed load's file is there",
          );
          assert.deepEqual(await p.dataset().sql("select count(*) as n from items"), [{ n: 50 }]);
          const fresh = open(root, work, { dir: join(work, "fresh") });
          assert.equal(await fresh.syncFromDestination(), true);
          assert.equal(
            fresh.state?.lastLoadId,
            info.loadId,
            "the state of the incomplete load is not restored",
          );
        },
        await backend.root(),
      ));

    test("drop removes the tables' files and the system files", async () =>
      withRoot(
        async (root, work) => {
          const p = open(root, work);
          await p.run(items(1, 3, "a"), { table: "items" });
          await p.run([{ id: 1 }], { table: "other" });
          const dropped = await p.drop();
          assert.deepEqual(dropped.droppedTables.sort(), [
            "_ferry_loads",
            "_ferry_pipeline_state",
            "_ferry_version",
            "items",
            "items__children",
            "other",
          ]);
          assert.deepEqual(await keysUnder(root.store, "lake/"), []);
          assert.deepEqual(await open(root, work).dataset().tables(), []);
        },
        await backend.root(),
      ));
  });
}
