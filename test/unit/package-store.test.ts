/**
 * The load package layer (src/package/): a package's stages on disk, the store's listing order and cleanup, job
 * files moving between states, failed and completed packages, typed state, and the upgrade of index and manifest
 * shapes written by earlier versions of ferry. Runs on real files in a temp dir.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileSafe, type LoadFileIndex, mergeIndex, readLoadFileIndex } from "../../src/package/load-files.js";
import { compareLoadIds, newLoadId } from "../../src/package/load-id.js";
import type { LoadPackage } from "../../src/package/load-package.js";
import { type PackageManifest, readPackageManifest } from "../../src/package/manifest.js";
import { PackageStore } from "../../src/package/package-store.js";
import { emptyState, type PipelineState } from "../../src/package/state.js";
import { Schema } from "../../src/schema/schema.js";

const root = mkdtempSync(join(tmpdir(), "ferry-pkg-unit-"));
after(() => rmSync(root, { recursive: true, force: true }));
let storeNo = 0;
/** A store in a fresh folder of its own. */
const newStore = () => new PackageStore(join(root, `p${storeNo++}`));

const manifest = (loadId: string): PackageManifest => ({
  loadId,
  pipelineName: "gh",
  schemaName: "gh",
  createdAt: "2024-01-02T03:04:05.000Z",
  tables: { issues: { resource: "issues", writeDisposition: "merge", primaryKey: ["id"] } },
  files: { issues: ["issues.0.jsonl"] },
  items: { issues: 2 },
  warnings: [],
});

/** Writes job files (any content) into a state folder of a package. */
function putJobs(pkg: LoadPackage, state: "new" | "started" | "completed" | "failed", names: string[]): void {
  mkdirSync(pkg.jobDir(state), { recursive: true });
  for (const n of names) writeFileSync(join(pkg.jobDir(state), n), `${n}\n`);
}

/** A package taken through normalize with the given job files in `jobs/new`. */
async function normalized(store: PackageStore, loadId: string, jobFiles: string[]): Promise<LoadPackage> {
  const pkg = await store.create(loadId);
  await pkg.writeManifest(manifest(loadId));
  const out = await pkg.resetNormalizing();
  for (const f of jobFiles) writeFileSync(join(out, f), "{}\n");
  await pkg.commitNormalized(Schema.empty("gh").toStored(), {
    index: { tables: {} },
    schemaChanges: [],
    warnings: [],
    rows: {},
  });
  return pkg;
}

describe("load ids", () => {
  test("newLoadId is <epoch ms>.<6 random characters> and sorts by its time", () => {
    const id = newLoadId(1_700_000_000_123);
    assert.match(id, /^1700000000123\.[0-9A-Za-z]{6}$/);
    assert.notEqual(newLoadId(5), newLoadId(5));
    assert.match(newLoadId(), /^\d{13}\.[0-9A-Za-z]{6}$/);
    const ids = [newLoadId(20_000), newLoadId(9_999), newLoadId(100_000)];
    assert.deepEqual(
      [...ids].sort(compareLoadIds).map((x) => x.split(".")[0]),
      ["9999", "20000", "100000"],
    );
  });

  test("compareLoadIds orders by numeric time first, then as text", () => {
    assert.deepEqual(["1700000000000.b", "999.a", "1700000000000.a", "5.z"].sort(compareLoadIds), [
      "5.z",
      "999.a",
      "1700000000000.a",
      "1700000000000.b",
    ]);
    assert.ok(compareLoadIds("999.a", "1700000000000.b") < 0);
    assert.ok(compareLoadIds("1700000000000.b", "999.a") > 0);
    assert.equal(compareLoadIds("7.x", "7.x"), 0);
    // Not numbered: compared as text.
    assert.ok(compareLoadIds("abc", "abd") < 0);
    assert.ok(compareLoadIds("5.a", "abc") < 0);
  });
});

describe("LoadPackage stages", () => {
  test("extracting -> extracted when the manifest is written -> normalized after commitNormalized", async () => {
    const store = newStore();
    const pkg = await store.create("100.a");
    assert.equal(pkg.dir, join(store.packagesDir, "100.a"));
    assert.ok(existsSync(pkg.extractedDir));
    assert.equal(await pkg.stage(), "extracting");
    assert.equal(await pkg.manifest(), undefined);

    writeFileSync(join(pkg.extractedDir, "issues.0.jsonl"), '{"id":1}\n');
    await pkg.writeManifest(manifest("100.a"));
    assert.equal(await pkg.stage(), "extracted");
    assert.deepEqual(await pkg.manifest(), manifest("100.a"));

    const out = await pkg.resetNormalizing();
    assert.equal(out, join(pkg.dir, "normalizing", "new"));
    writeFileSync(join(out, "issues.0000.jsonl"), '{"id":1}\n');
    // Normalize output in progress does not make the package normalized.
    assert.equal(await pkg.stage(), "extracted");
    const index: LoadFileIndex = {
      tables: { issues: { rows: 1, files: [{ id: "issues.0000.jsonl", format: "jsonl", maxLineBytes: 9 }] } },
    };
    const schema = Schema.empty("gh").toStored();
    await pkg.commitNormalized(schema, { index, schemaChanges: [], warnings: ["w"], rows: { issues: 1 } });
    assert.equal(await pkg.stage(), "normalized");
    assert.equal(existsSync(pkg.extractedDir), false);
    assert.equal(existsSync(pkg.normalizingDir), false);
    assert.deepEqual(await pkg.jobs("new"), ["issues.0000.jsonl"]);
    assert.deepEqual(await pkg.schema(), schema);
    assert.deepEqual(await pkg.normalizeManifest(), {
      index,
      schemaChanges: [],
      warnings: ["w"],
      rows: { issues: 1 },
    });
  });

  test("resetNormalizing drops the output of an interrupted attempt", async () => {
    const pkg = await newStore().create("1.a");
    const out = await pkg.resetNormalizing();
    writeFileSync(join(out, "half.0000.jsonl"), "{");
    writeFileSync(join(pkg.normalizingDir, "schema.json"), "{");
    await pkg.resetNormalizing();
    assert.deepEqual(readdirSync(pkg.normalizingDir), ["new"]);
    assert.deepEqual(readdirSync(out), []);
  });

  test("typed pipeline state round trip", async () => {
    const pkg = await newStore().create("1.a");
    assert.equal(await pkg.state(), undefined);
    const state: PipelineState = {
      ...emptyState("gh"),
      version: 3,
      schemaNames: ["gh"],
      lastLoadId: "0.z",
      sources: {
        github: {
          resources: {
            issues: {
              state: { etag: 'W/"x"' },
              incremental: { updated_at: { lastValue: "2024-01-01", boundaryHashes: ["h1", "h2"] } },
            },
          },
        },
      },
    };
    await pkg.writeState(state);
    assert.deepEqual(await pkg.state(), state);
    assert.deepEqual(emptyState("p"), { pipelineName: "p", version: 0, schemaNames: [], sources: {} });
  });
});

describe("PackageStore", () => {
  test("list() orders packages by load time, not as text, and skips hidden folders", async () => {
    const store = newStore();
    for (const id of ["1700000000000.b", "999.a", "1700000000000.a", "20000.c"]) await store.create(id);
    mkdirSync(join(store.packagesDir, ".30.x.removing"));
    assert.deepEqual(
      (await store.list()).map((p) => p.loadId),
      ["999.a", "20000.c", "1700000000000.a", "1700000000000.b"],
    );
    assert.deepEqual(await newStore().list(), []);
  });

  test("create() deletes `.<id>.removing` leftovers of a crashed remove, and nothing else", async () => {
    const store = newStore();
    const old = await store.create("5.a");
    writeFileSync(join(old.extractedDir, "t.0.jsonl"), "{}\n");
    mkdirSync(join(store.packagesDir, ".4.z.removing", "extracted"), { recursive: true });
    writeFileSync(join(store.packagesDir, ".4.z.removing", "extracted", "t.0.jsonl"), "{}\n");
    mkdirSync(join(store.packagesDir, ".keep"));
    await store.create("6.b");
    assert.deepEqual(readdirSync(store.packagesDir).sort(), [".keep", "5.a", "6.b"]);
    assert.ok(existsSync(join(old.extractedDir, "t.0.jsonl")));
  });

  test("remove() takes the package out of the list entirely, also over an old leftover", async () => {
    const store = newStore();
    const a = await store.create("1.a");
    await store.create("2.b");
    putJobs(a, "new", ["t.0000.jsonl"]);
    // A leftover of the same package from an earlier crash does not stop the rename.
    mkdirSync(join(store.packagesDir, ".1.a.removing", "jobs"), { recursive: true });
    await a.remove();
    assert.deepEqual(
      (await store.list()).map((p) => p.loadId),
      ["2.b"],
    );
    assert.deepEqual(readdirSync(store.packagesDir), ["2.b"]);
    // Removing again is a no-op.
    await a.remove();
    assert.deepEqual(readdirSync(store.packagesDir), ["2.b"]);
  });

  test("jobs() lists JSONL and typed CSV load files, sorted, not .exception files", async () => {
    const pkg = await newStore().create("1.a");
    putJobs(pkg, "failed", [
      "b.0000.jsonl",
      "a.csv0.csv",
      "b.0000.jsonl.exception",
      "a.csv0.csv.exception",
      "x.jsonl.1234.tmp",
    ]);
    assert.deepEqual(await pkg.jobs("failed"), ["a.csv0.csv", "b.0000.jsonl"]);
    assert.deepEqual(await pkg.jobs("started"), []);
  });

  test("moveJob moves one file between states; resetJobs brings every job back to new", async () => {
    const pkg = await normalized(newStore(), "1.a", [
      "a.0000.jsonl",
      "b.0000.jsonl",
      "c.csv0.csv",
      "d.0000.jsonl",
    ]);
    await pkg.moveJob("a.0000.jsonl", "new", "started");
    await pkg.moveJob("b.0000.jsonl", "new", "started");
    await pkg.moveJob("b.0000.jsonl", "started", "completed");
    await pkg.moveJob("c.csv0.csv", "new", "failed");
    writeFileSync(join(pkg.jobDir("failed"), "c.csv0.csv.exception"), "boom");
    assert.deepEqual(await pkg.jobs("new"), ["d.0000.jsonl"]);
    assert.deepEqual(await pkg.jobs("started"), ["a.0000.jsonl"]);
    assert.deepEqual(await pkg.jobs("completed"), ["b.0000.jsonl"]);
    assert.deepEqual(await pkg.jobs("failed"), ["c.csv0.csv"]);
    await assert.rejects(pkg.moveJob("nope.jsonl", "new", "started"), { code: "ENOENT" });

    await pkg.resetJobs();
    assert.deepEqual(await pkg.jobs("new"), ["a.0000.jsonl", "b.0000.jsonl", "c.csv0.csv", "d.0000.jsonl"]);
    for (const s of ["started", "completed", "failed"] as const) assert.deepEqual(await pkg.jobs(s), []);
    assert.equal(readFileSync(join(pkg.jobDir("new"), "c.csv0.csv"), "utf8"), "{}\n");
  });

  test("markFailed moves the package under failed/ with its files", async () => {
    const store = newStore();
    const pkg = await normalized(store, "3.c", ["t.0000.jsonl"]);
    await store.create("4.d");
    await pkg.moveJob("t.0000.jsonl", "new", "failed");
    writeFileSync(join(pkg.jobDir("failed"), "t.0000.jsonl.exception"), "bad value");
    const failed = await store.markFailed(pkg);
    assert.equal(failed.dir, join(store.failedDir, "3.c"));
    assert.equal(failed.loadId, "3.c");
    assert.deepEqual(
      (await store.list()).map((p) => p.loadId),
      ["4.d"],
    );
    assert.deepEqual(
      (await store.listFailed()).map((p) => p.loadId),
      ["3.c"],
    );
    assert.deepEqual(await failed.jobs("failed"), ["t.0000.jsonl"]);
    assert.equal(readFileSync(join(failed.jobDir("failed"), "t.0000.jsonl.exception"), "utf8"), "bad value");
    assert.equal(await failed.stage(), "normalized");
  });

  test("markCompleted writes the record, removes the package and keeps only the newest `keep` records", async () => {
    const store = newStore();
    const ids = ["1700000000000.a", "999.b", "20000.c", "5.d"];
    for (const id of ids) {
      const pkg = await normalized(store, id, ["t.0000.jsonl"]);
      await store.markCompleted(
        pkg,
        { loadId: id, completedAt: "2024-01-02T00:00:00.000Z", rows: { t: 1 }, schemaVersion: 2 },
        3,
      );
    }
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(readdirSync(store.packagesDir), []);
    // "5.d" came last but is the oldest by load id: it is the one dropped.
    assert.deepEqual(readdirSync(store.completedDir).sort(compareLoadIds), [
      "999.b.json",
      "20000.c.json",
      "1700000000000.a.json",
    ]);
    assert.deepEqual(JSON.parse(readFileSync(join(store.completedDir, "999.b.json"), "utf8")), {
      loadId: "999.b",
      completedAt: "2024-01-02T00:00:00.000Z",
      rows: { t: 1 },
      schemaVersion: 2,
    });
  });
});

describe("stored shapes of earlier versions", () => {
  const layout = { columns: ["id"], constants: { _ferry_load_id: "1.a" }, uniqueIds: ["_ferry_id"] };

  test("readLoadFileIndex: file names with details in maps become format-keyed entries", () => {
    const legacy = {
      tables: {
        issues: {
          rows: 7,
          files: ["issues.0000.jsonl", "issues.0001.jsonl"],
          maxLineBytes: { "issues.0000.jsonl": 812 },
        },
        orders: {
          rows: 5,
          files: ["orders.csv0.csv", "orders.csv1.csv", "orders.0000.jsonl"],
          typedCsv: { "orders.csv0.csv": layout, "orders.csv1.csv": layout },
          typedCsvRows: { "orders.csv0.csv": 3 },
        },
      },
    };
    assert.deepEqual(readLoadFileIndex(legacy), {
      tables: {
        issues: {
          rows: 7,
          files: [
            { id: "issues.0000.jsonl", format: "jsonl", maxLineBytes: 812 },
            { id: "issues.0001.jsonl", format: "jsonl" },
          ],
        },
        orders: {
          rows: 5,
          files: [
            { id: "orders.csv0.csv", format: "typed_csv", layout, rows: 3 },
            { id: "orders.csv1.csv", format: "typed_csv", layout },
            { id: "orders.0000.jsonl", format: "jsonl" },
          ],
        },
      },
    });
    const current: LoadFileIndex = {
      tables: { t: { rows: 1, files: [{ id: "t.0000.jsonl", format: "jsonl", maxLineBytes: 3 }] } },
    };
    assert.deepEqual(readLoadFileIndex(current), current);
  });

  test("a normalized package whose normalize.json has the old index reads back in the new shape", async () => {
    const pkg = await normalized(newStore(), "1.a", []);
    const stored = {
      index: { tables: { t: { rows: 2, files: ["t.0000.jsonl"], maxLineBytes: { "t.0000.jsonl": 40 } } } },
    };
    writeFileSync(
      join(pkg.jobsDir, "normalize.json"),
      JSON.stringify({ ...stored, schemaChanges: [], warnings: [], rows: { t: 2 } }),
    );
    assert.deepEqual((await pkg.normalizeManifest())?.index, {
      tables: { t: { rows: 2, files: [{ id: "t.0000.jsonl", format: "jsonl", maxLineBytes: 40 }] } },
    });
  });

  test("readPackageManifest: `typedCsv` becomes `wholeFiles` with format typed_csv", async () => {
    const columns = [{ name: "id", type: "bigint" as const }];
    const stored = {
      ...manifest("1.a"),
      typedCsv: { orders: [{ file: "orders.csv0.csv", columns, rows: 3 }] },
    };
    const { typedCsv: _drop, ...rest } = stored;
    const expected = {
      ...rest,
      wholeFiles: { orders: [{ file: "orders.csv0.csv", format: "typed_csv", columns, rows: 3 }] },
    };
    assert.deepEqual(readPackageManifest(stored), expected);
    assert.deepEqual(readPackageManifest(manifest("2.b")), manifest("2.b"));

    const pkg = await newStore().create("1.a");
    writeFileSync(join(pkg.dir, "manifest.json"), JSON.stringify(stored));
    assert.deepEqual(await pkg.manifest(), expected);
  });
});

describe("load-file index helpers", () => {
  test("mergeIndex adds files and rows table by table without sharing arrays", () => {
    const into: LoadFileIndex = {
      tables: { a: { rows: 2, files: [{ id: "a.0000.jsonl", format: "jsonl" }] } },
    };
    const add: LoadFileIndex = {
      tables: {
        a: { rows: 3, files: [{ id: "a.w1.0000.jsonl", format: "jsonl", maxLineBytes: 9 }] },
        b: { rows: 1, files: [{ id: "b.0000.jsonl", format: "jsonl" }] },
      },
    };
    mergeIndex(into, add);
    assert.deepEqual(into, {
      tables: {
        a: {
          rows: 5,
          files: [
            { id: "a.0000.jsonl", format: "jsonl" },
            { id: "a.w1.0000.jsonl", format: "jsonl", maxLineBytes: 9 },
          ],
        },
        b: { rows: 1, files: [{ id: "b.0000.jsonl", format: "jsonl" }] },
      },
    });
    into.tables.b?.files.push({ id: "b.0001.jsonl", format: "jsonl" });
    assert.equal(add.tables.b?.files.length, 1);
  });

  test("fileSafe keeps short lowercase names and hashes every other name", () => {
    assert.equal(fileSafe("orders"), "orders");
    assert.equal(fileSafe("order_items_2"), "order_items_2");
    assert.equal(fileSafe("a".repeat(60)), "a".repeat(60));
    for (const name of ["a".repeat(61), "Orders", "Größe", "../etc", "a b", "x.y", ""]) {
      assert.match(fileSafe(name), /^t_[a-z2-7]{10}$/, name);
    }
    assert.equal(fileSafe("Größe"), fileSafe("Größe"));
    assert.notEqual(fileSafe("Orders"), fileSafe("ORDERS"));
  });
});
