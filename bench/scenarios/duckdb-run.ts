import { join } from "node:path";
import { type LoadInfo, pipeline, type Resource, silentLogger } from "../../src/index.js";
import type { ScenarioResult } from "./scenario.js";

/** Runs one resource into a fresh DuckDB file in `dir`, checks the root table's row count, and reports. */
export async function runIntoDuckDb(
  dir: string,
  name: string,
  res: Resource,
  expectedRoots: number,
): Promise<{ info: LoadInfo; result: ScenarioResult }> {
  const p = pipeline({
    name: `bench_${name}`,
    destination: `duckdb:${join(dir, `${name}.duckdb`)}`,
    dir: join(dir, ".ferry"),
    logger: silentLogger,
  });
  const started = Date.now();
  const info = await p.run(res);
  const measuredMs = Date.now() - started;
  const root = res.name;
  if (info.rows[root] !== expectedRoots)
    throw new Error(`expected ${expectedRoots} ${root} rows, got ${info.rows[root]}`);
  return { info, result: resultOf(info, expectedRoots, measuredMs) };
}

/**
 * What a scenario reports of one ferry run: records, rows of every table, stage times and the number of tables
 * (more in `extra`).
 */
export function resultOf(
  info: LoadInfo,
  records: number,
  measuredMs: number,
  extra: Record<string, number | string> = {},
): ScenarioResult {
  return {
    records,
    rows: Object.values(info.rows).reduce((a, b) => a + b, 0),
    measuredMs,
    stagesMs: {
      extract: info.durationsMs.extract,
      normalize: info.durationsMs.normalize,
      load: info.durationsMs.load,
    },
    extra: { tables: Object.keys(info.rows).length, ...extra },
  };
}
