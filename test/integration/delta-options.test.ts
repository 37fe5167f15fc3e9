// How Delta tables are asked for and what is refused: table_format on the destination (option, URL), per resource
// (ferry's tableFormat, dlt's table_format in REST configs) next to plain files, destinations that do not write Delta,
// tables that would change format, stores without a working conditional put; a load that fails half-way has its
// commits undone; a pipeline on a new machine restores its state from a Delta dataset. Local disk (what is tested
// here does not depend on the store; the store suites run the Delta bodies on every backend).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import {
  ConfigError,
  type DestinationError,
  isFerryError,
  type ObjectStore,
  pipeline,
  resource,
  silentLogger,
  source,
} from "../../src/index.js";
import { resolveDestination } from "../../src/pipeline/destination-url.js";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { LocalStore } from "../../src/storage/local/local-store.js";
import type { FakeRoute } from "../../src/testing/index.js";
import { deltaPython, readDelta, runPython } from "../helpers/delta-reader.js";
import { RecordingStore } from "../helpers/filesystem-backends.js";
import { withApi } from "../helpers/rest-api.js";

const { python, skip } = deltaPython();
const get = (path: string, json: () => unknown): FakeRoute => ({ path, handler: () => ({ json: json() }) });
const TIMEOUT = { timeout: 120_000 };

/** A lake folder and a working dir for one test, removed after it. */
async function withLake(fn: (lake: string, work: string) => Promise<void>): Promise<void> {
  const lake = mkdtempSync(join(tmpdir(), "ferry-delta-"));
  const work = mkdtempSync(join(tmpdir(), "ferry-"));
  try {
    await fn(lake, work);
  } finally {
    rmSync(lake, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

const isDeltaTable = (lake: string, table: string) => existsSync(join(lake, "lake", table, "_delta_log"));

describe("asking for Delta tables", { skip }, () => {
  test("?table_format=delta on the URL: the destination merges and keeps the setting in its URL", async () => {
    const d = await resolveDestination("file:///tmp/lake?table_format=delta", "p");
    assert.deepEqual(d.capabilities.mergeStrategies, ["delete-insert", "upsert"]);
    assert.equal(d.url, "file:///tmp/lake?table_format=delta");
    const plain = await resolveDestination("file:///tmp/lake", "p");
    assert.deepEqual(plain.capabilities.mergeStrategies, []);
    assert.deepEqual(plain.capabilities.tableFormats?.delta?.mergeStrategies, ["delete-insert", "upsert"]);
  });

  test("settings that cannot go with Delta tables are refused when the destination is made", () => {
    const refused: Array<[() => unknown, RegExp]> = [
      [
        () => filesystem({ url: "file:///tmp/l", tableFormat: "delta", format: "jsonl" }),
        /Delta tables store Parquet files, not jsonl/,
      ],
      [
        () =>
          filesystem({
            url: "file:///tmp/l?table_format=delta&layout={table}/{YYYY}/{load_id}.{file_id}.{ext}",
          }),
        /a layout does not apply to Delta tables/,
      ],
      [() => filesystem({ url: "file:///tmp/l?table_format=iceberg" }), /unknown table format "iceberg"/],
      [
        () => filesystem({ url: "file:///tmp/l", tableFormat: "delta", delta: { checkpointInterval: 0 } }),
        /checkpointInterval must be a whole number of commits >= 1, got 0/,
      ],
      [
        () => filesystem({ url: "file:///tmp/l", tableFormat: "delta", delta: { targetFileSize: 10 } }),
        /targetFileSize must be at least 1 MiB/,
      ],
    ];
    for (const [make, message] of refused)
      assert.throws(make, (e: Error) => e instanceof ConfigError && message.test(e.message));
  });

  test(
    "tableFormat per resource: Delta and plain tables side by side; merge only into the Delta one",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const p = pipeline({
          name: "mixed",
          destination: pathToFileURL(lake).href,
          dataset: "lake",
          dir: work,
          logger: silentLogger,
        });
        const users = resource(
          { name: "users", primaryKey: "id", writeDisposition: "merge", tableFormat: "delta" },
          () => [
            { id: 1, name: "a" },
            { id: 2, name: "b", roles: ["x"] },
          ],
        );
        const events = resource({ name: "events" }, () => [{ id: 1, what: "signup" }]);
        await p.run(source({ name: "app", resources: [users, events] }));
        // The same source (one schema, which knows the child table): user 2 loses its role.
        const users2 = resource(
          { name: "users", primaryKey: "id", writeDisposition: "merge", tableFormat: "delta" },
          () => [{ id: 2, name: "B" }],
        );
        await p.run(source({ name: "app", resources: [users2] }));
        assert.equal(isDeltaTable(lake, "users"), true);
        assert.equal(isDeltaTable(lake, "users__roles"), true, "child tables follow their root");
        assert.equal(isDeltaTable(lake, "events"), false);
        assert.ok(readdirSync(join(lake, "lake", "events")).some((f) => f.endsWith(".parquet")));
        assert.deepEqual(await p.dataset().sql("select id, name from users order by id"), [
          { id: 1, name: "a" },
          { id: 2, name: "B" },
        ]);
        assert.deepEqual(await p.dataset().sql("select what from events"), [{ what: "signup" }]);
        const u = await readDelta(python, join(lake, "lake", "users"), {}, ["id"]);
        assert.deepEqual(
          u.rows.map((r) => r.name),
          ["a", "B"],
        );
        assert.equal((await readDelta(python, join(lake, "lake", "users__roles"))).rows.length, 0);
        // A merge into plain files is still refused before extracting, pointing at Delta tables.
        await assert.rejects(
          p.run([{ id: 1 }], { table: "events", primaryKey: "id", writeDisposition: "merge" }),
          (e: Error) =>
            e instanceof ConfigError &&
            /cannot merge/.test(e.message) &&
            /tableFormat: "delta"/.test(e.hint ?? ""),
        );
      }),
  );

  test(
    "dlt's table_format: delta in a REST config; a SQL destination refuses it before any request",
    TIMEOUT,
    async () =>
      withApi(
        [
          get("/posts", () => [
            { id: 1, title: "a" },
            { id: 2, title: "b" },
          ]),
          get("/tags", () => [{ name: "t" }]),
        ],
        (api) =>
          withLake(async (lake, work) => {
            const config = {
              client: { base_url: api.url },
              resources: [
                {
                  name: "posts",
                  primary_key: "id",
                  write_disposition: "merge" as const,
                  table_format: "delta" as const,
                },
                { name: "tags", table_format: "native" as const },
              ],
            };
            const p = pipeline({
              name: "rest",
              destination: pathToFileURL(lake).href,
              dataset: "lake",
              dir: work,
              logger: silentLogger,
            });
            const info = await p.run(restApiSource(config));
            assert.deepEqual(info.rows, { posts: 2, tags: 1 });
            assert.equal(isDeltaTable(lake, "posts"), true);
            assert.equal(isDeltaTable(lake, "tags"), false);
            const posts = await readDelta(python, join(lake, "lake", "posts"), {}, ["id"]);
            assert.deepEqual(
              posts.rows.map((r) => r.title),
              ["a", "b"],
            );
            assert.equal(posts.history[0]!.operation, "MERGE");
            const requests = api.requests.length;
            const sql = pipeline({
              name: "rest-sql",
              destination: "duckdb::memory:",
              dir: work,
              logger: silentLogger,
            });
            await assert.rejects(sql.run(restApiSource(config)), (e: Error) => {
              assert.ok(e instanceof ConfigError, String(e));
              assert.match(
                e.message,
                /does not write delta tables: resource "posts" asks for tableFormat "delta"/,
              );
              assert.match(e.hint ?? "", /filesystem destination/);
              return true;
            });
            assert.equal(api.requests.length, requests, "nothing was requested");
          }),
      ),
  );

  test("a table keeps its format: plain files do not become a Delta table in place", TIMEOUT, async () =>
    withLake(async (lake, work) => {
      const url = pathToFileURL(lake).href;
      const plain = pipeline({
        name: "f",
        destination: url,
        dataset: "lake",
        dir: work,
        logger: silentLogger,
      });
      await plain.run([{ id: 1 }], { table: "things" });
      const delta = pipeline({
        name: "f",
        destination: `${url}?table_format=delta`,
        dataset: "lake",
        dir: work,
        logger: silentLogger,
      });
      await assert.rejects(delta.run([{ id: 2 }], { table: "things" }), (e: Error) => {
        assert.ok(isFerryError(e), String(e));
        assert.match(
          e.message,
          /table "things" holds plain files from earlier loads: it cannot become a Delta table in place/,
        );
        return true;
      });
      assert.equal(isDeltaTable(lake, "things"), false, "nothing was committed");
      assert.deepEqual(await plain.dataset().sql("select id from things"), [{ id: 1 }]);
    }),
  );
});

/** A store that refuses the commit of one table's log entry: a terminal error at that point of a load. */
function failingAt(inner: ObjectStore, table: string): RecordingStore {
  const store = new RecordingStore(inner);
  store.before = async (op, key) => {
    if (op === "putIfAbsent" && key.includes(`/${table}/_delta_log/`)) throw new Error(`disk refused ${key}`);
  };
  return store;
}

describe("failures and restores of Delta loads", { skip }, () => {
  test(
    "a load that fails after one table's commit has that commit undone: nothing of it stays",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const items = (tag: string) => [
          { id: 1, tag, children: [{ k: 1 }] },
          { id: 2, tag, children: [{ k: 2 }] },
        ];
        const ok = pipeline({
          name: "u",
          destination: `${pathToFileURL(lake).href}?table_format=delta`,
          dataset: "lake",
          dir: work,
          logger: silentLogger,
        });
        await ok.run(items("a"), { table: "items" });
        const store = failingAt(new LocalStore(lake), "items__children");
        const p = pipeline({
          name: "u",
          destination: filesystem({ store, tableFormat: "delta" }),
          dataset: "lake",
          dir: work,
          logger: silentLogger,
          retry: { attempts: 1, initialDelayMs: 1 },
        });
        await assert.rejects(p.run(items("b"), { table: "items" }), (e: Error) => {
          assert.ok(isFerryError(e, "load_failed"), String(e));
          assert.match(e.message, /disk refused/);
          return true;
        });
        const t = await readDelta(python, join(lake, "lake", "items"), {}, ["id"]);
        assert.deepEqual(
          t.rows.map((r) => r.tag),
          ["a", "a"],
          "the second load's rows were taken out again",
        );
        assert.deepEqual(
          t.history.map((h) => [h.operation, h.ferry?.undoes]),
          [
            ["RESTORE", 1],
            ["WRITE", undefined],
            ["WRITE", undefined],
          ],
        );
        assert.equal((await readDelta(python, join(lake, "lake", "items__children"))).rows.length, 2);
        assert.deepEqual(await ok.dataset().sql("select count(*) as n from items"), [{ n: 2 }]);
        // Running the same data again loads it exactly once.
        await ok.run(items("b"), { table: "items" });
        const again = await readDelta(python, join(lake, "lake", "items"), {}, ["tag", "id"]);
        assert.deepEqual(
          again.rows.map((r) => r.tag),
          ["a", "a", "b", "b"],
        );
        // Both tables committed, then the pipeline state cannot be written: both commits are undone.
        const stateFails = new RecordingStore(new LocalStore(lake));
        stateFails.before = async (op, key) => {
          if (op === "put" && key.includes("/_ferry_pipeline_state/")) throw new Error("state refused");
        };
        const r = pipeline({
          name: "u",
          destination: filesystem({ store: stateFails, tableFormat: "delta" }),
          dataset: "lake",
          dir: work,
          logger: silentLogger,
          retry: { attempts: 1, initialDelayMs: 1 },
        });
        await assert.rejects(r.run(items("c"), { table: "items" }), /state refused/);
        const undone = await readDelta(python, join(lake, "lake", "items"), {}, ["tag", "id"]);
        assert.deepEqual(
          undone.rows.map((x) => x.tag),
          ["a", "a", "b", "b"],
        );
        assert.deepEqual(
          undone.history.slice(0, 2).map((h) => h.operation),
          ["RESTORE", "WRITE"],
        );
        const children = await readDelta(python, join(lake, "lake", "items__children"));
        assert.equal(children.rows.length, 4);
        assert.equal(children.history[0]!.operation, "RESTORE");
      }),
  );

  test(
    "a store whose conditional put overwrites, or that has none, is refused before any commit",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const inner = new LocalStore(lake);
        const without: ObjectStore = {
          description: "no-cas",
          putFile: (k, f) => inner.putFile(k, f),
          put: (k, b) => inner.put(k, b),
          get: (k) => inner.get(k),
          getFile: (k, f) => inner.getFile(k, f),
          list: (pfx) => inner.list(pfx),
          delete: (keys) => inner.delete(keys),
          close: async () => {},
        };
        // A store that answers "created" and overwrites (an S3-compatible store that ignores If-None-Match).
        const overwriting: ObjectStore = {
          ...without,
          description: "overwriting",
          putIfAbsent: async (key, body) => {
            await inner.put(key, body);
            return true;
          },
        };
        const p = pipeline({
          name: "o",
          destination: filesystem({ store: overwriting, tableFormat: "delta" }),
          dataset: "lake",
          dir: work,
          logger: silentLogger,
          retry: { attempts: 1, initialDelayMs: 1 },
        });
        await assert.rejects(p.run([{ id: 1 }], { table: "t" }), (e: Error) => {
          assert.match(
            e.message,
            /does not honour conditional writes: a put-if-absent of an existing object replaced it/,
          );
          assert.match(
            (e.cause as DestinationError)?.hint ?? (e as DestinationError).hint ?? "",
            /If-None-Match/,
          );
          return true;
        });
        const q = pipeline({
          name: "n",
          destination: filesystem({ store: without, tableFormat: "delta" }),
          dataset: "lake",
          dir: work,
          logger: silentLogger,
          retry: { attempts: 1, initialDelayMs: 1 },
        });
        await assert.rejects(
          q.run([{ id: 1 }], { table: "t" }),
          /store no-cas cannot write Delta tables: it has no conditional put/,
        );
        assert.equal(isDeltaTable(lake, "t"), false);
      }),
  );

  test(
    "dropping the pipeline deletes its Delta tables; the next run starts them at version 0",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const url = `${pathToFileURL(lake).href}?table_format=delta`;
        const p = pipeline({ name: "d", destination: url, dataset: "lake", dir: work, logger: silentLogger });
        await p.run([{ id: 1, tags: ["a"] }], { table: "things" });
        await p.run([{ id: 2, tags: ["b"] }], { table: "things" });
        const { droppedTables } = await p.drop();
        assert.ok(
          droppedTables.includes("things") && droppedTables.includes("things__tags"),
          String(droppedTables),
        );
        const store = new LocalStore(lake);
        assert.deepEqual(await store.list("lake/things/"), [], "data files and log are gone");
        assert.deepEqual(await store.list("lake/things__tags/"), []);
        const q = pipeline({ name: "d", destination: url, dataset: "lake", dir: work, logger: silentLogger });
        await q.run([{ id: 3 }], { table: "things" });
        const t = await readDelta(python, join(lake, "lake", "things"));
        assert.deepEqual([t.version, t.rows.map((r) => r.id)], [0, [3]]);
      }),
  );

  test(
    "a table another writer made (delta-rs, with a checkpoint): ferry merges into it, delta-rs reads it",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const table = join(lake, "lake", "people");
        await runPython(
          python,
          [
            "import pyarrow as pa",
            "from deltalake import write_deltalake, DeltaTable",
            "t = pa.table({'id': pa.array([1, 2, 3], pa.int64()), 'name': ['a', 'b', 'c']})",
            `write_deltalake(${JSON.stringify(table)}, t)`,
            `write_deltalake(${JSON.stringify(table)}, t.slice(2, 1), mode='append')`,
            `DeltaTable(${JSON.stringify(table)}).create_checkpoint()`,
          ].join("\n"),
        );
        const p = pipeline({
          name: "other",
          destination: `${pathToFileURL(lake).href}?table_format=delta`,
          dataset: "lake",
          dir: work,
          logger: silentLogger,
        });
        await p.run(
          [
            { id: 2, name: "B" },
            { id: 3, name: "C" },
            { id: 9, name: "z" },
          ],
          { table: "people", primaryKey: "id", writeDisposition: "merge" },
        );
        const t = await readDelta(python, table, {}, ["id"]);
        assert.deepEqual(
          t.rows.map((r) => [r.id, r.name]),
          [
            [1, "a"],
            [2, "B"],
            [3, "C"],
            [9, "z"],
          ],
          "both copies of 3 that delta-rs wrote were replaced",
        );
        assert.deepEqual(
          t.history.map((h) => h.operation),
          ["MERGE", "WRITE", "WRITE"],
        );
        assert.deepEqual(
          t.schema.map((c) => c.name),
          ["id", "name", "_ferry_id", "_ferry_load_id"],
          "ferry's columns joined the table's schema after its own",
        );
      }),
  );

  test(
    "on a new machine the pipeline restores state and schema from a Delta dataset and goes on",
    TIMEOUT,
    async () =>
      withLake(async (lake, work) => {
        const url = `${pathToFileURL(lake).href}?table_format=delta`;
        const feed = (upTo: number) =>
          resource(
            {
              name: "feed",
              primaryKey: "id",
              writeDisposition: "merge",
              incremental: { cursor: "id", initialValue: 0 },
            },
            function* (ctx) {
              for (let id = Number(ctx.incremental.startValue) + 1; id <= upTo; id++) yield { id };
            },
          );
        const first = pipeline({
          name: "feed",
          destination: url,
          dataset: "lake",
          dir: join(work, "a"),
          logger: silentLogger,
        });
        await first.run(feed(5));
        const second = pipeline({
          name: "feed",
          destination: url,
          dataset: "lake",
          dir: join(work, "b"),
          logger: silentLogger,
        });
        const info = await second.run(feed(8));
        assert.deepEqual(
          info.rows,
          { feed: 3 },
          "only the new records: the cursor came from the destination",
        );
        const t = await readDelta(python, join(lake, "lake", "feed"), {}, ["id"]);
        assert.deepEqual(
          t.rows.map((r) => r.id),
          [1, 2, 3, 4, 5, 6, 7, 8],
        );
      }),
  );
});
