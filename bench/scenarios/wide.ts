/** `wide`: N flat records with 30 columns of mixed types from an in-memory generator (no parsing) into DuckDB. */
import { resource } from "../../src/index.js";
import { runIntoDuckDb } from "./duckdb-run.js";
import type { Scenario } from "./scenario.js";

function* rows(n: number) {
  const base = Date.UTC(2024, 0, 1);
  for (let start = 0; start < n; start += 1000) {
    const page = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const row: Record<string, unknown> = { id: i, created_at: new Date(base + i * 1000).toISOString() };
      for (let c = 0; c < 7; c++) {
        row[`int_${c}`] = i * (c + 1);
        row[`float_${c}`] = i / (c + 3);
        row[`text_${c}`] = `value ${i % (100 + c)}`;
        row[`flag_${c}`] = (i + c) % 2 === 0;
      }
      page.push(row);
    }
    yield page;
  }
}

export const wide: Scenario = {
  name: "wide",
  defaultRecords: 2_000_000,
  async run({ records: n, dir }) {
    return (
      await runIntoDuckDb(
        dir,
        "wide",
        resource({ name: "wide" }, () => rows(n)),
        n,
      )
    ).result;
  },
};
