/**
 * `clickhouse`: N events of the capture shape (what `ferry serve` loads: uuid, event, distinct_id, timestamps, a
 * properties document of ~0.4 KB, person fields) as an NDJSON file, loaded by ferry into the ClickHouse server at
 * `FERRY_BENCH_CLICKHOUSE_URL` (else `FERRY_TEST_CLICKHOUSE_URL`, else the 18.16 test server of `scripts/services.sh`)
 * with the events table's layout (ReplacingMergeTree, by month, PostHog's sort key).
 * The floor, in the same run: the server's own insert of the same file into a table of the same structure,
 * `clickhouse-client --query "INSERT INTO ... FORMAT JSONEachRow" < file` over the native protocol
 * (`FERRY_BENCH_CLICKHOUSE_TCP_PORT`, else `FERRY_TEST_CLICKHOUSE_TCP_PORT`, else 58124).
 * Timestamps are whole seconds and documents JSON text, so that 18.16 parses the file as it is.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { ClickHouseConnection } from "../../src/destinations/clickhouse/clickhouse-connection.js";
import { parseClickHouseUrl } from "../../src/destinations/clickhouse/clickhouse-url.js";
import { EVENT_COLUMNS, EVENTS_STORAGE } from "../../src/events/ingest/event-loader.js";
import { type ColumnHint, jsonlFile, pipeline, resource, silentLogger } from "../../src/index.js";
import { resultOf } from "./duckdb-run.js";
import { rng } from "./rng.js";
import type { Scenario } from "./scenario.js";

const DEFAULT_URL = "clickhouse://ferry:ferry@127.0.0.1:58123/default";
const EVENTS = ["$pageview", "$autocapture", "clicked", "signed_up", "$identify", "purchase"] as const;
const BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"] as const;

const fileOf = (dir: string) => join(dir, "capture.jsonl");

/** Text of a time, whole seconds, as 18.16 reads it. */
const text = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

async function writeCapture(dir: string, n: number): Promise<void> {
  const next = rng(7);
  const out = createWriteStream(fileOf(dir));
  const base = Date.UTC(2026, 10, 1);
  let chunk = "";
  for (let i = 0; i < n; i++) {
    const r = next();
    const user = `user-${Math.floor(r * 20_000)}`;
    const properties = {
      $browser: BROWSERS[i % BROWSERS.length],
      $os: r > 0.5 ? "Mac OS X" : "Windows",
      $current_url: `https://example.com/page/${i % 500}?ref=${Math.floor(r * 100)}`,
      $screen_width: 1280 + (i % 4) * 160,
      $session_id: `sess-${Math.floor(i / 20)}`,
      $lib: "web",
      $lib_version: "1.200.0",
      plan: r > 0.8 ? "pro" : "free",
      cart: r > 0.9 ? [{ sku: `sku-${i % 97}`, qty: 1 + (i % 3), price: 9.99 }] : [],
    };
    const row = {
      uuid: `0193${(i * 7919).toString(16).padStart(8, "0")}-${randomHex(next, 4)}-7${randomHex(next, 3)}-8${randomHex(next, 3)}-${randomHex(next, 12)}`,
      event: EVENTS[i % EVENTS.length],
      distinct_id: user,
      timestamp: text(base + i * 250),
      created_at: text(base + i * 250 + 120),
      properties: JSON.stringify(properties),
      set: i % 50 === 0 ? JSON.stringify({ email: `${user}@example.com` }) : null,
      set_once: null,
      elements_chain: i % 6 === 1 ? `button.btn:nth-child="1"text="Buy ${i % 10}"` : null,
      ip: `10.0.${i % 256}.${(i * 7) % 256}`,
      person_id: null,
      person_properties: null,
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

function randomHex(next: () => number, digits: number): string {
  let s = "";
  for (let i = 0; i < digits; i++) s += Math.floor(next() * 16).toString(16);
  return s;
}

/** The events table's columns, with the documents as the JSON text the file holds. */
const COLUMNS: Record<string, ColumnHint> = {
  ...EVENT_COLUMNS,
  properties: { type: "text" },
  set: { type: "text" },
  set_once: { type: "text" },
  person_properties: { type: "text" },
};

/** Runs `clickhouse-client` with the file on its stdin; resolves with the milliseconds it took. */
async function clientInsert(url: string, port: number, sql: string, file: string): Promise<number> {
  const u = parseClickHouseUrl(url);
  const started = Date.now();
  const child = spawn(
    "clickhouse-client",
    [
      "--host",
      new URL(u.endpoint).hostname,
      "--port",
      String(port),
      "--user",
      u.username,
      "--password",
      u.password,
      "--query",
      sql,
    ],
    { stdio: ["pipe", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  createReadStream(file).pipe(child.stdin);
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`clickhouse-client failed (${code}): ${err.trim()}`);
  return Date.now() - started;
}

export const clickhouseBench: Scenario = {
  name: "clickhouse",
  defaultRecords: 200_000,
  prepare: ({ records, dir }) => writeCapture(dir, records),
  async run({ records: n, dir, peakRssMb }) {
    const url =
      process.env.FERRY_BENCH_CLICKHOUSE_URL ?? process.env.FERRY_TEST_CLICKHOUSE_URL ?? DEFAULT_URL;
    const port = Number(
      process.env.FERRY_BENCH_CLICKHOUSE_TCP_PORT ?? process.env.FERRY_TEST_CLICKHOUSE_TCP_PORT ?? 58124,
    );
    const file = fileOf(dir);
    const bytes = statSync(file).size;
    const dataset = `bench_ch_${randomBytes(4).toString("hex")}`;
    const conn = await ClickHouseConnection.open(parseClickHouseUrl(url), silentLogger).catch(
      (err: Error) => {
        throw new Error(
          `clickhouse: the server does not answer at ${parseClickHouseUrl(url).endpoint} (${err.message}). Start it with ` +
            "`scripts/services.sh up clickhouse` or set FERRY_BENCH_CLICKHOUSE_URL=clickhouse://user:password@host:8123/db",
        );
      },
    );
    try {
      const p = pipeline({
        name: "bench_ch",
        destination: url,
        dataset,
        dir: join(dir, ".ferry"),
        logger: silentLogger,
      });
      const events = resource({ name: "events", columns: COLUMNS, storage: EVENTS_STORAGE }, () =>
        jsonlFile(file),
      );
      const t0 = Date.now();
      const info = await p.run(events);
      const ferryMs = Date.now() - t0;
      const ferryRss = peakRssMb();
      const [check] = await conn.query(`SELECT count() AS n FROM \`${dataset}\`.events`);
      if (Number(check?.n) !== n)
        throw new Error(`expected ${n} rows in ClickHouse, found ${String(check?.n)}`);

      // The floor: the same file, the same table structure, the server's own JSONEachRow parser.
      await conn.command(`CREATE TABLE \`${dataset}\`.floor AS \`${dataset}\`.events`);
      const columns = Object.keys(COLUMNS)
        .map((c) => `\`${c}\``)
        .join(", ");
      const floorMs = await clientInsert(
        url,
        port,
        `INSERT INTO \`${dataset}\`.floor (${columns}) FORMAT JSONEachRow`,
        file,
      );
      const [floor] = await conn.query(`SELECT count() AS n FROM \`${dataset}\`.floor`);
      if (Number(floor?.n) !== n)
        throw new Error(`expected ${n} rows in the floor table, found ${String(floor?.n)}`);

      const result = resultOf(info, n, ferryMs);
      const perSec = (ms: number) => Math.round(n / (ms / 1000));
      return {
        ...result,
        bytes,
        peakRssMb: ferryRss,
        extra: {
          ...result.extra,
          server: conn.features.version,
          loadRowsPerSec: perSec(info.durationsMs.load),
          floorMs,
          floorRowsPerSec: perSec(floorMs),
          ferryVsFloor: Number((floorMs / ferryMs).toFixed(2)),
          loadVsFloor: Number((floorMs / info.durationsMs.load).toFixed(2)),
        },
      };
    } finally {
      await conn.command(`DROP DATABASE IF EXISTS \`${dataset}\``).catch(() => undefined);
      await conn.command(`DROP DATABASE IF EXISTS \`${dataset}_staging\``).catch(() => undefined);
      await conn.close();
    }
  },
};
