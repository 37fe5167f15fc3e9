/**
 * `nested`: N generated user records (nested objects, a list of tags, a list of orders: 4 rows in 3 tables per
 * record) through extract, normalize and load into a fresh DuckDB file.
 */
import { resource } from "../../src/index.js";
import { runIntoDuckDb } from "./duckdb-run.js";
import type { Scenario } from "./scenario.js";

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

export const nested: Scenario = {
  name: "nested",
  defaultRecords: 200_000,
  async run({ records: count, dir }) {
    return (
      await runIntoDuckDb(
        dir,
        "nested",
        resource({ name: "users" }, () => records(count)),
        count,
      )
    ).result;
  },
};
