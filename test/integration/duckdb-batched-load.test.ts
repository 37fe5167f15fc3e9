// DuckDB loads all load files of a table with one INSERT (one large insert goes straight to the database file;
// many inserts in one transaction go through the WAL and are written again at checkpoint). These tests make
// packages of many small load files and check the rows, the jobs' bookkeeping and the error of a failed group.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { duckdb } from "../../src/destinations/duckdb/duckdb-destination.js";
import { memoryLimitBytes, readJsonMemoryNeed } from "../../src/destinations/duckdb/memory-limit.js";
import { LoadPackageFailedError, resource } from "../../src/index.js";
import { silentLogger } from "../../src/util/log.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

const records = (n: number, note: (i: number) => unknown = (i) => i) =>
  Array.from({ length: n }, (_, i) => ({ id: i, note: note(i), tags: [`t${i % 3}`, `u${i % 5}`] }));

describe("DuckDB: the load files of a table in one statement", () => {
  test("a table of many load files loads every row once and every job ends completed", async () => {
    // 32 KB load files: a few hundred rows each, so each table has many files.
    const { p, cleanup } = tempPipeline("batched", { dataset: "d", maxFileBytes: 32 * 1024 });
    try {
      const info = await p.run(resource({ name: "things" }, () => records(5000)));
      assert.deepEqual(info.rows, { things: 5000, things__tags: 10_000 });
      const [agg] = await p
        .dataset()
        .sql("SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, sum(id)::BIGINT AS s FROM things");
      assert.deepEqual(agg, { n: 5000, ids: 5000, s: (4999 * 5000) / 2 });
      const [tags] = await p
        .dataset()
        .sql(
          "SELECT count(*)::INT AS n FROM things__tags k JOIN things t ON k._ferry_parent_id = t._ferry_id",
        );
      assert.deepEqual(tags, { n: 10_000 });
      // A merge of the same rows goes through staging tables, also one statement per table.
      const merged = await p.run(
        resource({ name: "things", primaryKey: "id", writeDisposition: "merge" }, () =>
          records(5000, (i) => i * 2),
        ),
      );
      assert.equal(merged.rows.things, 5000);
      const [after] = await p.dataset().sql("SELECT count(*)::INT AS n, sum(note)::BIGINT AS s FROM things");
      assert.deepEqual(after, { n: 5000, s: 4999 * 5000 });
    } finally {
      cleanup();
    }
  });

  test("a group that fails names its last job and how many more, and nothing is loaded", async () => {
    const t = tempPipeline("batched_bad", { dataset: "ds", maxFileBytes: 32 * 1024 });
    try {
      const inst = await DuckDBInstance.create(t.dbPath);
      const conn = await inst.connect();
      await conn.run(
        "create schema ds; create table ds.things(_ferry_id varchar, _ferry_load_id varchar, id bigint, note bigint)",
      );
      conn.closeSync();
      inst.closeSync();
      // Row 4000 (a later load file) cannot go into the bigint column.
      const data = records(5000, (i) => (i === 4000 ? "not a number" : String(i)));
      const failure = await t.p
        .run(
          data.map(({ tags: _tags, ...r }) => r),
          { table: "things" },
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(failure instanceof LoadPackageFailedError, String(failure));
      assert.match(
        failure.message,
        /load job things\.\S+\.jsonl and \d+ more \(table things\) failed: .*Conversion Error/,
      );
      const failed = (await t.p.packages()).failed[0];
      assert.ok(failed);
      assert.deepEqual(await failed.jobs("failed"), [String(failure.fields.job)]);
      assert.deepEqual(await t.p.dataset().sql("select count(*)::int as n from ds.things"), [{ n: 0 }]);
    } finally {
      t.cleanup();
    }
  });
});

describe("DuckDB memory limit", () => {
  test("limits read as DuckDB writes them; anything else is left to DuckDB", () => {
    assert.equal(memoryLimitBytes("192MB"), 192e6);
    assert.equal(memoryLimitBytes("1GiB"), 2 ** 30);
    assert.equal(memoryLimitBytes(" 512 mb "), 512e6);
    assert.equal(memoryLimitBytes("2.5GB"), 2.5e9);
    assert.equal(memoryLimitBytes("80%"), undefined);
    assert.equal(memoryLimitBytes("lots"), undefined);
  });

  test("a load file with a 50 MB value needs more than the default limit, and gets it for its statement", () => {
    const need = readJsonMemoryNeed(51 * 2 ** 20);
    assert.ok(need > (memoryLimitBytes("192MB") ?? 0));
    assert.equal(need, 4 * 51 * 2 ** 20 + 64 * 2 ** 20);
    // One thread reads with half the buffers.
    assert.equal(readJsonMemoryNeed(51 * 2 ** 20, 1), 2 * 51 * 2 ** 20 + 64 * 2 ** 20);
    assert.equal(readJsonMemoryNeed(51 * 2 ** 20, 8), need);
  });

  test("the threads option and FERRY_DUCKDB_THREADS set DuckDB's worker threads; unset, DuckDB's default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-duckdb-threads-"));
    const threadsOf = async (d: ReturnType<typeof duckdb>) => {
      const client = await d.connect({ dataset: "d", pipelineName: "p", logger: silentLogger });
      try {
        const [row] = await client.sql("SELECT current_setting('threads')::INT AS n");
        return row?.n;
      } finally {
        await client.close();
      }
    };
    const saved = process.env.FERRY_DUCKDB_THREADS;
    try {
      delete process.env.FERRY_DUCKDB_THREADS;
      assert.equal(await threadsOf(duckdb({ path: join(dir, "a.duckdb"), threads: 1 })), 1);
      assert.equal(await threadsOf(duckdb({ path: join(dir, "a.duckdb") })), availableParallelism());
      process.env.FERRY_DUCKDB_THREADS = "1";
      assert.equal(await threadsOf(duckdb({ path: join(dir, "a.duckdb") })), 1);
    } finally {
      if (saved === undefined) delete process.env.FERRY_DUCKDB_THREADS;
      else process.env.FERRY_DUCKDB_THREADS = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("DuckDB storage of many small loads", () => {
  /** Row groups of `schema.table` and the most rows any of them holds, read from DuckDB's storage info. */
  async function rowGroups(path: string, table: string): Promise<{ groups: number; largest: number }> {
    const db = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
    const conn = await db.connect();
    try {
      const sql = `SELECT count(DISTINCT row_group_id)::INT AS groups, max(count)::INT AS largest FROM pragma_storage_info('${table}') WHERE column_name = 'id'`;
      return (await conn.runAndReadAll(sql)).getRowObjectsJson()[0] as { groups: number; largest: number };
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }

  test("rowGroupSize and FERRY_DUCKDB_ROW_GROUP_SIZE set the rows per row group; unset, DuckDB's 122,880", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-duckdb-rowgroups-"));
    const saved = process.env.FERRY_DUCKDB_ROW_GROUP_SIZE;
    const load = async (name: string, destination: ReturnType<typeof duckdb>) => {
      const t = tempPipeline(name, { dataset: "d", destination });
      await t.p.run(
        records(10_000).map(({ tags: _tags, ...r }) => r),
        { table: "things" },
      );
      t.cleanup();
    };
    try {
      delete process.env.FERRY_DUCKDB_ROW_GROUP_SIZE;
      await load("small", duckdb({ path: join(dir, "small.duckdb"), rowGroupSize: 2048 }));
      assert.deepEqual(await rowGroups(join(dir, "small.duckdb"), "d.things"), { groups: 5, largest: 2048 });
      await load("default", duckdb({ path: join(dir, "default.duckdb") }));
      assert.deepEqual(await rowGroups(join(dir, "default.duckdb"), "d.things"), {
        groups: 1,
        largest: 10_000,
      });
      process.env.FERRY_DUCKDB_ROW_GROUP_SIZE = "4096";
      await load("env", duckdb({ path: join(dir, "env.duckdb") }));
      assert.deepEqual(await rowGroups(join(dir, "env.duckdb"), "d.things"), { groups: 3, largest: 4096 });
    } finally {
      if (saved === undefined) delete process.env.FERRY_DUCKDB_ROW_GROUP_SIZE;
      else process.env.FERRY_DUCKDB_ROW_GROUP_SIZE = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
