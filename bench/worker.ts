/**
 * Runs one scenario in this (fresh) process and prints one JSON line: timings, throughput and peak RSS.
 *   node --import tsx bench/worker.ts <scenario> <records> <dir>            (removes <dir> when done)
 *   node --import tsx bench/worker.ts <scenario> <records> <dir> --prepare  (only writes the input into <dir>)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCENARIOS } from "./scenarios/index.js";

const [name = "nested", recordsArg, dirArg, mode] = process.argv.slice(2);
const scenario = SCENARIOS[name];
if (!scenario) throw new Error(`unknown scenario ${name}; scenarios: ${Object.keys(SCENARIOS).join(", ")}`);
const records = Number(recordsArg ?? scenario.defaultRecords);
const dir = dirArg ?? mkdtempSync(join(tmpdir(), "ferry-bench-"));
if (mode === "--prepare") {
  await scenario.prepare?.({ records, dir });
  process.exit(0);
}

let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
};
const timer = setInterval(sample, 20);
try {
  const started = Date.now();
  const result = await scenario.run({
    records,
    dir,
    peakRssMb: () => {
      sample();
      return Math.round(peak / 1024 / 1024);
    },
  });
  sample();
  const wallMs = result.measuredMs ?? Date.now() - started;
  process.stdout.write(
    `${JSON.stringify({
      scenario: name,
      ...result,
      wallMs,
      recordsPerSec: Math.round(result.records / (wallMs / 1000)),
      ...(result.bytes ? { mbPerSec: Number((result.bytes / 1e6 / (wallMs / 1000)).toFixed(1)) } : {}),
      rowsPerSec: Math.round(result.rows / (wallMs / 1000)),
      peakRssMb: result.peakRssMb ?? Math.round(peak / 1024 / 1024),
    })}\n`,
  );
} finally {
  clearInterval(timer);
  rmSync(dir, { recursive: true, force: true });
}
