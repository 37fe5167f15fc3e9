/**
 * `capture`: concurrent clients post gzip `/batch/` bodies of 50 events shaped like posthog-node's to a real
 * `ferry serve` (its own process, DuckDB destination), in two phases of `records` events each:
 * - max: as fast as acknowledgements come (events/s acknowledged durably, ack latency p50/p99; the loader may fall
 *   behind, and the time it needs after the last acknowledgement is reported);
 * - paced: `BENCH_CAPTURE_RATE` events/s offered (default 20,000): visibility latency p99 (acknowledged to loaded,
 *   from the server's histogram), and the server's RSS over the phase (flat or not);
 * then, in the same run, the floor: a bare Node server that inflates the same bodies and appends them to a file with
 * the same fsync policy (bench/capture/floor-server.ts), as fast as acknowledgements come.
 *
 *   npm run bench -- capture --records 1000000     # about 1.5 minutes
 *   npm run bench -- capture --records 12000000    # a 10-minute paced phase
 *
 * Person processing is on, as `ferry serve` runs by default; `BENCH_CAPTURE_PERSONS=0` turns it off (the peer run),
 * `BENCH_CAPTURE_DISTINCT=1000000` spreads the events over a million distinct ids (default 10,000).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BENCH_TOKEN, readBodies, writeBodies } from "../capture/bodies.js";
import { postAll } from "../capture/load-generator.js";
import type { Scenario } from "./scenario.js";

const CLIENTS = Number(process.env.BENCH_CAPTURE_CLIENTS ?? 32);
const RATE = Number(process.env.BENCH_CAPTURE_RATE ?? 20_000);
const PERSONS = process.env.BENCH_CAPTURE_PERSONS !== "0";
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** The first line of a child's output matching `pattern` (its first group). */
async function lineMatching(
  child: ChildProcess,
  stream: "stdout" | "stderr",
  pattern: RegExp,
): Promise<string> {
  const out = child[stream];
  if (!out) throw new Error(`no ${stream}`);
  for await (const line of createInterface({ input: out })) {
    const m = pattern.exec(line);
    if (m) return m[1] as string;
  }
  throw new Error(`the process ended before printing ${pattern}`);
}

function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const [key, value] = line.split(" ");
    if (key !== undefined && value !== undefined) out.set(key, Number(value));
  }
  return out;
}

/** The upper bound of the histogram bucket holding the p-quantile of what was observed between two scrapes. */
function quantileBound(
  before: Map<string, number>,
  after: Map<string, number>,
  name: string,
  p: number,
): string {
  const rows = [...after]
    .filter(([k]) => k.startsWith(`${name}_bucket`))
    .map(([k, v]) => [/le="([^"]+)"/.exec(k)?.[1] ?? "", v - (before.get(k) ?? 0)] as const);
  const total = rows.find(([le]) => le === "+Inf")?.[1] ?? 0;
  const hit = rows.find(([, v]) => v >= p * total);
  return hit ? `<= ${hit[0]} s` : "n/a";
}

export const capture: Scenario = {
  name: "capture",
  defaultRecords: 1_000_000,
  async prepare({ records, dir }) {
    await writeBodies(join(dir, "max.bin"), records);
    await writeBodies(join(dir, "paced.bin"), records);
  },
  async run({ records, dir }) {
    const maxBodies = await readBodies(join(dir, "max.bin"), records);
    const pacedBodies = await readBodies(join(dir, "paced.bin"), records);
    const config = join(dir, "ferry.yaml");
    writeFileSync(config, `serve:\n  persons: ${PERSONS}\n`);
    const server = spawn(
      process.execPath,
      [
        CLI,
        "serve",
        "--config",
        config,
        "--port",
        "0",
        "--token",
        BENCH_TOKEN,
        "--destination",
        `duckdb:${join(dir, "events.duckdb")}`,
        "--dir",
        join(dir, ".ferry"),
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, FERRY_LOG_LEVEL: "info" } },
    );
    const url = await lineMatching(server, "stderr", /capture listening on (http:\/\/\S+)/);
    server.stderr?.resume();
    const pid = server.pid as number;
    const loadedAll = async (n: number) => {
      const at = Date.now();
      for (;;) {
        const loaded = (await metric(url, "ferry_events_loaded_total")).get("ferry_events_loaded_total") ?? 0;
        if (loaded >= n) return Date.now() - at;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const cpu0 = cpuSeconds(pid);
    const max = await postAll(url, maxBodies, CLIENTS);
    const drainMs = await loadedAll(max.events);
    const cpu = cpuSeconds(pid) - cpu0;

    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(procStatus(pid, "VmRSS")), 1000);
    const before = await metric(url, "ferry_visibility_latency_seconds");
    const paced = await postAll(url, pacedBodies, CLIENTS, RATE);
    await loadedAll(max.events + paced.events);
    clearInterval(sampler);
    const after = await metric(url, "ferry_visibility_latency_seconds");
    const peakRssMb = procStatus(pid, "VmHWM");
    server.kill("SIGTERM");
    const [code] = await once(server, "exit");
    if (code !== 0) throw new Error(`ferry serve exited with ${code}`);
    const total = await storedOnce(join(dir, "events.duckdb"));
    if (total !== 2 * records)
      throw new Error(`expected ${2 * records} events stored once each, found ${total}`);

    const floor = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("../capture/floor-server.ts", import.meta.url)), dir],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const floorUrl = await lineMatching(floor, "stdout", /^(http:\/\/\S+)$/);
    const floorLoad = await postAll(floorUrl, maxBodies, CLIENTS);
    floor.stdin?.end();
    await once(floor, "exit");

    const perSec = (events: number, ms: number) => Math.round(events / (ms / 1000));
    const quarter = (q: number) => rss[Math.min(rss.length - 1, Math.floor((q * rss.length) / 4))] ?? 0;
    return {
      records: 2 * records,
      rows: total,
      measuredMs: max.ms,
      peakRssMb,
      extra: {
        persons: PERSONS ? "on" : "off",
        distinctIds: Number(process.env.BENCH_CAPTURE_DISTINCT ?? 10_000),
        clients: CLIENTS,
        maxAckedPerSec: perSec(max.events, max.ms),
        maxAckMsP50: max.ackMsP50,
        maxAckMsP99: max.ackMsP99,
        maxLoadedAllMsAfterLastAck: drainMs,
        serverCpuSecPer100k: Number(((cpu / max.events) * 100_000).toFixed(2)),
        pacedOffered: RATE,
        pacedAckedPerSec: perSec(paced.events, paced.ms),
        pacedAckMsP50: paced.ackMsP50,
        pacedAckMsP99: paced.ackMsP99,
        pacedVisibilityP99: quantileBound(before, after, "ferry_visibility_latency_seconds", 0.99),
        pacedRssMbAtQuarters: [1, 2, 3, 4].map(quarter).join("/"),
        retries: max.retries + paced.retries,
        floorPerSec: perSec(floorLoad.events, floorLoad.ms),
        floorAckMsP50: floorLoad.ackMsP50,
        floorAckMsP99: floorLoad.ackMsP99,
        shareOfFloor: Number(
          (perSec(max.events, max.ms) / perSec(floorLoad.events, floorLoad.ms)).toFixed(2),
        ),
      },
    };
  },
};

/** Events in the DuckDB file, after checking that no uuid is stored twice. */
async function storedOnce(path: string): Promise<number> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  try {
    const sql = 'SELECT count(*)::INTEGER AS n, count(DISTINCT uuid)::INTEGER AS u FROM "posthog"."events"';
    const row = (await conn.runAndReadAll(sql)).getRowObjects()[0] as { n: number; u: number };
    if (row.n !== row.u) throw new Error(`${row.n} rows hold only ${row.u} distinct uuids`);
    return row.n;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
