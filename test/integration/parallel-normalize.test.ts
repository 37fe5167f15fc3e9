import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeItem } from "../../src/formats/item-codec.js";
import { type NormalizeRequest, normalizePackage } from "../../src/normalize/index.js";
import type { LoadFileIndex } from "../../src/package/load-files.js";
import type { TableHints } from "../../src/package/table-hints.js";
import { Schema } from "../../src/schema/schema.js";

/** Writes extracted files the way the extract step does: one encoded item per line. */
function extracted(dir: string, files: unknown[][]): string[] {
  mkdirSync(dir, { recursive: true });
  return files.map((items, i) => {
    const path = join(dir, `users.${i}.jsonl`);
    writeFileSync(path, `${items.map((it) => encodeItem(it, { skipped: new Map() })).join("\n")}\n`);
    return path;
  });
}

const hints: TableHints = {
  resource: "users",
  writeDisposition: "merge",
  mergeStrategy: "delete-insert",
  primaryKey: ["id"],
};

/** normalizePackage with an output folder of its own and no whole files. */
function normalizeFiles(
  r: Omit<NormalizeRequest, "wholeFiles" | "resetOutput" | "workers"> & { workers: number },
) {
  const resetOutput = async () => {
    await rm(r.outDir, { recursive: true, force: true });
    await mkdir(r.outDir, { recursive: true });
  };
  return normalizePackage({ ...r, wholeFiles: [], resetOutput });
}

/** The load file names of a table. */
const filesOf = (index: LoadFileIndex, table: string): string[] =>
  (index.tables[table]?.files ?? []).map((f) => f.id);

async function normalize(files: string[], workers: number, out: string) {
  mkdirSync(out, { recursive: true });
  const schema = Schema.empty("s");
  const result = await normalizeFiles({
    inputs: [{ table: "users", hints, files }],
    schema,
    loadId: "1.x",
    outDir: out,
    maxIdentifierLength: 120,
    workers,
  });
  return { schema: schema.toStored(), result };
}

/** All rows of a table across its load files, without the random root ids (and merge sequence numbers). */
function rows(out: string, files: string[], keepSeq = false): Record<string, unknown>[] {
  return files
    .flatMap((f) => readFileSync(join(out, f), "utf8").trim().split("\n"))
    .map((l) => {
      const row = JSON.parse(l) as Record<string, unknown>;
      const { _ferry_id, _ferry_parent_id, _ferry_root_id, _ferry_seq, ...rest } = row;
      return keepSeq ? { ...rest, _ferry_seq } : rest;
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

test("workers give the same schema, rows and merge order as one thread", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-par-"));
  try {
    const files = extracted(join(dir, "in"), [
      [
        { id: 1, name: "a", tags: ["x"] },
        { id: 2, name: "b", address: { city: "Rome" } },
      ],
      [
        { id: 1, name: "a2", score: 1.5 },
        { id: 3, name: "c", tags: ["y", "z"] },
      ],
      [{ id: 4, name: "d", createdAt: "2024-01-01T00:00:00Z" }],
    ]);
    const one = await normalize(files, 1, join(dir, "one"));
    const two = await normalize(files, 2, join(dir, "two"));
    const cols = (s: typeof one.schema, t: string) =>
      Object.values(s.tables[t]?.columns ?? {})
        .map((c) => [c.name, c.type, c.origin])
        .sort();
    assert.deepEqual(Object.keys(two.schema.tables).sort(), Object.keys(one.schema.tables).sort());
    for (const t of Object.keys(one.schema.tables))
      assert.deepEqual(cols(two.schema, t), cols(one.schema, t));
    assert.deepEqual(two.result.stats.rows, one.result.stats.rows);
    assert.deepEqual(two.result.stats.rows, { users: 5, users__tags: 3 });
    assert.deepEqual(
      [...filesOf(two.result.index, "users")].sort(),
      ["users.m.0000.jsonl", "users.w0.0000.jsonl", "users.w1.0000.jsonl"],
      "the first file here, then one file per worker",
    );
    assert.deepEqual(
      rows(join(dir, "two"), filesOf(two.result.index, "users")),
      rows(join(dir, "one"), filesOf(one.result.index, "users")),
    );
    // "Latest wins" follows the files' order whichever worker read them: id 1 from file 1 outranks file 0.
    const seqOf = (out: string, files: string[], name: string) =>
      rows(out, files, true).find((r) => r.name === name)?._ferry_seq as number;
    const f2 = filesOf(two.result.index, "users");
    assert.ok(seqOf(join(dir, "two"), f2, "a2") > seqOf(join(dir, "two"), f2, "a"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("when workers disagree on a type, one thread decides and the result equals the sequential one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-par-"));
  try {
    // File 0 (normalized first, here) has no `code`; file 1 makes it text, file 2 alone would make it bigint. In
    // order, 7 becomes the text "7".
    const files = extracted(join(dir, "in"), [[{ id: 0 }], [{ id: 1, code: "A1" }], [{ id: 2, code: 7 }]]);
    const one = await normalize(files, 1, join(dir, "one"));
    const two = await normalize(files, 2, join(dir, "two"));
    assert.equal(two.schema.tables.users?.columns.code?.type, "text");
    assert.equal(two.schema.tables.users?.columns.code__v_bigint, undefined);
    assert.deepEqual(two.schema.tables.users?.columns, one.schema.tables.users?.columns);
    assert.deepEqual(
      rows(join(dir, "two"), filesOf(two.result.index, "users")).map((r) => r.code),
      [undefined, "A1", "7"],
    );
    assert.ok(
      filesOf(two.result.index, "users").every((f) => !f.includes(".w")),
      "the one-thread result was kept",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a contract violation in a worker arrives as a SchemaContractError", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-par-"));
  try {
    const files = extracted(join(dir, "in"), [[{ id: 1 }], [{ id: 2, extra: "x" }]]);
    const schema = Schema.empty("s");
    schema.addTable({ name: "users", columns: {} });
    schema.addColumn("users", { name: "id", type: "bigint" });
    for (const c of ["_ferry_id", "_ferry_load_id"])
      schema.addColumn("users", { name: c, type: "text", origin: "" });
    mkdirSync(join(dir, "out"));
    await assert.rejects(
      normalizeFiles({
        inputs: [{ table: "users", hints: { ...hints, schemaContract: { columns: "freeze" } }, files }],
        schema,
        loadId: "1.x",
        outDir: join(dir, "out"),
        maxIdentifierLength: 120,
        workers: 2,
      }),
      (e: Error) =>
        e.name === "SchemaContractError" && /rejects new column "extra" of type text/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a pipeline whose package spans several extracted files loads the same with 1 and 2 workers", async () => {
  const { tempPipeline } = await import("../helpers/tmp-pipeline.js");
  const { resource } = await import("../../src/index.js");
  // ~40 MB of extracted items (three 16 MB files); ids repeat, so merge must keep the latest of each.
  const data = function* () {
    for (let i = 0; i < 60_000; i++) {
      yield { id: i % 40_000, round: i, pad: "x".repeat(500), tags: [i % 3, i % 5] };
    }
  };
  const results: unknown[] = [];
  for (const workers of [1, 2]) {
    const t = tempPipeline(`par${workers}`, { normalizeWorkers: workers });
    try {
      const info = await t.p.run(
        resource({ name: "users", primaryKey: "id", writeDisposition: "merge" }, data),
      );
      assert.deepEqual(info.rows, { users: 60_000, users__tags: 120_000 });
      const [stats] = await t.p
        .dataset()
        .sql(
          "select count(*) as n, count(distinct id) as d, sum(round) as s, (select count(*) from users__tags) as tags from users",
        );
      results.push(stats);
    } finally {
      t.cleanup();
    }
  }
  // 40,000 keys; the survivors are rounds 20,000..59,999 for ids 0..19,999 and 20,000..39,999 for the rest.
  const expectedSum = ((20_000 + 59_999) * 40_000) / 2;
  assert.deepEqual(results[0], { n: 40_000, d: 40_000, s: expectedSum, tags: 80_000 });
  assert.deepEqual(results[1], results[0]);
});
