/**
 * The `rest` scenario's API, run in its own process so the benchmark's CPU numbers are ferry's alone.
 *   node --import tsx bench/rest-api-server.ts <parents> <latency ms> <page size>
 * Prints its URL on the first line of stdout; prints the request count when stdin closes, then exits.
 */
import { FakeApi, pathParams } from "../src/testing/index.js";

const [parents = 2000, latency = 10, page = 100] = process.argv.slice(2).map(Number);
const parentPages = Math.ceil(parents / page);
const EVENTS = /\/ids\/(?<id>\d+)\/events/;

const api = await FakeApi.start([
  {
    path: "/ids",
    handler: (r) => {
      const n = Number(r.query.get("page") ?? 1);
      const start = (n - 1) * page;
      const ids = Array.from({ length: Math.max(0, Math.min(page, parents - start)) }, (_, i) => ({
        id: start + i + 1,
      }));
      return { delayMs: latency, json: { data: ids, total_pages: parentPages } };
    },
  },
  {
    path: EVENTS,
    handler: (r) => {
      const id = Number(pathParams(EVENTS, r.path).id);
      const events = Array.from({ length: page }, (_, i) => ({
        seq: i,
        kind: i % 3 === 0 ? "push" : "comment",
        at: new Date(Date.UTC(2024, 0, 1) + id * 60_000 + i * 1000).toISOString(),
        actor: { login: `user${id}`, id },
      }));
      return { delayMs: latency, json: events };
    },
  },
]);
process.stdout.write(`${api.url}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  const cpu = process.cpuUsage();
  const serverCpuMs = Math.round((cpu.user + cpu.system) / 1000);
  process.stdout.write(
    `${JSON.stringify({ requests: api.requests.length, maxInFlight: api.maxInFlight, serverCpuMs })}\n`,
  );
  await api.close();
  process.exit(0);
});
