/**
 * The quickstart: bundled sample data (customers and orders, nested JSON) loaded offline into DuckDB.
 *
 *   npm start                       # = npx ferry run examples/quickstart.ts
 *   npx ferry pipeline quickstart info
 *   npx ferry pipeline quickstart schema
 */
import { pipeline, resource, source } from "ferry";
import { customers, orders } from "./sample-data.js";

const customerResource = resource(
  { name: "customers", primaryKey: "id", writeDisposition: "merge" },
  function* () {
    yield* customers(1000);
  },
);

// Incremental: a second run only loads orders updated after the last one it saw.
const orderResource = resource(
  {
    name: "orders",
    primaryKey: "id",
    writeDisposition: "merge",
    incremental: { cursor: "updatedAt", initialValue: "2024-01-01T00:00:00Z" },
  },
  async function* (ctx) {
    ctx.log.debug(`reading orders updated after ${String(ctx.incremental.startValue)}`);
    const page: unknown[] = [];
    for (const order of orders(3000)) {
      page.push(order);
      if (page.length === 500) yield page.splice(0);
    }
    if (page.length > 0) yield page;
  },
);

export const quickstart = pipeline({
  name: "quickstart",
  destination: "duckdb:quickstart.duckdb",
  dataset: "shop",
});

export default source({ name: "shop", resources: [customerResource, orderResource] });
