/** `deep`: N records with 6 levels of nested arrays (a child table per level) into DuckDB. */
import { resource } from "../../src/index.js";
import { runIntoDuckDb } from "./duckdb-run.js";
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
    return (
      await runIntoDuckDb(
        dir,
        "deep",
        resource({ name: "roots" }, () => records(n)),
        n,
      )
    ).result;
  },
};
