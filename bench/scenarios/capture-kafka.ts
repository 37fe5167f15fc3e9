/**
 * `capture-kafka`: the fleet's path measured in one run, three parts on the same machine:
 * 1. through Kafka: a `ferry serve --log kafka://...` process (capture and ingest, the topic of its own) takes
 *    `records` events from concurrent clients (gzip `/batch/` bodies of 50 events shaped like posthog-node's); each 200
 *    means the broker acknowledged with acks=all. Events/s acknowledged, and how long the ingest needs after the last
 *    acknowledgement to have all of them in ClickHouse (exactly `records` rows, checked);
 * 2. through the local log: the same bodies to `ferry serve` on its embedded log (fsync before each 200, persons off as
 *    on Kafka, DuckDB destination): events/s acknowledged, the peer of part 1;
 * 3. the ClickHouse load against its floor: the `clickhouse` scenario (ferry's load of an events file against
 *    `clickhouse-client ... FORMAT JSONEachRow` of the same file), at the same size.
 *
 * The broker: `FERRY_BENCH_KAFKA_BROKERS`, else `FERRY_TEST_KAFKA_BROKERS`, else the test broker of
 * `scripts/services.sh up kafka`; ClickHouse as in the `clickhouse` scenario.
 *
 *   npm run bench -- capture-kafka --records 200000
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ClickHouseConnection } from "../../src/destinations/clickhouse/clickhouse-connection.js";
import { parseClickHouseUrl } from "../../src/destinations/clickhouse/clickhouse-url.js";
import { silentLogger } from "../../src/index.js";
import { BENCH_TOKEN, readBodies, writeBodies } from "../capture/bodies.js";
import { postAll } from "../capture/load-generator.js";
import { clickhouseBench } from "./clickhouse.js";
import type { Scenario } from "./scenario.js";

const CLIENTS = Number(process.env.BENCH_CAPTURE_CLIENTS ?? 32);
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const BROKERS =
  process.env.FERRY_BENCH_KAFKA_BROKERS ?? process.env.FERRY_TEST_KAFKA_BROKERS ?? "127.0.0.1:59092";
const CLICKHOUSE =
  process.env.FERRY_BENCH_CLICKHOUSE_URL ??
  process.env.FERRY_TEST_CLICKHOUSE_URL ??
  "clickhouse://ferry:ferry@127.0.0.1:58123/default";

/** Starts `ferry serve <args>` and resolves with the process and its capture URL. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--token", BENCH_TOKEN, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, FERRY_LOG_LEVEL: "info" },
  });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stderr as NodeJS.ReadableStream })) {
    lines.push(line);
    const m = /capture listening on (http:\/\/\S+)/.exec(line);
    if (m) {
      child.stderr?.resume();
      return { child, url: m[1] as string };
    }
  }
  throw new Error(`ferry serve ended before it listened:\n${lines.slice(-10).join("\n")}`);
}

async function loaded(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ferry_events_loaded_total (\S+)$/m.exec(text);
  return Number(m?.[1] ?? 0);
}

/** Waits until the server loaded `n` events; resolves with how long that took. */
async function loadedAll(url: string, n: number): Promise<number> {
  const at = Date.now();
  while ((await loaded(url)) < n) await new Promise((r) => setTimeout(r, 50));
  return Date.now() - at;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`ferry serve exited with ${code}`);
}

export const captureKafka: Scenario = {
  name: "capture-kafka",
  defaultRecords: 200_000,
  async prepare({ records, dir }) {
    await writeBodies(join(dir, "bodies.bin"), records);
    await clickhouseBench.prepare?.({ records, dir });
  },
  async run({ records, dir, peakRssMb }) {
    const bodies = await readBodies(join(dir, "bodies.bin"), records);
    const perSec = (events: number, ms: number) => Math.round(events / (ms / 1000));
    const id = randomBytes(4).toString("hex");
    const dataset = `bench_kafka_${id}`;

    // 1. Through Kafka, into ClickHouse.
    const kafkaDir = join(dir, "kafka");
    mkdirSync(kafkaDir, { recursive: true });
    const kafka = await serve([
      "--log",
      `kafka://${BROKERS}?topic=bench_${id}&group=bench_${id}`,
      "--destination",
      CLICKHOUSE,
      "--dataset",
      dataset,
      "--dir",
      join(kafkaDir, ".ferry"),
    ]);
    const viaKafka = await postAll(kafka.url, bodies, CLIENTS);
    const kafkaDrainMs = await loadedAll(kafka.url, viaKafka.events);
    await stop(kafka.child);
    const conn = await ClickHouseConnection.open(parseClickHouseUrl(CLICKHOUSE), silentLogger);
    let stored: number;
    try {
      const [row] = await conn.query(`SELECT count() AS n FROM \`${dataset}\`.events FINAL`);
      stored = Number(row?.n);
      await conn.command(`DROP DATABASE IF EXISTS \`${dataset}\``);
      await conn.command(`DROP DATABASE IF EXISTS \`${dataset}_staging\``).catch(() => undefined);
    } finally {
      await conn.close();
    }
    if (stored !== viaKafka.events)
      throw new Error(`expected ${viaKafka.events} events in ClickHouse, found ${stored}`);

    // 2. The same bodies through the embedded log (persons off, as on Kafka).
    const localDir = join(dir, "local");
    mkdirSync(localDir, { recursive: true });
    writeFileSync(join(localDir, "ferry.yaml"), "serve:\n  persons: false\n");
    const local = await serve([
      "--config",
      join(localDir, "ferry.yaml"),
      "--destination",
      `duckdb:${join(localDir, "events.duckdb")}`,
      "--dir",
      join(localDir, ".ferry"),
    ]);
    const viaLocal = await postAll(local.url, bodies, CLIENTS);
    await loadedAll(local.url, viaLocal.events);
    await stop(local.child);

    // 3. ClickHouse: ferry's load against clickhouse-client's insert of the same file.
    const ch = await clickhouseBench.run({ records, dir, peakRssMb });

    return {
      records,
      rows: stored,
      measuredMs: viaKafka.ms,
      extra: {
        clients: CLIENTS,
        kafkaAckedPerSec: perSec(viaKafka.events, viaKafka.ms),
        kafkaAckMsP50: viaKafka.ackMsP50,
        kafkaAckMsP99: viaKafka.ackMsP99,
        kafkaRetries: viaKafka.retries,
        kafkaLoadedAllMsAfterLastAck: kafkaDrainMs,
        kafkaEndToEndRowsPerSec: perSec(viaKafka.events, viaKafka.ms + kafkaDrainMs),
        localAckedPerSec: perSec(viaLocal.events, viaLocal.ms),
        localAckMsP50: viaLocal.ackMsP50,
        localAckMsP99: viaLocal.ackMsP99,
        kafkaVsLocal: Number((viaKafka.ms > 0 ? viaLocal.ms / viaKafka.ms : 0).toFixed(2)),
        clickhouseServer: String(ch.extra?.server ?? ""),
        clickhouseLoadRowsPerSec: Number(ch.extra?.loadRowsPerSec ?? 0),
        clickhouseFloorRowsPerSec: Number(ch.extra?.floorRowsPerSec ?? 0),
        clickhouseLoadVsFloor: Number(ch.extra?.loadVsFloor ?? 0),
      },
    };
  },
};
