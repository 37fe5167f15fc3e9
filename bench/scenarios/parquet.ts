/**
 * `parquet`: the `events` workload (N GitHub-events-like records from an NDJSON file, root and child tables) into
 * Parquet files with the filesystem destination: on local disk, and into the S3 emulator as well when
 * `FERRY_BENCH_S3=1` (endpoint, keys and bucket from `scripts/services.sh env`: FERRY_TEST_S3_*).
 * Checks the row count by reading the files back through dataset(). The relational floor: DuckDB alone writing the
 * same tables as Parquet files from the NDJSON by SQL, timed in the same run.
 */

import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { filesystem } from "../../src/destinations/filesystem/index.js";
import { type Destination, pipeline, silentLogger } from "../../src/index.js";
import { uniqueId } from "../../src/util/hash.js";
import { resultOf } from "./duckdb-run.js";
import { eventsFile, eventsResource, prepareEvents } from "./events.js";
import { relationalFloor } from "./events-relational-floor.js";
import type { Scenario, ScenarioResult } from "./scenario.js";

async function runInto(name: string, destination: Destination, file: string, n: number, dir: string) {
  const p = pipeline({ name, destination, dataset: "bench", dir: join(dir, ".ferry"), logger: silentLogger });
  const t0 = Date.now();
  const info = await p.run(eventsResource(file));
  const ms = Date.now() - t0;
  if (info.rows.events !== n) throw new Error(`expected ${n} events, got ${info.rows.events}`);
  const [check] = await p.dataset().sql("select count(*) as n from events");
  if (Number(check?.n) !== n) throw new Error(`read back ${check?.n} events from the files, expected ${n}`);
  return { info, ms };
}

function s3Destination(): Destination | undefined {
  if (process.env.FERRY_BENCH_S3 !== "1") return undefined;
  const env = process.env;
  const bucket = env.FERRY_TEST_S3_BUCKET ?? "ferry-test";
  return filesystem({
    url: `s3://${bucket}/bench-${uniqueId(8)}`,
    endpoint: env.FERRY_TEST_S3_ENDPOINT ?? "http://127.0.0.1:59000",
    region: env.AWS_REGION ?? "us-east-1",
    credentials: {
      access_key_id: env.FERRY_TEST_S3_ACCESS_KEY_ID ?? "ferry-minio",
      secret_access_key: env.FERRY_TEST_S3_SECRET_ACCESS_KEY ?? "ferry-minio-secret",
    },
  });
}

export const parquet: Scenario = {
  name: "parquet",
  defaultRecords: 200_000,
  prepare: prepareEvents,
  async run({ records: n, dir, peakRssMb }): Promise<ScenarioResult> {
    const file = eventsFile(dir);
    const bytes = statSync(file).size;
    const local = await runInto(
      "bench_parquet",
      filesystem({ url: `file://${join(dir, "lake")}` }),
      file,
      n,
      dir,
    );
    const extra: Record<string, number | string> = {};
    const s3 = s3Destination();
    if (s3) {
      const remote = await runInto("bench_parquet_s3", s3, file, n, dir);
      extra.s3Ms = remote.ms;
      extra.s3RecordsPerSec = Math.round(n / (remote.ms / 1000));
      extra.s3LoadMs = remote.info.durationsMs.load;
      extra.s3TimesLocal = Number((remote.ms / local.ms).toFixed(2));
    }
    const ferryPeak = peakRssMb();
    // DuckDB alone writing the same tables as Parquet: what any engine converting with DuckDB is bounded by.
    const floorDir = join(dir, "relational-floor");
    mkdirSync(floorDir, { recursive: true });
    const relational = await relationalFloor(file, { parquetDir: floorDir });
    extra.relationalFloorMs = relational.ms;
    extra.relationalFloorRecordsPerSec = Math.round(n / (relational.ms / 1000));
    extra.timesRelationalFloor = Number((local.ms / relational.ms).toFixed(2));
    return { ...resultOf(local.info, n, local.ms, extra), bytes, peakRssMb: ferryPeak };
  },
};
