/**
 * `npm run bench -- [scenario] [--records N[,N...]] [--json]`: runs a scenario in a fresh process per size and
 * prints throughput and peak RSS; results are also written to bench/results/<scenario>-<time>.json.
 *
 *   npm run bench                                # nested at 50k, 200k, 400k records (memory must stay flat)
 *   npm run bench -- rest                        # REST API scenario (latency-bound)
 *   npm run bench -- nested --records 10000      # one custom size
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SCENARIOS } from "./scenarios/index.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const recordsAt = args.indexOf("--records");
const sizesArg = recordsAt >= 0 ? args[recordsAt + 1] : undefined;
const name = args.find((a, i) => !a.startsWith("--") && (recordsAt < 0 || i !== recordsAt + 1)) ?? "nested";
const scenario = SCENARIOS[name];
if (!scenario) {
  console.error(`unknown scenario "${name}"; scenarios: ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}
const sizes = sizesArg
  ? sizesArg.split(",").map(Number)
  : name === "nested"
    ? [50_000, 200_000, 400_000]
    : [scenario.defaultRecords];
const worker = fileURLToPath(new URL("./worker.ts", import.meta.url));
// ferry itself runs from the built package (see use-dist.mjs); FERRY_BENCH_SRC=1 runs the TypeScript sources.
const useDist =
  process.env.FERRY_BENCH_SRC === "1"
    ? []
    : ["--import", fileURLToPath(new URL("./use-dist.mjs", import.meta.url))];

const results: Record<string, unknown>[] = [];
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-"));
  if (scenario.prepare) {
    const prep = spawnSync(process.execPath, ["--import", "tsx", worker, name, String(n), dir, "--prepare"], {
      encoding: "utf8",
    });
    if (prep.status !== 0) {
      process.stderr.write(prep.stderr);
      process.exit(1);
    }
  }
  const r = spawnSync(process.execPath, ["--import", "tsx", ...useDist, worker, name, String(n), dir], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  results.push(JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>);
}

const dir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const file = `${dir}${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ scenario: name, node: process.version, results }, null, 2));

if (json) {
  console.log(JSON.stringify(results));
} else {
  console.log(`scenario ${name}, node ${process.version}, ${process.platform}/${process.arch}`);
  for (const r of results) console.log(JSON.stringify(r));
  const first = results[0] as { peakRssMb?: number; records?: number } | undefined;
  const last = results[results.length - 1] as { peakRssMb?: number; records?: number } | undefined;
  if (first && last && first !== last && first.peakRssMb && last.peakRssMb && first.records && last.records) {
    console.log(
      `peak RSS x${(last.peakRssMb / first.peakRssMb).toFixed(2)} for x${(last.records / first.records).toFixed(1)} input`,
    );
  }
  console.log(`written ${file}`);
}
