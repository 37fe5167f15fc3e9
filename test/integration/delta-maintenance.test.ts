// Maintenance of Delta tables: optimize compacts small files in one commit that changes no data, vacuum deletes the
// files a table no longer uses (removed longer ago than the retention, or never committed), both from the library and
// as `ferry pipeline <name> optimize | vacuum`. Read back with deltalake. One test body per backend.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import { ConfigError, type Pipeline, pipeline, silentLogger } from "../../src/index.js";
import { ensureBuilt, ferry } from "../helpers/cli.js";
import { type DeltaRead, deltaPython, deltaReaderTarget, readDelta } from "../helpers/delta-reader.js";
import { type BackendRoot, backends, withRoot } from "../helpers/filesystem-backends.js";

const { python, skip: noPython } = deltaPython();
const TIMEOUT = { timeout: 120_000 };

/** Data files of a table in the store (not its log). */
const dataFiles = async (root: BackendRoot, table: string) =>
  (await root.store.list(`lake/${table}/`)).filter(
    (o) => o.key.endsWith(".parquet") && !o.key.includes("_delta_log"),
  );

/** Waits until the store's clock has passed the newest modification time under a prefix (no fixed sleep). */
async function pastModification(root: BackendRoot, prefix: string): Promise<void> {
  const newest = Math.max(...(await root.store.list(prefix)).map((o) => o.modifiedAt ?? 0));
  while (Date.now() <= newest) await new Promise((r) => setImmediate(r));
}

for (const backend of await backends()) {
  const skip = backend.skip || noPython;
  const open = (root: BackendRoot, work: string, name = "maint"): Pipeline =>
    pipeline({
      name,
      destination: filesystem({ url: root.url, tableFormat: "delta", ...root.options }),
      dataset: "lake",
      dir: join(work, ".ferry"),
      logger: silentLogger,
    });
  const read = (root: BackendRoot, table: string, order: string[] = []): Promise<DeltaRead> => {
    const at = deltaReaderTarget(backend.name, root.url, root.options.env as Record<string, string>);
    return readDelta(python, at.uri(`lake/${table}`), at.options, order, at.env);
  };

  describe(`Delta maintenance on ${backend.name}`, { skip }, () => {
    test(
      "optimize compacts small files; vacuum deletes what no version needs, only past the retention",
      TIMEOUT,
      async () =>
        withRoot(
          async (root, work) => {
            const p = open(root, work);
            for (let i = 0; i < 5; i++)
              await p.run(
                Array.from({ length: 20 }, (_, k) => ({ id: i * 20 + k, batch: i })),
                { table: "events" },
              );
            assert.equal((await dataFiles(root, "events")).length, 5);
            const [result] = await p.optimize();
            assert.deepEqual(
              [result!.table, result!.version, result!.filesRemoved, result!.filesAdded],
              ["events", 5, 5, 1],
            );
            const t = await read(root, "events", ["id"]);
            assert.equal(t.files, 1);
            assert.deepEqual(
              t.rows.map((r) => r.id),
              Array.from({ length: 100 }, (_, i) => i),
            );
            assert.equal(t.history[0]!.operation, "OPTIMIZE");
            const log = await root.store.get("lake/events/_delta_log/00000000000000000005.json");
            const actions = log!
              .toString()
              .trim()
              .split("\n")
              .map((l) => JSON.parse(l));
            assert.ok(
              actions.filter((a) => a.add || a.remove).every((a) => (a.add ?? a.remove).dataChange === false),
              "compaction changes no data",
            );
            assert.deepEqual(await p.optimize(), [
              { table: "events", version: 5, filesRemoved: 0, bytesRemoved: 0, filesAdded: 0, bytesAdded: 0 },
            ]);

            // The five compacted files stay for readers of older versions until a vacuum past the retention.
            assert.equal((await dataFiles(root, "events")).length, 6);
            const [kept] = await p.vacuum();
            assert.equal(kept!.filesRemoved, 0, "the default retention (7 days) keeps them");
            await assert.rejects(
              p.vacuum({ retentionHours: 0 }),
              (e: Error) =>
                e instanceof ConfigError &&
                /below the default of 168/.test(e.message) &&
                /force/.test(e.hint ?? ""),
            );
            // A file no commit references (a load that died before its commit) goes too.
            await root.store.put("lake/events/part-orphan.parquet", "not committed");
            await pastModification(root, "lake/events/");
            const [dry] = await p.vacuum({ retentionHours: 0, force: true, dryRun: true });
            assert.deepEqual([dry!.filesRemoved, dry!.dryRun], [6, true]);
            assert.equal((await dataFiles(root, "events")).length, 7, "a dry run deletes nothing");
            const [done] = await p.vacuum({ retentionHours: 0, force: true });
            assert.equal(done!.filesRemoved, 6);
            assert.equal((await dataFiles(root, "events")).length, 1);
            const after = await read(root, "events");
            assert.deepEqual([after.version, after.rows.length], [5, 100]);
            await assert.rejects(
              p.optimize({ tables: ["nope"] }),
              (e: Error) =>
                e instanceof ConfigError && /not Delta tables of dataset "lake": nope/.test(e.message),
            );
          },
          await backend.root(),
        ),
    );
  });
}

// The command line is the same for every store: local disk.
const local = (await backends()).find((b) => b.name === "local")!;
describe("Delta maintenance from the command line", { skip: noPython }, () => {
  const open = (root: BackendRoot, work: string, name: string): Pipeline =>
    pipeline({
      name,
      destination: filesystem({ url: root.url, tableFormat: "delta", ...root.options }),
      dataset: "lake",
      dir: join(work, ".ferry"),
      logger: silentLogger,
    });
  const read = (root: BackendRoot, table: string): Promise<DeltaRead> =>
    readDelta(python, deltaReaderTarget("local", root.url, {}).uri(`lake/${table}`));
  test("ferry pipeline <name> optimize | vacuum on the command line", TIMEOUT, async () =>
    withRoot(
      async (root, work) => {
        ensureBuilt();
        const p = open(root, work, "climaint");
        for (let i = 0; i < 3; i++) await p.run([{ id: i }], { table: "ticks" });
        const dir = join(work, ".ferry");
        const opt = ferry(["pipeline", "climaint", "optimize", "--dir", dir, "--json"], work);
        assert.equal(opt.status, 0, opt.stderr);
        const [o] = JSON.parse(opt.stdout);
        assert.deepEqual([o.table, o.filesRemoved, o.filesAdded, o.version], ["ticks", 3, 1, 3]);
        const refused = ferry(
          ["pipeline", "climaint", "vacuum", "--dir", dir, "--retention-hours", "0"],
          work,
        );
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /below the default of 168/);
        await pastModification(root, "lake/ticks/");
        const vac = ferry(
          ["pipeline", "climaint", "vacuum", "--dir", dir, "--retention-hours", "0", "--force"],
          work,
        );
        assert.equal(vac.status, 0, vac.stderr);
        assert.match(vac.stdout, /^ticks: deleted 3 file\(s\) \([\d.]+ MB\); version 3$/m);
        assert.equal((await read(root, "ticks")).rows.length, 3);
      },
      await local.root(),
    ),
  );
});
