/**
 * `rest`: a local API (its own process) answers every page after 10 ms. A parent resource pages through N ids
 * (100 per page, sequential), and a dependent resource requests one page of 100 events per id, concurrently.
 * The run should be bound by the API's latency: compare extract time with the latency floor, and CPU per request.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pipeline, silentLogger } from "../../src/index.js";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import type { Scenario } from "./scenario.js";

const LATENCY_MS = 10;
const PAGE = 100;
// Requests in flight (BENCH_REST_CONCURRENCY to change): the latency floor below assumes it.
const CONCURRENCY = Number(process.env.BENCH_REST_CONCURRENCY ?? 10);

export const rest: Scenario = {
  name: "rest",
  defaultRecords: 2_000,
  async run({ records: parents, dir }) {
    const server = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("../rest-api-server.ts", import.meta.url)),
        String(parents),
        String(LATENCY_MS),
        String(PAGE),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const lines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
    const url = String((await lines.next()).value);
    try {
      const src = restApiSource({
        name: "bench_rest",
        client: { base_url: url, concurrency: CONCURRENCY },
        resources: [
          {
            name: "ids",
            endpoint: {
              path: "ids",
              data_selector: "data",
              paginator: { type: "page_number", base_page: 1, total_path: "total_pages" },
            },
          },
          { name: "events", endpoint: { path: "ids/{resources.ids.id}/events", paginator: "single_page" } },
        ],
      });
      const p = pipeline({
        name: "bench_rest",
        destination: `duckdb:${join(dir, "rest.duckdb")}`,
        dir: join(dir, ".ferry"),
        logger: silentLogger,
      });
      const t0 = Date.now();
      // Extract on its own, to measure the CPU the HTTP side costs per request.
      const cpu0 = process.cpuUsage();
      await p.extract(src);
      const cpu = process.cpuUsage(cpu0);
      const extractMs = Date.now() - t0;
      const info = await p.run();
      server.stdin.end();
      const stats = JSON.parse(String((await lines.next()).value)) as {
        requests: number;
        maxInFlight: number;
        serverCpuMs: number;
      };
      const expected = parents * PAGE;
      if (info.rows.events !== expected)
        throw new Error(`expected ${expected} events, got ${info.rows.events}`);
      const parentPages = Math.ceil(parents / PAGE);
      const floor = parentPages * LATENCY_MS + Math.ceil(parents / CONCURRENCY) * LATENCY_MS;
      return {
        records: expected,
        rows: Object.values(info.rows).reduce((a, b) => a + b, 0),
        stagesMs: { extract: extractMs, normalize: info.durationsMs.normalize, load: info.durationsMs.load },
        extra: {
          requests: stats.requests,
          requestsPerSec: Math.round(stats.requests / (extractMs / 1000)),
          extractCpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / stats.requests).toFixed(3)),
          latencyFloorMs: floor,
          maxInFlight: stats.maxInFlight,
          // The API shares the 2 cores: its CPU is time ferry could not use.
          apiServerCpuMs: stats.serverCpuMs,
        },
      };
    } finally {
      if (server.exitCode === null) {
        server.kill();
        await once(server, "exit");
      }
    }
  },
};
