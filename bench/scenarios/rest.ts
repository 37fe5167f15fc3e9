/**
 * `rest`: a local API answers every page after 10 ms. A parent resource pages through N/100 ids (100 per page,
 * sequential), and a dependent resource requests one page of 100 events per id, concurrently. The run should be
 * bound by the API's latency: compare the wall time with the latency floor, and CPU per request.
 */
import { join } from "node:path";
import { pipeline, silentLogger } from "../../src/index.js";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { FakeApi, pathParams } from "../../src/testing/index.js";
import type { Scenario } from "./scenario.js";

const LATENCY_MS = 10;
const PAGE = 100;
const CONCURRENCY = 20;

export const rest: Scenario = {
  name: "rest",
  defaultRecords: 2_000,
  async run({ records: parents, dir }) {
    const parentPages = Math.ceil(parents / PAGE);
    const api = await FakeApi.start([
      {
        path: "/ids",
        handler: (r) => {
          const page = Number(r.query.get("page") ?? 1);
          const start = (page - 1) * PAGE;
          const ids = Array.from({ length: Math.max(0, Math.min(PAGE, parents - start)) }, (_, i) => ({
            id: start + i + 1,
          }));
          return { delayMs: LATENCY_MS, json: { data: ids, total_pages: parentPages } };
        },
      },
      {
        path: /\/ids\/(?<id>\d+)\/events/,
        handler: (r) => {
          const id = Number(pathParams(/\/ids\/(?<id>\d+)\/events/, r.path).id);
          const events = Array.from({ length: PAGE }, (_, i) => ({
            seq: i,
            kind: i % 3 === 0 ? "push" : "comment",
            at: new Date(Date.UTC(2024, 0, 1) + id * 60_000 + i * 1000).toISOString(),
            actor: { login: `user${id}`, id },
          }));
          return { delayMs: LATENCY_MS, json: events };
        },
      },
    ]);
    try {
      const src = restApiSource({
        name: "bench_rest",
        client: { base_url: api.url, concurrency: CONCURRENCY },
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
      const cpu0 = process.cpuUsage();
      const t0 = Date.now();
      const info = await p.run(src);
      const wall = Date.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const requests = api.requests.length;
      const expected = parents * PAGE;
      if (info.rows.events !== expected)
        throw new Error(`expected ${expected} events, got ${info.rows.events}`);
      const floor = parentPages * LATENCY_MS + Math.ceil(parents / CONCURRENCY) * LATENCY_MS;
      return {
        records: expected,
        rows: Object.values(info.rows).reduce((a, b) => a + b, 0),
        stagesMs: {
          extract: info.durationsMs.extract,
          normalize: info.durationsMs.normalize,
          load: info.durationsMs.load,
        },
        extra: {
          requests,
          requestsPerSec: Math.round(requests / (info.durationsMs.extract / 1000)),
          cpuMsPerRequest: Number(((cpu.user + cpu.system) / 1000 / requests).toFixed(3)),
          extractMs: info.durationsMs.extract,
          latencyFloorMs: floor,
          maxInFlight: api.maxInFlight,
          wallMs: wall,
        },
      };
    } finally {
      await api.close();
    }
  },
};
