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
 * CPU, from the same run: the server's CPU after the last acknowledgement of the max phase is the loader's alone
 * (`loaderCpuSecPer100k` loaded), the rest of the max phase's is capture's (`captureCpuSecPer100k` acknowledged);
 * the clients' and the floor's are measured too. `coresToAckAtHalfFloor` is what acknowledging at half the floor's
 * rate would take (capture and clients), `coresToAckAndLoadAtHalfFloor` with loading as well: above 2, that target
 * is out of reach on a 2-core machine at today's CPU per event.
 *
 *   npm run bench -- capture --records 1000000     # about 1.5 minutes
 *   npm run bench -- capture --records 12000000    # a 10-minute paced phase
 *
 * Person processing is on, as `ferry serve` runs by default (`BENCH_CAPTURE_PERSONS=0` turns it off). With persons on,
 * the same run then loads the max phase's events once more into a fresh server with persons off, the peer:
 * `maxLoadedPerSec` (events/s from the first request to the last event loaded) against `peerLoadedPerSec`.
 * `BENCH_CAPTURE_DISTINCT=1000000` spreads the events over a million distinct ids, so a million persons are created
 * (default 10,000); `BENCH_CAPTURE_PEER=0` skips the peer.
 *
 *   BENCH_CAPTURE_DISTINCT=1000000 npm run bench -- capture --records 1000000   # a million persons
 *
 * The server inherits the environment: the memory settings of docs/capture.md ("Memory") are measured so:
 *
 *   MALLOC_ARENA_MAX=2 FERRY_DUCKDB_THREADS=1 FERRY_DUCKDB_MEMORY_LIMIT=64MB npm run bench -- capture --records 300000
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BENCH_TOKEN, readBodies, writeBodies } from "../capture/bodies.js";
import { postAll } from "../capture/load-generator.js";
import type { Scenario } from "./scenario.js";

const CLIENTS = Number(process.env.BENCH_CAPTURE_CLIENTS ?? 32);
const RATE = Number(process.env.BENCH_CAPTURE_RATE ?? 20_000);
const PERSONS = process.env.BENCH_CAPTURE_PERSONS !== "0";
const PEER = PERSONS && process.env.BENCH_CAPTURE_PEER !== "0";
/** Extra node flags for the server process (`--cpu-prof --cpu-prof-dir=/tmp/prof`, `--heap-prof`), for profiling. */
const SERVER_NODE_ARGS = (process.env.BENCH_CAPTURE_NODE_ARGS ?? "").split(" ").filter(Boolean);
/** A file the server's log (stderr) is copied to, to see its batches and status lines. */
const SERVER_LOG = process.env.BENCH_CAPTURE_SERVER_LOG;
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
    const { server, url, pid } = await startServer(dir, "events", PERSONS);
    const loadedAll = (n: number) => loadedEvents(url, n);
    const cpu0 = cpuSeconds(pid);
    const client0 = process.cpuUsage();
    const max = await postAll(url, maxBodies, CLIENTS);
    const clientCpu = cpuUsageSeconds(process.cpuUsage(client0));
    const cpuAtLastAck = cpuSeconds(pid);
    const loadedAtLastAck = await loadedCount(url);
    const drainMs = await loadedAll(max.events);
    const cpu = cpuSeconds(pid) - cpu0;
    // The server's CPU split by what it did, from this run alone: after the last acknowledgement only the loader
    // works, which gives its CPU per event; the rest of the max phase's CPU is capture's.
    const loaderCpuPerEvent = (cpu0 + cpu - cpuAtLastAck) / Math.max(1, max.events - loadedAtLastAck);
    const captureCpuPerEvent = (cpuAtLastAck - cpu0 - loaderCpuPerEvent * loadedAtLastAck) / max.events;

    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(procStatus(pid, "VmRSS")), 1000);
    const before = await metric(url, "ferry_visibility_latency_seconds");
    const paced = await postAll(url, pacedBodies, CLIENTS, RATE);
    await loadedAll(max.events + paced.events);
    clearInterval(sampler);
    const after = await metric(url, "ferry_visibility_latency_seconds");
    const peakRssMb = procStatus(pid, "VmHWM");
    await stopServer(server);
    const total = await storedOnce(join(dir, "events.duckdb"));
    if (total !== 2 * records)
      throw new Error(`expected ${2 * records} events stored once each, found ${total}`);

    // The peer: the same max phase into a fresh server (own destination and dir) with persons off.
    let peer: { loadedPerSec: number; peakRssMb: number; cpuSecPer100k: number } | undefined;
    if (PEER) {
      const p = await startServer(dir, "peer", false);
      const peerCpu0 = cpuSeconds(p.pid);
      const load = await postAll(p.url, maxBodies, CLIENTS);
      const drain = await loadedEvents(p.url, load.events);
      peer = {
        loadedPerSec: Math.round(load.events / ((load.ms + drain) / 1000)),
        peakRssMb: procStatus(p.pid, "VmHWM"),
        cpuSecPer100k: ((cpuSeconds(p.pid) - peerCpu0) / load.events) * 100_000,
      };
      await stopServer(p.server);
    }

    const floor = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("../capture/floor-server.ts", import.meta.url)), dir],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const floorUrl = await lineMatching(floor, "stdout", /^(http:\/\/\S+)$/);
    const floorCpu0 = cpuSeconds(floor.pid as number);
    const floorClient0 = process.cpuUsage();
    const floorLoad = await postAll(floorUrl, maxBodies, CLIENTS);
    const floorClientCpu = cpuUsageSeconds(process.cpuUsage(floorClient0));
    const floorCpu = cpuSeconds(floor.pid as number) - floorCpu0;
    floor.stdin?.end();
    await once(floor, "exit");

    const perSec = (events: number, ms: number) => Math.round(events / (ms / 1000));
    const per100k = (seconds: number, events: number) => Number(((seconds / events) * 100_000).toFixed(2));
    // What acknowledging at half the floor's rate would take on this machine, by the CPU each side used per event.
    const halfFloor = perSec(floorLoad.events, floorLoad.ms) / 2;
    const clientCpuPerEvent = clientCpu / max.events;
    const maxLoadedPerSec = perSec(max.events, max.ms + drainMs);
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
        maxLoadedPerSec,
        ...(peer
          ? {
              peerLoadedPerSec: peer.loadedPerSec,
              peerPeakRssMb: peer.peakRssMb,
              shareOfPeer: Number((maxLoadedPerSec / peer.loadedPerSec).toFixed(2)),
              peerCpuSecPer100k: Number(peer.cpuSecPer100k.toFixed(2)),
              // CPU time per event against the peer's: what the rates would be on a machine of its own.
              cpuShareOfPeer: Number((peer.cpuSecPer100k / ((cpu / max.events) * 100_000)).toFixed(2)),
            }
          : {}),
        loadAverage: loadavg()
          .map((l) => l.toFixed(1))
          .join(" "),
        serverCpuSecPer100k: Number(((cpu / max.events) * 100_000).toFixed(2)),
        pacedOffered: RATE,
        pacedAckedPerSec: perSec(paced.events, paced.ms),
        pacedAckMsP50: paced.ackMsP50,
        pacedAckMsP99: paced.ackMsP99,
        pacedVisibilityP99: quantileBound(before, after, "ferry_visibility_latency_seconds", 0.99),
        pacedRssMbAtQuarters: [1, 2, 3, 4].map(quarter).join("/"),
        retries: max.retries + paced.retries,
        maxServerCores: Number(((cpuAtLastAck - cpu0) / (max.ms / 1000)).toFixed(2)),
        maxClientCores: Number((clientCpu / (max.ms / 1000)).toFixed(2)),
        captureCpuSecPer100k: per100k(captureCpuPerEvent, 1),
        loaderCpuSecPer100k: per100k(loaderCpuPerEvent, 1),
        clientCpuSecPer100k: per100k(clientCpu, max.events),
        floorCpuSecPer100k: per100k(floorCpu, floorLoad.events),
        floorClientCpuSecPer100k: per100k(floorClientCpu, floorLoad.events),
        coresToAckAtHalfFloor: Number((halfFloor * (captureCpuPerEvent + clientCpuPerEvent)).toFixed(2)),
        coresToAckAndLoadAtHalfFloor: Number(
          (halfFloor * (captureCpuPerEvent + loaderCpuPerEvent + clientCpuPerEvent)).toFixed(2),
        ),
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

/** A `ferry serve` of its own (port 0, DuckDB destination `<name>.duckdb`, `--dir <name>.ferry`) with persons on or off. */
async function startServer(
  dir: string,
  name: string,
  persons: boolean,
): Promise<{ server: ChildProcess; url: string; pid: number }> {
  const config = join(dir, `${name}.yaml`);
  // With the server's log kept, a status line every 2 s shows accepted and loaded events/s as the run goes.
  const status = SERVER_LOG ? "  status_interval: 2s\n" : "";
  writeFileSync(config, `serve:\n  persons: ${persons}\n${status}`);
  const server = spawn(
    process.execPath,
    [
      ...SERVER_NODE_ARGS,
      CLI,
      "serve",
      "--config",
      config,
      "--port",
      "0",
      "--token",
      BENCH_TOKEN,
      "--destination",
      `duckdb:${join(dir, `${name}.duckdb`)}`,
      "--dir",
      join(dir, `${name}.ferry`),
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, FERRY_LOG_LEVEL: SERVER_LOG ? "debug" : "info" },
    },
  );
  const url = await lineMatching(server, "stderr", /capture listening on (http:\/\/\S+)/);
  if (SERVER_LOG) server.stderr?.pipe(createWriteStream(`${SERVER_LOG}.${name}`));
  else server.stderr?.resume();
  return { server, url, pid: server.pid as number };
}

async function stopServer(server: ChildProcess): Promise<void> {
  server.kill("SIGTERM");
  const [code] = await once(server, "exit");
  if (code !== 0) throw new Error(`ferry serve exited with ${code}`);
}

/** Events the server has loaded so far. */
async function loadedCount(url: string): Promise<number> {
  return (await metric(url, "ferry_events_loaded_total")).get("ferry_events_loaded_total") ?? 0;
}

/** Waits until the server has loaded `n` events; the milliseconds it took. */
async function loadedEvents(url: string, n: number): Promise<number> {
  const at = Date.now();
  for (;;) {
    if ((await loadedCount(url)) >= n) return Date.now() - at;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CPU seconds (user and system) of a `process.cpuUsage()` difference. */
function cpuUsageSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}

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
