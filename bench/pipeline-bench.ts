/**
 * One benchmark run in this process: N nested records through extract, normalize and load into a fresh
 * DuckDB file. Prints one JSON line with timings, rows and peak RSS. Driven by bench/run.ts.
 *
 *   node --import tsx bench/pipeline-bench.ts 100000
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline, resource, silentLogger } from "../src/index.js";

const count = Number(process.argv[2] ?? 100_000);
const pageSize = 1000;

function* records(n: number) {
  for (let start = 0; start < n; start += pageSize) {
    const page = [];
    for (let id = start; id < Math.min(n, start + pageSize); id++) {
      page.push({
        id,
        name: `user ${id}`,
        email: `u${id}@example.com`,
        score: id * 0.5,
        active: id % 2 === 0,
        createdAt: new Date(Date.UTC(2024, 0, 1) + id * 1000).toISOString(),
        address: { city: "Berlin", zip: String(10000 + (id % 900)), geo: { lat: 52.5, lon: 13.4 } },
        tags: ["a", "b"],
        orders: [{ sku: `s${id}`, qty: 1 }],
      });
    }
    yield page;
  }
}

let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const timer = setInterval(sample, 20);

const dir = mkdtempSync(join(tmpdir(), "ferry-bench-"));
try {
  const p = pipeline({
    name: "bench",
    destination: `duckdb:${join(dir, "bench.duckdb")}`,
    dir: join(dir, ".ferry"),
    logger: silentLogger,
  });
  const started = Date.now();
  const info = await p.run(resource({ name: "users" }, () => records(count)));
  sample();
  const totalRows = Object.values(info.rows).reduce((a, b) => a + b, 0);
  const [check] = await p.dataset().sql("select count(*) as n from users");
  if (Number(check?.n) !== count) throw new Error(`expected ${count} users, found ${String(check?.n)}`);
  process.stdout.write(
    `${JSON.stringify({
      records: count,
      rows: totalRows,
      ms: { ...info.durationsMs, wall: Date.now() - started },
      recordsPerSec: Math.round(count / (info.durationsMs.total / 1000)),
      rowsPerSec: Math.round(totalRows / (info.durationsMs.total / 1000)),
      peakRssMb: Math.round(peak / 1024 / 1024),
    })}\n`,
  );
} finally {
  clearInterval(timer);
  rmSync(dir, { recursive: true, force: true });
}
