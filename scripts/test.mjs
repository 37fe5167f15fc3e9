#!/usr/bin/env node
// Runs the test suites with node's test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [unit|integration|all] [files...]   (files given: only those run)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const which = process.argv[2] ?? "all";
const dirs = which === "all" ? ["test/unit", "test/integration"] : [`test/${which}`];
const files = [];
const walk = (d) => {
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (f.endsWith(".test.ts")) files.push(p);
  }
};
for (const d of dirs) {
  try {
    walk(d);
  } catch {
    // a suite folder may not exist yet
  }
}
files.sort();
const only = process.argv.slice(3);
if (only.length > 0) files.splice(0, files.length, ...only);
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...files],
  { stdio: "inherit", env: { ...process.env, FERRY_LOG_LEVEL: process.env.FERRY_LOG_LEVEL ?? "silent" } },
);
process.exit(result.status ?? 1);
