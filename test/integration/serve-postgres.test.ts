/**
 * `ferry serve` into the Postgres test server (FERRY_TEST_POSTGRES_URL, `scripts/services.sh up postgres`): events
 * from the real posthog-node client land in `<dataset>.events` with the contract's column types, materialized
 * properties get typed columns, and a restarted server goes on where the first stopped (no event twice).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import pg from "pg";
import { stagingSchema } from "../../src/destinations/postgres/index.js";
import { dropSchemas } from "../helpers/backends.js";
import {
  assertEventRow,
  posthogNode,
  recordingFetch,
  sentEvents,
  startTempServe,
  waitFor,
} from "../helpers/serve.js";
import { postgresColumns, postgresEvents } from "../helpers/serve-tables.js";
import { service } from "../helpers/services.js";

const TOKEN = "phc_ferry_e2e_pg";
const pgService = await service("postgres");

/** Rows in `<dataset>.events` (0 before the first load creates the table). */
async function countEvents(dataset: string): Promise<number> {
  const client = new pg.Client({ connectionString: pgService.url });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass($1) AS t", [`"${dataset}".events`]);
    if (exists.rows[0]?.t === null) return 0;
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${dataset}".events`);
    return rows[0].n as number;
  } finally {
    await client.end();
  }
}

/** Polls Postgres (readable while the server runs) until the table holds exactly `n` rows. */
const waitForRows = (dataset: string, n: number) => {
  let last = -1;
  return waitFor(
    `${n} rows in ${dataset}.events`,
    async () => {
      last = await countEvents(dataset);
      return last === n;
    },
    90_000,
    () => last,
  );
};

describe("ferry serve into Postgres", { skip: pgService.skip }, () => {
  test("posthog-node's events land in Postgres with the contract's column types and the fields sent", async () => {
    const dataset = `serve_e2e_${randomBytes(4).toString("hex")}`;
    const s = await startTempServe(
      { projects: [{ token: TOKEN, dataset, materialize: ["$browser", "$current_url"] }] },
      { destination: pgService.url },
    );
    try {
      const rec = recordingFetch();
      const ph = posthogNode(s.url, TOKEN, rec.fetch, { flushAt: 50, flushInterval: 100 });
      const start = Date.now();
      ph.capture({
        distinctId: "pg-user",
        event: "$pageview",
        properties: {
          $browser: "Firefox",
          $current_url: "https://example.com/a",
          depth: 2,
          $set: { plan: "pro" },
        },
      });
      ph.identify({
        distinctId: "pg-user",
        properties: { $set: { name: "Ada" }, $set_once: { first: "2026-01-01" } },
      });
      ph.alias({ distinctId: "pg-user", alias: "anon-1" });
      ph.groupIdentify({ groupType: "company", groupKey: "acme", properties: { name: "Acme" } });
      for (let i = 0; i < 196; i++) {
        ph.capture({
          distinctId: `pg-${i % 7}`,
          event: "clicked",
          properties: { i, $current_url: `https://example.com/${i}` },
        });
      }
      await ph.shutdown();
      const end = Date.now();
      assert.ok(rec.requests.length >= 2);
      assert.ok(rec.requests.every((r) => r.status === 200));
      const sent = sentEvents(rec.requests);
      assert.equal(sent.length, 200);

      await waitForRows(dataset, 200);
      const columns = new Map(await postgresColumns(pgService.url, dataset, "events"));
      assert.deepEqual(
        [
          "uuid",
          "event",
          "distinct_id",
          "timestamp",
          "created_at",
          "properties",
          "set",
          "set_once",
          "elements_chain",
          "ip",
          "mat_browser",
          "mat_current_url",
        ].map((c) => [c, columns.get(c)]),
        [
          ["uuid", "text"],
          ["event", "text"],
          ["distinct_id", "text"],
          ["timestamp", "timestamp with time zone"],
          ["created_at", "timestamp with time zone"],
          ["properties", "jsonb"],
          ["set", "jsonb"],
          ["set_once", "jsonb"],
          ["elements_chain", "text"],
          ["ip", "text"],
          ["mat_browser", "text"],
          ["mat_current_url", "text"],
        ],
      );
      const rows = await postgresEvents(pgService.url, dataset, ["mat_browser", "mat_current_url"]);
      assert.equal(rows.length, 200);
      const byUuid = new Map(rows.map((r) => [r.uuid, r]));
      for (const e of sent) assertEventRow(byUuid.get(e.uuid), e, [start, end]);

      const page = rows.find((r) => r.event === "$pageview");
      assert.deepEqual(
        [page?.mat_browser, page?.mat_current_url, page?.set, page?.properties.$lib],
        ["Firefox", "https://example.com/a", { plan: "pro" }, "posthog-node"],
      );
      const identify = rows.find((r) => r.event === "$identify");
      assert.deepEqual([identify?.set, identify?.set_once], [{ name: "Ada" }, { first: "2026-01-01" }]);
      const clicks = rows.filter((r) => r.event === "clicked");
      assert.equal(clicks.length, 196);
      assert.ok(
        clicks.every(
          (r) => r.mat_browser === null && r.mat_current_url === `https://example.com/${r.properties.i}`,
        ),
      );
    } finally {
      await s.cleanup();
      await dropSchemas(pgService.url, [dataset, stagingSchema(dataset)]);
    }
  });

  test("a restarted server goes on from where it stopped: events of both runs, each once", async () => {
    const dataset = `serve_e2e_${randomBytes(4).toString("hex")}`;
    const serve = { projects: [{ token: TOKEN, dataset }] };
    const first = await startTempServe(serve, { destination: pgService.url });
    let second: Awaited<ReturnType<typeof startTempServe>> | undefined;
    try {
      const rec = recordingFetch();
      const send = async (url: string, from: number, count: number) => {
        const ph = posthogNode(url, TOKEN, rec.fetch, { flushAt: 25, flushInterval: 100 });
        for (let i = from; i < from + count; i++)
          ph.capture({ distinctId: `r-${i % 4}`, event: "ran", properties: { i } });
        await ph.shutdown();
      };
      await send(first.url, 0, 60);
      await first.stop(); // loads what the log holds
      assert.equal(await countEvents(dataset), 60);

      second = await startTempServe(serve, { destination: pgService.url, dir: first.dir });
      await send(second.url, 60, 40);
      await waitForRows(dataset, 100);
      assert.ok(rec.requests.every((r) => r.status === 200));
      const rows = await postgresEvents(pgService.url, dataset);
      assert.deepEqual(
        rows.map((r) => r.properties.i).sort((a, b) => Number(a) - Number(b)),
        Array.from({ length: 100 }, (_, i) => i),
      );
      assert.deepEqual(
        new Set(rows.map((r) => r.uuid)),
        new Set(sentEvents(rec.requests).map((e) => e.uuid)),
      );
    } finally {
      await second?.cleanup();
      await first.cleanup();
      await dropSchemas(pgService.url, [dataset, stagingSchema(dataset)]);
    }
  });
});
