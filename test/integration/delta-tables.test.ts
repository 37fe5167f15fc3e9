// Delta Lake tables on the filesystem destination, read back with the real Delta reader (Python's deltalake, i.e.
// delta-rs): row counts, values, Delta and Arrow types and the version history after append, a new column, replace
// and merge (delete-insert with child tables and hard deletes, upsert), checkpoints, per-resource table formats.
// One test body per backend: local disk always, MinIO, Azurite and fake-gcs-server when they run.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type FilesystemOptions, filesystem } from "../../src/destinations/filesystem/index.js";
import { type Pipeline, type PipelineOptions, pipeline, resource, silentLogger } from "../../src/index.js";
import { type DeltaRead, deltaPython, deltaReaderTarget, readDelta } from "../helpers/delta-reader.js";
import { type BackendRoot, backends, keysUnder, withRoot } from "../helpers/filesystem-backends.js";

const { python, skip: noPython } = deltaPython();
const TIMEOUT = { timeout: 120_000 };

/** A record of every ferry type, and the nested list that becomes a child table. */
const typed = (id: number) => ({
  id,
  name: `name ${id}`,
  price: `${id}.25`,
  ratio: id / 4,
  active: id % 2 === 0,
  created: `2024-01-0${id}T03:04:05.123456Z`,
  day: `2024-02-0${id}`,
  clock: `0${id}:30:00`,
  meta: { k: id, list: [1, 2] },
  blob: Buffer.from([id, 255, 0]),
  big: 9007199254740993n + BigInt(id),
  tags: [`t${id}`, `u${id}`],
});

const typedResource = (ids: number[], disposition: "append" | "replace" = "append") =>
  resource(
    {
      name: "things",
      writeDisposition: disposition,
      columns: {
        price: { type: "decimal", precision: 10, scale: 2 },
        clock: { type: "time" },
        meta: { type: "json" },
      },
    },
    () => ids.map(typed),
  );

for (const backend of await backends()) {
  const skip = backend.skip || noPython;
  const open = (
    root: BackendRoot,
    work: string,
    extra: Partial<PipelineOptions> = {},
    fs: Partial<FilesystemOptions> = {},
  ): Pipeline =>
    pipeline({
      name: "deltas",
      destination: filesystem({ url: root.url, tableFormat: "delta", ...root.options, ...fs }),
      dataset: "lake",
      dir: join(work, ".ferry"),
      logger: silentLogger,
      ...extra,
    });
  const read = (root: BackendRoot, table: string, order: string[] = []): Promise<DeltaRead> => {
    const at = deltaReaderTarget(backend.name, root.url, {
      ...root.env,
      ...(root.options.env as Record<string, string>),
    });
    return readDelta(python, at.uri(`lake/${table}`), at.options, order, at.env);
  };

  describe(`Delta tables on ${backend.name}`, { skip }, () => {
    test(
      "append, a new column, replace: values, types and version history as deltalake reads them",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const p = open(root, work);
            const first = await p.run(typedResource([1, 2]));
            assert.deepEqual(first.rows, { things: 2, things__tags: 4 });
            const t1 = await read(root, "things", ["id"]);
            assert.equal(t1.version, 0);
            assert.deepEqual(
              t1.schema.filter((c) => !c.name.startsWith("_ferry")),
              [
                // Hinted columns first (the schema creates them up front), then in the order the data has them.
                { name: "price", type: "decimal(10,2)" },
                { name: "clock", type: "string" },
                { name: "meta", type: "string" },
                { name: "id", type: "long" },
                { name: "name", type: "string" },
                { name: "ratio", type: "double" },
                { name: "active", type: "boolean" },
                { name: "created", type: "timestamp" },
                { name: "day", type: "date" },
                { name: "blob", type: "binary" },
                { name: "big", type: "long" },
              ],
            );
            assert.equal(t1.arrow.created, "timestamp[us, tz=UTC]");
            assert.equal(t1.arrow.price, "decimal128(10, 2)");
            const { _ferry_id, _ferry_load_id, ...row } = t1.rows[0]!;
            assert.deepEqual(row, {
              id: 1,
              name: "name 1",
              price: "1.25",
              ratio: 0.25,
              active: false,
              created: "2024-01-01T03:04:05.123456+00:00",
              day: "2024-02-01",
              clock: "01:30:00",
              meta: '{"k":1,"list":[1,2]}',
              blob: "01ff00",
              big: 9007199254740994,
            });
            assert.equal(_ferry_load_id, first.loadId);
            assert.equal(typeof _ferry_id, "string");
            const tags1 = await read(root, "things__tags", ["value"]);
            assert.deepEqual(
              tags1.rows.map((r) => r.value),
              ["t1", "t2", "u1", "u2"],
            );

            // A value that does not fit its column goes to a variant column, and a new column arrives: metaData update.
            const second = await p.run([{ id: 3, ratio: "not a number", color: "red" }], { table: "things" });
            const t2 = await read(root, "things", ["id"]);
            assert.equal(t2.version, 1);
            assert.deepEqual(t2.schema.slice(-2), [
              { name: "ratio__v_text", type: "string" },
              { name: "color", type: "string" },
            ]);
            assert.deepEqual(
              t2.rows.map((r) => [r.id, r.ratio, r.ratio__v_text, r.color]),
              [
                [1, 0.25, null, null],
                [2, 0.5, null, null],
                [3, null, "not a number", "red"],
              ],
            );

            // Replace: one commit that removes the old files and adds the new ones; the child table too.
            const third = await p.run(typedResource([4], "replace"));
            const t3 = await read(root, "things", ["id"]);
            assert.deepEqual(
              t3.rows.map((r) => r.id),
              [4],
            );
            assert.equal(t3.version, 2);
            assert.deepEqual(
              t3.history.map((h) => [h.version, h.operation, h.parameters?.mode, h.ferry?.loadId]),
              [
                [2, "WRITE", "Overwrite", third.loadId],
                [1, "WRITE", "Append", second.loadId],
                [0, "WRITE", "Append", first.loadId],
              ],
            );
            const tags3 = await read(root, "things__tags", ["value"]);
            assert.deepEqual(
              tags3.rows.map((r) => r.value),
              ["t4", "u4"],
            );
            assert.deepEqual(
              tags3.history.map((h) => h.parameters?.mode),
              ["Overwrite", "Append"],
              "the second load had no tags: no commit to the child table",
            );
            // ferry reads its Delta tables back with the same values and its own types.
            assert.deepEqual(
              await p
                .dataset()
                .sql(
                  "select id, price, clock, meta->>'k' as k, typeof(meta) as jt, typeof(clock) as tt, big, color from things",
                ),
              [
                {
                  id: 4,
                  price: 4.25,
                  clock: "04:30:00",
                  k: "4",
                  jt: "JSON",
                  tt: "TIME",
                  big: 9007199254740997n,
                  color: null,
                },
              ],
            );
            assert.deepEqual(await p.dataset().tables(), [
              "_ferry_loads",
              "_ferry_pipeline_state",
              "_ferry_version",
              "things",
              "things__tags",
            ]);
          },
          await backend.root(),
        ),
    );

    test(
      "merge: delete-insert by primary key with child tables, dedup and hard deletes; upsert",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const p = open(root, work);
            const users = (rows: object[], strategy: "delete-insert" | "upsert" = "delete-insert") =>
              resource(
                {
                  name: "users",
                  primaryKey: "id",
                  writeDisposition: { disposition: "merge", strategy },
                  columns: { deleted: { type: "bool", hardDelete: true } },
                },
                () => rows,
              );
            await p.run(
              users([
                { id: 1, name: "ada", roles: ["admin", "dev"] },
                { id: 2, name: "bob", roles: ["dev"] },
                { id: 3, name: "cy", roles: ["ops"] },
              ]),
            );
            // id 2 twice (the latest wins), id 3 deleted, id 4 new.
            const second = await p.run(
              users([
                { id: 2, name: "bob-old", roles: ["x"] },
                { id: 2, name: "bob2", roles: ["lead"] },
                { id: 3, deleted: true },
                { id: 4, name: "dee", roles: [] },
              ]),
            );
            const u = await read(root, "users", ["id"]);
            assert.deepEqual(
              u.rows.map((r) => [r.id, r.name]),
              [
                [1, "ada"],
                [2, "bob2"],
                [4, "dee"],
              ],
            );
            assert.deepEqual(
              u.history.map((h) => [h.operation, h.parameters?.strategy, h.ferry?.loadId]),
              [
                ["MERGE", "delete-insert", second.loadId],
                ["MERGE", "delete-insert", u.history[1]!.ferry?.loadId],
              ],
            );
            const roles = await read(root, "users__roles", ["value"]);
            const idOf = new Map(u.rows.map((r) => [r._ferry_id, r.id]));
            assert.deepEqual(
              roles.rows.map((r) => [idOf.get(r._ferry_root_id), r.value]).sort(),
              [
                [1, "admin"],
                [1, "dev"],
                [2, "lead"],
              ],
              "children of replaced and deleted users are gone, the winner's children came in",
            );

            // upsert: keys keep their ids; children of upserted keys are replaced.
            await p.run(
              users(
                [
                  { id: 1, name: "ada2", roles: ["root"] },
                  { id: 5, name: "eve" },
                ],
                "upsert",
              ),
            );
            const v = await read(root, "users", ["id"]);
            assert.deepEqual(
              v.rows.map((r) => [r.id, r.name]),
              [
                [1, "ada2"],
                [2, "bob2"],
                [4, "dee"],
                [5, "eve"],
              ],
            );
            assert.equal(v.history[0]!.parameters?.strategy, "upsert");
            assert.deepEqual(
              await p
                .dataset()
                .sql(
                  "select u.id, r.value from users u join users__roles r on r._ferry_root_id = u._ferry_id order by 1, 2",
                ),
              [
                { id: 1, value: "root" },
                { id: 2, value: "lead" },
              ],
            );
            assert.deepEqual(
              (await read(root, "users__roles")).rows.length,
              2,
              "no orphaned child rows in the Delta table",
            );
          },
          await backend.root(),
        ),
    );

    test("merge rewrites only the files that hold affected keys (copy-on-write)", TIMEOUT, async () =>
      withRoot(
        async (root, work) => {
          const p = open(root, work);
          const batch = (from: number, to: number, tag: string) =>
            resource({ name: "items", primaryKey: "id", writeDisposition: "merge" }, () =>
              Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, tag })),
            );
          await p.run(batch(1, 100, "a"));
          await p.run(batch(101, 200, "b"));
          await p.run(batch(201, 300, "c"));
          const before = await read(root, "items");
          assert.equal(before.files, 3);
          // Keys 150..160 live in the second load's file only.
          await p.run(batch(150, 160, "x"));
          const after = await read(root, "items", ["id"]);
          assert.equal(after.rows.length, 300);
          assert.deepEqual(
            after.rows.filter((r) => r.tag === "x").map((r) => r.id),
            Array.from({ length: 11 }, (_, i) => 150 + i),
          );
          const log = await root.store.get(
            `lake/items/_delta_log/${String(after.version).padStart(20, "0")}.json`,
          );
          const actions = log!
            .toString()
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
          const removed = actions.filter((a) => a.remove).map((a) => a.remove.path);
          assert.equal(removed.length, 1, "one file rewritten, two untouched");
          assert.equal(after.files, 3);
          const stats = JSON.parse(actions.find((a) => a.add).add.stats);
          assert.deepEqual(
            [stats.numRecords, stats.minValues.id, stats.maxValues.id, stats.nullCount.id],
            [100, 101, 200, 0],
            "the new file's statistics",
          );
        },
        await backend.root(),
      ),
    );

    test(
      "checkpoints every N commits with _last_checkpoint; readers and ferry start from them",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const p = open(root, work, {}, { delta: { checkpointInterval: 3 } });
            for (let i = 1; i <= 7; i++) await p.run([{ id: i, n: i * 10 }], { table: "ticks" });
            const log = (await keysUnder(root.store, "lake/ticks/_delta_log/")).map((k) =>
              k.split("/").pop(),
            );
            assert.deepEqual(
              log.filter((k) => !k!.endsWith(".json")),
              [
                "00000000000000000003.checkpoint.parquet",
                "00000000000000000006.checkpoint.parquet",
                "_last_checkpoint",
              ],
            );
            const last = JSON.parse(
              (await root.store.get("lake/ticks/_delta_log/_last_checkpoint"))!.toString(),
            );
            assert.deepEqual([last.version, last.numOfAddFiles, last.size], [6, 7, 9]);
            // Metadata cleanup may remove the commits a checkpoint covers: both readers still see every row.
            await root.store.delete(
              [0, 1, 2, 3, 4, 5].map((v) => `lake/ticks/_delta_log/${String(v).padStart(20, "0")}.json`),
            );
            const t = await read(root, "ticks", ["id"]);
            assert.equal(t.version, 6);
            assert.deepEqual(
              t.rows.map((r) => r.n),
              [10, 20, 30, 40, 50, 60, 70],
            );
            const q = open(root, work, { name: "reader" });
            assert.deepEqual(await q.dataset().sql("select sum(n) as s, count(*) as c from ticks"), [
              { s: 280, c: 7 },
            ]);
            await p.run([{ id: 8, n: 80 }], { table: "ticks" });
            assert.equal((await read(root, "ticks")).rows.length, 8);
          },
          await backend.root(),
        ),
    );
  });
}
