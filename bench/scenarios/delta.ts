/**
 * `delta`: N flat payment records (`id`, account, amount, status, a timestamp, a version, a note; ~150 bytes of
 * JSON each), loaded in ten loads of N/10 as a table grows day by day: once as a Delta table and once as plain
 * Parquet files (the write throughput against plain Parquet: same data, same normalizer, both through ferry).
 * Then two merges of 10% changed rows (N/10 records by primary key `id`) into the Delta table: clustered (the newest
 * tenth of the ids, as updates to recent records come: copy-on-write rewrites only the files that hold them) and
 * scattered (a random tenth: every file holds some, so every file is rewritten).
 * The floor, timed in the same run: DuckDB alone rewriting the whole table (every live data file read and written
 * again as Parquet with ferry's settings: one thread, 256 MB, the same row groups and compression), which is what a
 * copy-on-write merge touching every file cannot beat. Row counts and changed values are checked after each merge.
 */

import { once } from "node:events";
import { createWriteStream, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { filesystem, jsonlFile, pipeline, resource, silentLogger } from "../../src/index.js";
import { resultOf } from "./duckdb-run.js";
import { rng } from "./rng.js";
import type { Scenario } from "./scenario.js";

const STATUSES = ["open", "paid", "refunded", "disputed"] as const;
const LOADS = 10;

async function writeRows(path: string, ids: Iterable<number>, version: number): Promise<void> {
  const out = createWriteStream(path);
  const base = Date.UTC(2024, 0, 1);
  let chunk = "";
  for (const id of ids) {
    const row = {
      id,
      account: `acct_${id % 100_003}`,
      amount: Math.round(((id * 7919) % 1_000_000) / 10 + version) / 100,
      status: STATUSES[(id + version) % STATUSES.length],
      created_at: new Date(base + id * 1000).toISOString(),
      version,
      note: `payment ${id} v${version}`,
    };
    chunk += `${JSON.stringify(row)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
}

const files = (dir: string) => ({
  base: (i: number) => join(dir, `base-${i}.ndjson`),
  clustered: join(dir, "changes-clustered.ndjson"),
  scattered: join(dir, "changes-scattered.ndjson"),
});

function* range(from: number, to: number) {
  for (let id = from; id <= to; id++) yield id;
}

/** A tenth of the ids at random, distinct and spread over the whole range: one id in each block of ten. */
function* scatteredIds(n: number) {
  const next = rng(7);
  for (let block = 0; block + 10 <= n; block += 10) yield block + 1 + Math.floor(next() * 10);
}

/** The ids of load `i` of the base table (1-based ids, ten loads). */
const loadRange = (n: number, i: number): [number, number] => [
  Math.floor((n * i) / LOADS) + 1,
  Math.floor((n * (i + 1)) / LOADS),
];

export const delta: Scenario = {
  name: "delta",
  defaultRecords: 10_000_000,
  async prepare({ records: n, dir }) {
    const f = files(dir);
    for (let i = 0; i < LOADS; i++) await writeRows(f.base(i), range(...loadRange(n, i)), 0);
    await writeRows(f.clustered, range(n - Math.floor(n / 10) + 1, n), 1);
    await writeRows(f.scattered, scatteredIds(n), 2);
  },
  async run({ records: n, dir, peakRssMb }) {
    const f = files(dir);
    let bytes = 0;
    for (let i = 0; i < LOADS; i++) bytes += statSync(f.base(i)).size;
    const rowsOf = (file: string, merge: boolean) =>
      resource(
        merge ? { name: "payments", primaryKey: "id", writeDisposition: "merge" } : { name: "payments" },
        () => jsonlFile(file),
      );
    const lake = join(dir, "lake");
    mkdirSync(lake, { recursive: true });
    const open = (name: string, url: string, tableFormat: "native" | "delta") =>
      pipeline({
        name,
        destination: filesystem({ url, tableFormat }),
        dataset: "bench",
        dir: join(dir, ".ferry"),
        logger: silentLogger,
      });
    const plain = open("bench_plain", `file://${join(dir, "plain")}`, "native");
    const p = open("bench_delta", `file://${lake}`, "delta");

    // Write throughput: the same ten loads as plain Parquet files and into a Delta table.
    const grow = async (target: typeof p) => {
      const t0 = Date.now();
      let loadMs = 0;
      let info: Awaited<ReturnType<typeof p.run>> | undefined;
      for (let i = 0; i < LOADS; i++) {
        info = await target.run(rowsOf(f.base(i), false));
        loadMs += info.durationsMs.load;
      }
      return { ms: Date.now() - t0, loadMs, info: info! };
    };
    const plainRun = await grow(plain);
    const deltaRun = await grow(p);
    const count = async () => Number((await p.dataset().sql("select count(*) as n from payments"))[0]?.n);
    if ((await count()) !== n) throw new Error(`expected ${n} rows in the Delta table, got ${await count()}`);

    // Merges of 10% changed rows: clustered, then scattered.
    const merge = async (file: string, version: number, probeId: number) => {
      const filesBefore = (await deltaFiles(lake)).length;
      const t0 = Date.now();
      const m = await p.run(rowsOf(file, true));
      const ms = Date.now() - t0;
      if ((await count()) !== n) throw new Error(`the merge changed the row count: ${await count()} != ${n}`);
      const [row] = await p.dataset().sql("select version from payments where id = $1", [probeId]);
      if (Number(row?.version) !== version)
        throw new Error(`id ${probeId} has version ${row?.version}, not ${version}`);
      return { ms, loadMs: m.durationsMs.load, rows: m.rows.payments ?? 0, filesBefore };
    };
    const clustered = await merge(f.clustered, 1, n);
    const scattered = await merge(f.scattered, 2, scatteredIds(n).next().value as number);
    const ferryPeak = peakRssMb();

    // The floor: DuckDB alone rewriting the whole table, with ferry's settings.
    const live = await deltaFiles(lake);
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:", {
      memory_limit: "256MB",
      threads: "1",
      temp_directory: join(dir, "floor.tmp"),
    });
    const conn = await db.connect();
    await conn.run("SET preserve_insertion_order = false");
    const list = live.map((x) => `'${x.replace(/'/g, "''")}'`).join(", ");
    const f0 = Date.now();
    await conn.run(
      `COPY (SELECT * FROM read_parquet([${list}])) TO '${join(dir, "floor")}' (FORMAT parquet, ` +
        "COMPRESSION snappy, ROW_GROUP_SIZE 50000, FILE_SIZE_BYTES 104857600, FILENAME_PATTERN 'part-{uuid}')",
    );
    const floorMs = Date.now() - f0;
    conn.closeSync();
    db.closeSync();

    return {
      ...resultOf(deltaRun.info, n, deltaRun.ms, {
        loads: LOADS,
        plainMs: plainRun.ms,
        plainRecordsPerSec: Math.round(n / (plainRun.ms / 1000)),
        plainLoadStageMs: plainRun.loadMs,
        deltaLoadStageMs: deltaRun.loadMs,
        deltaTimesPlain: Number((deltaRun.ms / plainRun.ms).toFixed(2)),
        deltaLoadStageTimesPlain: Number((deltaRun.loadMs / Math.max(1, plainRun.loadMs)).toFixed(2)),
        mergeRows: scattered.rows,
        tableFiles: clustered.filesBefore,
        mergeClusteredMs: clustered.ms,
        mergeClusteredLoadStageMs: clustered.loadMs,
        mergeScatteredMs: scattered.ms,
        mergeScatteredLoadStageMs: scattered.loadMs,
        rewriteFloorMs: floorMs,
        clusteredTimesFloor: Number((clustered.ms / floorMs).toFixed(2)),
        scatteredTimesFloor: Number((scattered.ms / floorMs).toFixed(2)),
      }),
      rows: n,
      stagesMs: { load: deltaRun.loadMs },
      bytes,
      peakRssMb: ferryPeak,
    };
  },
};

/** The live data files of the table, from its log (ferry's own Delta reader). */
async function deltaFiles(lake: string): Promise<string[]> {
  const { LocalStore } = await import("../../src/storage/local/local-store.js");
  const { readSnapshot } = await import("../../src/destinations/filesystem/delta/snapshot.js");
  const { FileCache } = await import("../../src/destinations/filesystem/file-cache.js");
  const { LocalEngine } = await import("../../src/destinations/filesystem/engine.js");
  const store = new LocalStore(lake);
  const engine = new LocalEngine("128MB");
  try {
    const snap = await readSnapshot(
      { store, files: new FileCache(store, undefined), engine: () => engine.connection() },
      "bench/payments",
    );
    return [...snap.files.keys()].map((path) => join(lake, "bench", "payments", decodeURIComponent(path)));
  } finally {
    await engine.close();
  }
}
