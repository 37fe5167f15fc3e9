/**
 * `npm run bench`: runs the pipeline benchmark at growing input sizes, each in a fresh process, and prints
 * throughput per stage and peak memory. Peak RSS must stay flat as the input grows (streaming).
 *
 *   npm run bench                 # 50k, 200k, 400k records
 *   npm run bench -- 10000 20000  # custom sizes
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const runs = sizes.length > 0 ? sizes : [50_000, 200_000, 400_000];
const script = fileURLToPath(new URL("./pipeline-bench.ts", import.meta.url));

interface Result {
  records: number;
  rows: number;
  ms: { extract: number; normalize: number; load: number; total: number };
  recordsPerSec: number;
  rowsPerSec: number;
  peakRssMb: number;
}

const results: Result[] = [];
for (const n of runs) {
  const r = spawnSync(process.execPath, ["--import", "tsx", script, String(n)], { encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const line = r.stdout.trim().split("\n").pop() ?? "{}";
  results.push(JSON.parse(line) as Result);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
console.log(
  `${pad("records", 9)} ${pad("rows", 9)} ${pad("extract ms", 11)} ${pad("normalize ms", 13)} ${pad("load ms", 9)} ${pad("total ms", 9)} ${pad("records/s", 10)} ${pad("rows/s", 9)} ${pad("peak RSS MB", 12)}`,
);
for (const r of results) {
  console.log(
    `${pad(r.records, 9)} ${pad(r.rows, 9)} ${pad(r.ms.extract, 11)} ${pad(r.ms.normalize, 13)} ${pad(r.ms.load, 9)} ${pad(r.ms.total, 9)} ${pad(r.recordsPerSec, 10)} ${pad(r.rowsPerSec, 9)} ${pad(r.peakRssMb, 12)}`,
  );
}
const first = results[0];
const last = results[results.length - 1];
if (first && last && last !== first) {
  const growth = last.peakRssMb / first.peakRssMb;
  console.log(`peak RSS x${growth.toFixed(2)} for x${(last.records / first.records).toFixed(1)} input`);
}
