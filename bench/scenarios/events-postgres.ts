/**
 * `events-postgres`: the `events` workload (N GitHub-events-like records with child tables, see events.ts) loaded
 * into the Postgres destination at `FERRY_BENCH_POSTGRES_URL` (else `FERRY_TEST_POSTGRES_URL`, else the test server of
 * `scripts/services.sh`).
 * Each run uses its own dataset and drops it afterwards. Reports the load stage on its own too (`loadRecordsPerSec`,
 * `loadRowsPerSec`): it is the part the destination owns.
 */

import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { pipeline, silentLogger } from "../../src/index.js";
import { resultOf } from "./duckdb-run.js";
import { eventsFile, eventsResource, prepareEvents } from "./events.js";
import type { Scenario } from "./scenario.js";

const DEFAULT_URL = "postgres://ferry:ferry@127.0.0.1:55432/ferry_test";

/** Fails with what to do when the server does not answer. */
async function checkServer(url: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    const u = new URL(url);
    throw new Error(
      `events-postgres: Postgres is not reachable at ${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)} ` +
        `(${(err as Error).message || (err as { code?: string }).code}). Start it with \`scripts/services.sh up postgres\` ` +
        "or set FERRY_BENCH_POSTGRES_URL=postgres://user:password@host:port/database",
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDataset(url: string, dataset: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of [dataset, `${dataset}_staging`])
      await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}

export const eventsPostgres: Scenario = {
  name: "events-postgres",
  defaultRecords: 200_000,
  prepare: prepareEvents,
  async run({ records: n, dir }) {
    const url = process.env.FERRY_BENCH_POSTGRES_URL ?? process.env.FERRY_TEST_POSTGRES_URL ?? DEFAULT_URL;
    await checkServer(url);
    const file = eventsFile(dir);
    const bytes = statSync(file).size;
    const dataset = `bench_events_${randomBytes(4).toString("hex")}`;
    const p = pipeline({
      name: "bench_events_pg",
      destination: url,
      dataset,
      dir: join(dir, ".ferry"),
      logger: silentLogger,
    });
    const lines = eventsResource(file);
    try {
      const t0 = Date.now();
      const info = await p.run(lines);
      const ferryMs = Date.now() - t0;
      if (info.rows.events !== n) throw new Error(`expected ${n} events, got ${info.rows.events}`);
      const [check] = await p.dataset().sql("select count(*) as n from events");
      if (check?.n !== n) throw new Error(`expected ${n} rows in Postgres, found ${String(check?.n)}`);
      const loadSec = info.durationsMs.load / 1000;
      const result = resultOf(info, n, ferryMs);
      return {
        ...result,
        bytes,
        extra: {
          ...result.extra,
          loadRecordsPerSec: Math.round(n / loadSec),
          loadRowsPerSec: Math.round(result.rows / loadSec),
        },
      };
    } finally {
      await dropDataset(url, dataset);
    }
  },
};
