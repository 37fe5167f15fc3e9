/** `deep`: N records with 6 levels of nested arrays (a child table per level) into DuckDB. */
import { join } from "node:path";
import { pipeline, resource, silentLogger } from "../../src/index.js";
import type { Scenario } from "./scenario.js";

/** Two items per level, six levels deep: 126 child rows per record across 6 child tables. */
function level(depth: number, id: number): unknown[] {
  if (depth === 0) return [];
  return [0, 1].map((k) => ({ k, label: `l${depth}-${k}`, value: id * 10 + k, items: level(depth - 1, id) }));
}

function* records(n: number) {
  for (let start = 0; start < n; start += 500) {
    const page = [];
    for (let id = start; id < Math.min(n, start + 500); id++)
      page.push({ id, name: `root ${id}`, items: level(6, id) });
    yield page;
  }
}

export const deep: Scenario = {
  name: "deep",
  defaultRecords: 200_000,
  async run({ records: n, dir }) {
    const p = pipeline({
      name: "bench_deep",
      destination: `duckdb:${join(dir, "deep.duckdb")}`,
      dir: join(dir, ".ferry"),
      logger: silentLogger,
    });
    const info = await p.run(resource({ name: "roots" }, () => records(n)));
    if (info.rows.roots !== n) throw new Error(`expected ${n} roots, got ${info.rows.roots}`);
    return {
      records: n,
      rows: Object.values(info.rows).reduce((a, b) => a + b, 0),
      stagesMs: {
        extract: info.durationsMs.extract,
        normalize: info.durationsMs.normalize,
        load: info.durationsMs.load,
      },
      extra: { tables: Object.keys(info.rows).length },
    };
  },
};
