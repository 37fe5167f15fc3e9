/**
 * `plugins`: the cost per event of the plugin stage alone (no HTTP, no destination): pages of 2,000 events shaped like
 * posthog-node's go through `PluginStage.process` with one processEvent plugin in the sandbox (a V8 isolate in the
 * plugin host process), and, in the same run, with a plugin that returns the event unchanged (the cost of crossing
 * into the sandbox and back) and through no plugin at all (the floor: the stage returns the page).
 * Reported: wall and CPU microseconds per event, ferry's process and the plugin host's apart.
 *
 *   npm run bench -- plugins --records 200000
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IngestEvent } from "../../src/events/ingest/stage.js";
import { compilePlugin } from "../../src/events/plugins/compile.js";
import { parsePluginSpecs } from "../../src/events/plugins/plugin-config.js";
import { PluginErrors } from "../../src/events/plugins/plugin-errors.js";
import { PluginHost } from "../../src/events/plugins/plugin-host.js";
import { PluginStage } from "../../src/events/plugins/plugin-stage.js";
import { silentLogger } from "../../src/util/log.js";
import type { Scenario } from "./scenario.js";

const PAGE = 2000;
const TOKEN = "phc_bench_plugins";

/** A processEvent as plugins commonly are: read a few properties, add one, drop one. */
const TRANSFORM = `export function processEvent(event, { config }) {
  const url = event.properties.$current_url;
  if (typeof url === "string") event.properties.$pathname = url.replace(/^https?:\\/\\/[^/]+/, "");
  event.properties.plan_tier = event.properties.plan === "pro" ? config.paid : "free";
  delete event.properties.$geoip_disable;
  return event;
}`;
const PASSTHROUGH = "export function processEvent(event) { return event; }";

function page(first: number): IngestEvent[] {
  const now = new Date().toISOString();
  return Array.from({ length: PAGE }, (_, i) => {
    const k = first + i;
    return {
      uuid: `0190${String(k).padStart(28, "0")}`.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"),
      event: "$pageview",
      distinct_id: `user-${(k * 7919) % 10_000}`,
      token: TOKEN,
      timestamp: now,
      created_at: now,
      properties: {
        $lib: "posthog-node",
        $lib_version: "5.74.0",
        $geoip_disable: true,
        $current_url: `https://example.com/app/page/${k % 500}`,
        $browser: "Chrome",
        plan: k % 3 === 0 ? "pro" : "free",
        items: k % 11,
        amount: (k % 1000) / 10,
      },
      set: null,
      set_once: null,
      elements_chain: null,
      ip: "127.0.0.1",
    };
  });
}

/** CPU seconds of a process (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(dir: string, records: number, source: string | undefined) {
  const host = await PluginHost.start({ storagePath: join(dir, "storage.sqlite"), logger: silentLogger });
  try {
    const project = { token: TOKEN, dataset: "bench", materialize: [] };
    const plugins = [];
    if (source) {
      const path = join(dir, "bench-plugin.js");
      writeFileSync(path, source);
      const { code } = await compilePlugin(path, dir);
      const [spec] = parsePluginSpecs([{ module: path, name: "bench", config: { paid: "paid" } }], "bench");
      if (!spec) throw new Error("no spec");
      const key = "bench/bench";
      const loaded = await host.load({
        key,
        name: "bench",
        code,
        config: { paid: "paid" },
        timeoutMs: 1000,
        memoryMb: 128,
        allowedHosts: [],
      });
      plugins.push({ spec, key, hooks: loaded.hooks });
    }
    const stage = new PluginStage(
      host,
      new Map([[TOKEN, { project, plugins, errors: await PluginErrors.open(join(dir, "errors.jsonl")) }]]),
      () => undefined,
    );
    await stage.process(page(0), project); // warm-up: JIT in both processes
    const hostPid = host.pid as number;
    const cpu0 = process.cpuUsage();
    const host0 = cpuSeconds(hostPid);
    const t0 = performance.now();
    let out = 0;
    for (let first = 0; first < records; first += PAGE)
      out += (await stage.process(page(first), project)).length;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const hostCpu = cpuSeconds(hostPid) - host0;
    if (out !== Math.ceil(records / PAGE) * PAGE) throw new Error(`${out} events came out`);
    const perEvent = (x: number) => Number(x.toFixed(2));
    return {
      ms,
      wallUs: perEvent((ms * 1000) / out),
      ferryCpuUs: perEvent((cpu.user + cpu.system) / out),
      hostCpuUs: perEvent((hostCpu * 1e6) / out),
      events: out,
    };
  } finally {
    await host.stop();
  }
}

export const plugins: Scenario = {
  name: "plugins",
  defaultRecords: 200_000,
  async run({ records, dir }) {
    // Making the events is part of each loop: the floor measures it, so the other runs are compared with it.
    const floor = await measure(dir, records, undefined);
    const passthrough = await measure(dir, records, PASSTHROUGH);
    const transform = await measure(dir, records, TRANSFORM);
    return {
      records: transform.events,
      rows: transform.events,
      measuredMs: transform.ms,
      extra: {
        pageEvents: PAGE,
        transformWallUsPerEvent: transform.wallUs,
        transformFerryCpuUsPerEvent: transform.ferryCpuUs,
        transformHostCpuUsPerEvent: transform.hostCpuUs,
        passthroughWallUsPerEvent: passthrough.wallUs,
        passthroughFerryCpuUsPerEvent: passthrough.ferryCpuUs,
        passthroughHostCpuUsPerEvent: passthrough.hostCpuUs,
        floorWallUsPerEvent: floor.wallUs,
        floorFerryCpuUsPerEvent: floor.ferryCpuUs,
        transformEventsPerSec: Math.round(transform.events / (transform.ms / 1000)),
      },
    };
  },
};
