/**
 * `capture-plugins`: the capture scenario's max phase (concurrent clients post gzip `/batch/` bodies of 50 events
 * shaped like posthog-node's, as fast as acknowledgements come) against three `ferry serve` processes in the same
 * run: one without plugins and without person processing (`persons: false`, the peer of the target), one with person
 * processing only (what the plugin adds to), and one with one processEvent plugin and person processing (the
 * default). For each: events/s acknowledged, events/s loaded (from the first request until every event is
 * queryable), and CPU per event of the server and its plugin host; then the ratios of the last to the first two.
 *
 *   npm run bench -- capture-plugins --records 500000
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { BENCH_TOKEN, readBodies, writeBodies } from "../capture/bodies.js";
import { postAll } from "../capture/load-generator.js";
import type { Scenario } from "./scenario.js";

const CLIENTS = Number(process.env.BENCH_CAPTURE_CLIENTS ?? 32);
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** The plugin of the measured run: what plugins commonly do (read properties, add one, drop one). */
const PLUGIN = `export function processEvent(event, { config }) {
  const url = event.properties.$current_url;
  if (typeof url === "string") event.properties.$pathname = url.replace(/^https?:\\/\\/[^/]+/, "");
  event.properties.plan_tier = event.properties.plan === "pro" ? config.paid : "free";
  delete event.properties.$geoip_disable;
  return event;
}
`;

/** CPU seconds of a process and its descendants (the plugin host), from /proc. */
function treeCpuSeconds(pid: number): { self: number; children: number } {
  const cpu = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  };
  const kids = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((t) =>
        readFileSync(`/proc/${p}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  const all = (p: number): number[] => kids(p).flatMap((k) => [k, ...all(k)]);
  return { self: cpu(pid), children: all(pid).reduce((n, k) => n + cpu(k), 0) };
}

async function loaded(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("ferry_events_loaded_total"));
  return Number(line?.split(" ")[1] ?? 0);
}

async function listening(child: ChildProcess): Promise<string> {
  for await (const line of createInterface({ input: child.stderr as NodeJS.ReadableStream })) {
    const m = /capture listening on (http:\/\/\S+)/.exec(line);
    if (m) return m[1] as string;
  }
  throw new Error("ferry serve ended before listening");
}

/** One server with `project` as its only project: the max phase, then until everything is loaded. */
async function run(
  dir: string,
  name: string,
  serve: Record<string, unknown>,
  project: Record<string, unknown>,
  bodies: { body: Buffer; events: number }[],
) {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    JSON.stringify({
      serve: {
        port: 0,
        destination: `duckdb:${join(dir, `${name}.duckdb`)}`,
        dir: join(dir, `.ferry-${name}`),
        ...serve,
        projects: [{ token: BENCH_TOKEN, ...project }],
      },
    }),
  );
  const server = spawn(process.execPath, [CLI, "serve", "--config", config], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, FERRY_LOG_LEVEL: "info" },
    cwd: dir,
  });
  const url = await listening(server);
  server.stderr?.resume();
  const pid = server.pid as number;
  const cpu0 = treeCpuSeconds(pid);
  const started = performance.now();
  const acked = await postAll(url, bodies, CLIENTS);
  while ((await loaded(url)) < acked.events) await new Promise((r) => setTimeout(r, 50));
  const allLoadedMs = performance.now() - started;
  const cpu1 = treeCpuSeconds(pid);
  server.kill("SIGTERM");
  const [code] = await once(server, "exit");
  if (code !== 0) throw new Error(`ferry serve (${name}) exited with ${code}`);
  const per100k = (s: number) => Number(((s / acked.events) * 100_000).toFixed(2));
  return {
    ackedPerSec: Math.round(acked.events / (acked.ms / 1000)),
    loadedPerSec: Math.round(acked.events / (allLoadedMs / 1000)),
    ackMsP99: acked.ackMsP99,
    serverCpuSecPer100k: per100k(cpu1.self - cpu0.self),
    hostCpuSecPer100k: per100k(cpu1.children - cpu0.children),
    events: acked.events,
    ms: allLoadedMs,
  };
}

export const capturePlugins: Scenario = {
  name: "capture-plugins",
  defaultRecords: 500_000,
  async prepare({ records, dir }) {
    for (const name of ["bare", "persons", "plugins"]) await writeBodies(join(dir, `${name}.bin`), records);
  },
  async run({ records, dir }) {
    writeFileSync(join(dir, "bench-plugin.js"), PLUGIN);
    const bare = await run(
      dir,
      "bare",
      { persons: false },
      {},
      await readBodies(join(dir, "bare.bin"), records),
    );
    const persons = await run(dir, "persons", {}, {}, await readBodies(join(dir, "persons.bin"), records));
    const withPlugins = await run(
      dir,
      "plugins",
      {},
      { plugins: [{ module: "./bench-plugin.js", name: "bench", config: { paid: "paid" } }] },
      await readBodies(join(dir, "plugins.bin"), records),
    );
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    return {
      records: bare.events + persons.events + withPlugins.events,
      rows: bare.events + persons.events + withPlugins.events,
      measuredMs: withPlugins.ms,
      extra: {
        clients: CLIENTS,
        bareAckedPerSec: bare.ackedPerSec,
        bareLoadedPerSec: bare.loadedPerSec,
        bareServerCpuSecPer100k: bare.serverCpuSecPer100k,
        personsAckedPerSec: persons.ackedPerSec,
        personsLoadedPerSec: persons.loadedPerSec,
        personsServerCpuSecPer100k: persons.serverCpuSecPer100k,
        pluginAckedPerSec: withPlugins.ackedPerSec,
        pluginLoadedPerSec: withPlugins.loadedPerSec,
        pluginAckMsP99: withPlugins.ackMsP99,
        pluginServerCpuSecPer100k: withPlugins.serverCpuSecPer100k,
        pluginHostCpuSecPer100k: withPlugins.hostCpuSecPer100k,
        ackedShareOfBare: ratio(withPlugins.ackedPerSec, bare.ackedPerSec),
        loadedShareOfBare: ratio(withPlugins.loadedPerSec, bare.loadedPerSec),
        loadedShareOfPersons: ratio(withPlugins.loadedPerSec, persons.loadedPerSec),
        // The share of the bare server's rate this one reaches where CPU bounds both (CPU per event, inverted):
        // what a busy machine's wall-clock rates cannot show.
        cpuBoundShareOfBare: ratio(
          bare.serverCpuSecPer100k + bare.hostCpuSecPer100k,
          withPlugins.serverCpuSecPer100k + withPlugins.hostCpuSecPer100k,
        ),
      },
    };
  },
};
