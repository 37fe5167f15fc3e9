import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Pipeline } from "../../src/index.js";
import { ferry } from "./cli.js";

/** Row count of each table (0 for a table that does not exist). */
export async function counts(p: Pipeline, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    try {
      const [r] = await p.dataset().sql(`select count(*) as n from "${t}"`);
      out[t] = Number(r?.n);
    } catch {
      out[t] = 0;
    }
  }
  return out;
}

/** Rows of a table as plain objects, ordered by `order`. */
export async function rows(p: Pipeline, sql: string): Promise<Record<string, unknown>[]> {
  return (await p.dataset().sql(sql)) as Record<string, unknown>[];
}

/** Every file under `dir` (recursively) whose bytes contain `secret`. */
export function filesContaining(dir: string, secret: string): string[] {
  const needle = Buffer.from(secret);
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

/**
 * Asserts a pipeline run through the CLI left the secret nowhere: not in the run's output, not in
 * `pipeline <name> info | trace | failed-jobs` (text and --json), not in any file of the working dir.
 */
export function assertSecretNowhere(
  cwd: string,
  pipelineName: string,
  secret: string,
  outputs: string[],
  env: Record<string, string> = {},
): void {
  for (const [i, o] of outputs.entries())
    assert.ok(!o.includes(secret), `run output ${i} shows the secret:\n${o}`);
  for (const cmd of ["info", "trace", "failed-jobs"]) {
    for (const json of [[], ["--json"]]) {
      const r = ferry(["pipeline", pipelineName, cmd, ...json], cwd, env);
      assert.ok(
        !r.stdout.includes(secret) && !r.stderr.includes(secret),
        `ferry pipeline ${pipelineName} ${cmd} ${json.join(" ")} shows the secret:\n${r.stdout}\n${r.stderr}`,
      );
    }
  }
  assert.deepEqual(filesContaining(cwd, secret), [], "files of the working dir hold the secret");
}
