// Crash recovery on the filesystem destination: a child process (test/fixtures/crash-child.ts) is killed with SIGKILL
// after some data files of a load were uploaded but before its _ferry_loads marker. Readers ignore the partial load;
// the next run loads the same package into the same keys and completes it, so every row is there exactly once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import { type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import {
  type ChildArgs,
  type CrashData,
  childRows,
  crashResource,
  type PausePoint,
} from "../fixtures/crash-child.js";
import {
  type BackendRoot,
  backends,
  downloadPrefix,
  lit,
  scratchDuckDb,
} from "../helpers/filesystem-backends.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/crash-child.ts", import.meta.url));
const N = 20_000;
const TIMEOUT = { timeout: 60_000 };
const DATASET = "crash_data";

/** Runs the child until it prints `PAUSED <point>` (it then blocks), and kills it with SIGKILL. */
async function crashAt(root: BackendRoot, dir: string, data: CrashData, pause: PausePoint): Promise<void> {
  const args: ChildArgs = {
    ...data,
    dir,
    db: "",
    destination: root.childUrl,
    name: "crash",
    dataset: DATASET,
    pause,
  };
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // The URL alone names the store: endpoint and credentials reach the child as the cloud's environment variables.
    env: { ...process.env, ...root.env, FERRY_LOG_LEVEL: "silent" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not pause at ${pause}: ${err}`)), 30_000);
      child.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes(`PAUSED ${pause}\n`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`child exited before pausing at ${pause}: ${out} ${err}`));
      });
    });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  }
  assert.equal(child.signalCode, "SIGKILL");
}

const open = (root: BackendRoot, dir: string): Pipeline =>
  pipeline({
    name: "crash",
    dir,
    destination: filesystem({ url: root.url, ...root.options }),
    dataset: DATASET,
    logger: silentLogger,
  });

/**
 * Every id first..last exactly once with its own children: through dataset() (completed loads), through the files
 * the markers list (what a reader of completed loads reads), and through every data file in the store (the retry
 * rewrote the same keys, so no partial copy is left behind).
 */
async function assertExactlyOnce(root: BackendRoot, p: Pipeline, first: number, last: number) {
  const total = last - first + 1;
  const children = childRows(first, last);
  assert.deepEqual(
    await p
      .dataset()
      .sql("select count(*) as n, count(distinct id) as d, min(id) as lo, max(id) as hi from items"),
    [{ n: total, d: total, lo: first, hi: last }],
  );
  assert.deepEqual(
    await p
      .dataset()
      .sql(
        "select count(*) as n, count(distinct c._ferry_id) as d from items__children c join items i on c._ferry_parent_id = i._ferry_id",
      ),
    [{ n: children, d: children }],
  );
  const files = await downloadPrefix(root.store, `${DATASET}/`);
  const db = await scratchDuckDb();
  try {
    const parquet = (table: string, keys?: Set<string>) =>
      `read_parquet([${[...files.paths]
        .filter(([k]) => k.startsWith(`${DATASET}/${table}/`) && (!keys || keys.has(k)))
        .map(([, path]) => lit(path))
        .join(", ")}])`;
    const listed = new Set<string>();
    for (const [key, path] of files.paths) {
      if (!key.startsWith(`${DATASET}/_ferry_loads/`)) continue;
      const marker = JSON.parse(readFileSync(path, "utf8"));
      for (const t of Object.values(marker.tables) as Array<{ files: Array<{ key: string }> }>)
        for (const f of t.files) listed.add(f.key);
    }
    for (const keys of [listed, undefined]) {
      assert.deepEqual(
        await db.rows(
          `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d FROM ${parquet("items", keys)}`,
        ),
        [{ n: total, d: total }],
      );
      assert.deepEqual(await db.rows(`SELECT count(*)::INT AS n FROM ${parquet("items__children", keys)}`), [
        { n: children },
      ]);
    }
  } finally {
    db.close();
    files.cleanup();
  }
}

const batch1: CrashData = { start: 1, count: N, mode: "incremental", tag: "a" };
const rerun: CrashData = { start: 1, count: N + 10_000, mode: "incremental", tag: "b" };

for (const backend of await backends()) {
  describe(`filesystem crash recovery on ${backend.name}`, { skip: backend.skip }, () => {
    test(
      "killed after the root table's files, before the marker: invisible, then completed exactly once",
      TIMEOUT,
      async () => {
        const root = await backend.root();
        const work = mkdtempSync(join(tmpdir(), "ferry-"));
        try {
          const dir = join(work, ".ferry");
          // Paused when the child-table job starts: the root table's file is uploaded, the marker is not.
          await crashAt(root, dir, batch1, "load-job");
          const keys = (await root.store.list(`${DATASET}/`)).map((o) => o.key);
          assert.equal(keys.filter((k) => k.startsWith(`${DATASET}/items/`)).length, 1, "a root data file");
          assert.deepEqual(
            keys.filter((k) => !k.startsWith(`${DATASET}/items/`)),
            [],
            "no child file, state or marker",
          );
          const p = open(root, dir);
          assert.deepEqual(await p.dataset().tables(), [], "readers see no table of an incomplete load");
          const pending = (await p.packages()).pending.map((x) => x.loadId);
          assert.equal(pending.length, 1);
          const info = await p.run(crashResource(rerun));
          assert.deepEqual(info.pendingCompleted, pending);
          assert.deepEqual(
            info.items,
            { items: 10_000 },
            "the pending package's cursor applies to the new extract",
          );
          assert.deepEqual(info.rows, { items: 30_000, items__children: childRows(1, 30_000) });
          await assertExactlyOnce(root, p, 1, 30_000);
          assert.deepEqual(
            await p.dataset().sql("select tag, count(*) as n from items group by tag order by tag"),
            [
              { tag: "a", n: N },
              { tag: "b", n: 10_000 },
            ],
          );
          assert.deepEqual(
            (await p.dataset().sql("select load_id from _ferry_loads order by load_id")).map(
              (r) => r.load_id,
            ),
            info.loadIds,
          );
        } finally {
          rmSync(work, { recursive: true, force: true });
          await root.cleanup();
        }
      },
    );

    test("killed after the marker, before local state: the load is not written twice", TIMEOUT, async () => {
      const root = await backend.root();
      const work = mkdtempSync(join(tmpdir(), "ferry-"));
      try {
        const dir = join(work, ".ferry");
        await crashAt(root, dir, batch1, "load-committed");
        const p = open(root, dir);
        const pending = (await p.packages()).pending.map((x) => x.loadId);
        assert.deepEqual(
          (await root.store.list(`${DATASET}/_ferry_loads/`)).map((o) => o.key),
          [`${DATASET}/_ferry_loads/${pending[0]}.json`],
        );
        const before = (await root.store.list(`${DATASET}/items/`)).map((o) => o.key);
        const info = await p.run(crashResource(rerun));
        assert.deepEqual(info.pendingCompleted, pending);
        assert.deepEqual(info.items, { items: 10_000 });
        const after = (await root.store.list(`${DATASET}/items/`)).map((o) => o.key);
        assert.deepEqual(after.slice(0, before.length), before);
        assert.equal(after.length, before.length + 1, "one new file, the pending load not rewritten");
        await assertExactlyOnce(root, p, 1, 30_000);
      } finally {
        rmSync(work, { recursive: true, force: true });
        await root.cleanup();
      }
    });
  });
}
