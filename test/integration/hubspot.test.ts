/**
 * The HubSpot source against FakeHubSpot (ferry/testing), a local portal written from HubSpot's CRM API reference
 * (no HubSpot server can run here): properties discovered and typed, associations, owners, pipelines, archived
 * objects, incremental runs through the search API past its 10,000-results limit, rate limits, tokens and scopes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { LoadInfo, Pipeline } from "../../src/index.js";
import { type HubSpotOptions, hubspotSource } from "../../src/sources/hubspot/index.js";
import { FakeHubSpot, type FakeHubSpotOptions } from "../../src/testing/index.js";
import { describeError } from "../../src/util/errors.js";
import { ensureBuilt, ferryAsync, stackLines } from "../helpers/cli.js";
import { idStats, withPipeline } from "../helpers/rest-api.js";
import { assertSecretNowhere, counts, rows } from "../helpers/saas.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const MIN = 60_000;

async function withHubSpot<T>(o: FakeHubSpotOptions, fn: (h: FakeHubSpot) => Promise<T>): Promise<T> {
  const h = await FakeHubSpot.start({ now: T0, ...o });
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

const FAST = { requests_per_second: 1000, search_requests_per_second: 1000 };

async function run(p: Pipeline, h: FakeHubSpot, o: Partial<HubSpotOptions> = {}): Promise<LoadInfo> {
  return p.run(await hubspotSource({ access_token: "pat-na1-test", base_url: h.url, ...FAST, ...o }));
}

const searches = (h: FakeHubSpot, type: string) =>
  h.requests.filter((r) => r.method === "POST" && r.path === `/crm/v3/objects/${type}/search`);

describe("hubspot source against FakeHubSpot", () => {
  test("first run lists everything with all properties, typed; the second loads only the changed, new and archived objects", () =>
    withHubSpot({ limits: { searchPerSecond: 100 } }, (h) =>
      withPipeline("hubspot_runs", async ({ p }) => {
        h.defineProperty("contacts", { name: "lead_score", type: "number" });
        h.defineProperty("contacts", { name: "is_vip", type: "bool" });
        h.defineProperty("contacts", { name: "renewal_date", type: "date" });
        const acme = h.create("companies", { name: "Acme", numberofemployees: 12, is_public: "true" });
        const globex = h.create("companies", { name: "Globex" });
        const contacts = Array.from({ length: 230 }, (_, i) =>
          h.create("contacts", {
            email: `c${i}@example.com`,
            firstname: `C${i}`,
            lead_score: i % 2 ? `${i}.5` : String(i),
            is_vip: i % 3 === 0 ? "true" : "false",
            renewal_date: i === 0 ? "2026-03-01" : "",
          }),
        );
        for (const c of contacts.slice(0, 10))
          h.associate("contacts", c.id, "companies", acme.id, c === contacts[0] ? "Primary" : null);
        const deal = h.create("deals", { dealname: "Big", amount: "1500.50", dealstage: "closedwon" });
        h.associate("deals", deal.id, "companies", acme.id);
        h.associate("deals", deal.id, "contacts", contacts[0]?.id as string);
        h.tick(2 * MIN);

        const first = await run(p, h, { resources: ["contacts", "companies", "deals"] });
        assert.deepEqual(first.rows, {
          contacts: 230,
          contacts__associations: 10 + 1,
          companies: 2,
          companies__associations: 10 + 1,
          deals: 1,
          deals__associations: 2,
        });
        // Three list pages of contacts with every property in the URL; the search API is not used on a first run.
        const lists = h.requests.filter(
          (r) => r.path === "/crm/v3/objects/contacts" && r.query.get("archived") === "false",
        );
        assert.equal(lists.length, 3);
        assert.deepEqual(lists[0]?.query.get("properties")?.split(",").sort(), [
          "createdate",
          "email",
          "firstname",
          "hs_object_id",
          "is_vip",
          "lastmodifieddate",
          "lastname",
          "lead_score",
          "lifecyclestage",
          "renewal_date",
        ]);
        assert.equal(searches(h, "contacts").length, 0);
        const types = await rows(
          p,
          "select column_name, data_type from information_schema.columns where table_name = 'contacts' and column_name in ('lead_score', 'is_vip', 'renewal_date', 'created_at', 'archived', 'id') order by column_name",
        );
        assert.deepEqual(
          types.map((r) => [r.column_name, r.data_type]),
          [
            ["archived", "BOOLEAN"],
            ["created_at", "TIMESTAMP WITH TIME ZONE"],
            ["id", "VARCHAR"],
            ["is_vip", "BOOLEAN"],
            ["lead_score", "DOUBLE"],
            ["renewal_date", "DATE"],
          ],
        );
        const [c0] = await rows(
          p,
          `select lead_score, is_vip, renewal_date::varchar as r from contacts where id = '${contacts[0]?.id}'`,
        );
        assert.deepEqual(c0, { lead_score: 0, is_vip: true, r: "2026-03-01" });
        const [primary] = await rows(
          p,
          `select a.to_id, a.label, a.type_id from contacts c join contacts__associations a on a._ferry_root_id = c._ferry_id where c.id = '${contacts[0]?.id}' and a.label is not null`,
        );
        assert.deepEqual(primary, { to_id: acme.id, label: "Primary", type_id: 1 });
        const [amount] = await rows(p, "select amount from deals");
        assert.equal(amount?.amount, 1500.5);

        // Changes: 3 contacts updated (one moves to Globex), 1 archived, 2 created; a company renamed.
        h.tick(10 * MIN);
        for (const c of contacts.slice(20, 23)) h.update("contacts", c.id, { firstname: `Renamed ${c.id}` });
        h.associate("contacts", contacts[20]?.id as string, "companies", globex.id);
        h.archive("contacts", contacts[50]?.id as string);
        const fresh = [
          h.create("contacts", { email: "new1@example.com" }),
          h.create("contacts", { email: "new2@example.com" }),
        ];
        h.update("companies", globex.id, { name: "Globex Corp" });
        h.tick(2 * MIN);
        const before = h.requests.length;
        const second = await run(p, h, { resources: ["contacts", "companies", "deals"] });
        assert.deepEqual(second.rows, {
          contacts: 3 + 1 + 2,
          contacts__associations: 1,
          companies: 1,
          companies__associations: 1,
        });
        const later = h.requests.slice(before);
        assert.ok(
          !later.some((r) => r.path === "/crm/v3/objects/contacts" && r.query.get("archived") === "false"),
        );
        const [body] = searches(h, "contacts").map((r) => r.json() as Record<string, unknown>);
        assert.deepEqual(body?.filterGroups, [
          {
            filters: [
              { propertyName: "lastmodifieddate", operator: "GTE", value: String(T0 + 2 * MIN - 1000) },
            ],
          },
        ]);
        assert.deepEqual(body?.sorts, [{ propertyName: "lastmodifieddate", direction: "ASCENDING" }]);
        assert.equal((body?.properties as string[] | undefined)?.length, 10);
        const companies = searches(h, "companies")[0]?.json() as
          | { filterGroups: { filters: { propertyName: string }[] }[] }
          | undefined;
        assert.equal(companies?.filterGroups[0]?.filters[0]?.propertyName, "hs_lastmodifieddate");

        assert.deepEqual(await counts(p, ["contacts", "companies", "deals"]), {
          contacts: 232,
          companies: 2,
          deals: 1,
        });
        const state = await rows(
          p,
          "select archived, count(*) as n from contacts group by archived order by archived",
        );
        assert.deepEqual(
          state.map((r) => [r.archived, Number(r.n)]),
          [
            [false, 231],
            [true, 1],
          ],
        );
        const moved = await rows(
          p,
          `select a.to_id from contacts c join contacts__associations a on a._ferry_root_id = c._ferry_id where c.id = '${contacts[20]?.id}' order by a.to_id`,
        );
        assert.deepEqual(
          moved.map((r) => r.to_id),
          [globex.id],
        );
        assert.equal(
          (await rows(p, `select firstname from contacts where id = '${contacts[21]?.id}'`))[0]?.firstname,
          `Renamed ${contacts[21]?.id}`,
        );
        assert.deepEqual(
          (
            await rows(
              p,
              `select email from contacts where id in ('${fresh[0]?.id}', '${fresh[1]?.id}') order by id`,
            )
          ).map((r) => r.email),
          ["new1@example.com", "new2@example.com"],
        );
        const third = await run(p, h, { resources: ["contacts", "companies", "deals"] });
        assert.deepEqual(third.rows, {}, "nothing changed since");
      }),
    ));

  for (const crowded of [false, true]) {
    test(
      crowded
        ? "more than 10,000 changes at one instant: that instant is read by object id, each object once"
        : "more than 10,000 changes: a new search window starts at the last time read, each object once",
      () =>
        withHubSpot({ limits: { searchPerSecond: 1000, burst: { max: 100_000, intervalMs: 10_000 } } }, (h) =>
          withPipeline(crowded ? "hubspot_drain" : "hubspot_windows", async ({ p }) => {
            const ids: string[] = [];
            for (let i = 0; i < 10_450; i++) ids.push(h.create("companies", { name: `co ${i}` }).id);
            h.tick(MIN);
            const o = { resources: ["companies"], associations: { companies: [] }, include_archived: false };
            const first = await run(p, h, o);
            assert.equal(first.rows.companies, 10_450);
            h.tick(MIN);
            for (const [i, id] of ids.entries()) {
              if (!crowded && i % 100 === 0) h.tick(1); // 105 distinct times
              h.update("companies", id, { domain: `d${i}.example.com` });
            }
            const changedAt = h.now;
            h.tick(MIN);
            const second = await run(p, h, o);
            assert.equal(second.rows.companies, 10_450);
            assert.deepEqual(await idStats(p, "companies").then((s) => [s.n, s.distinct]), [10_450, 10_450]);
            const [d] = await rows(p, "select count(*) as n from companies where domain is not null");
            assert.equal(Number(d?.n), 10_450);
            const bodies = searches(h, "companies").map(
              (r) =>
                r.json() as {
                  after?: string;
                  filterGroups: { filters: { operator: string; propertyName: string; value: string }[] }[];
                },
            );
            assert.ok(
              bodies.every((b) => Number(b.after ?? 0) < 10_000),
              "never asks past 10,000 results",
            );
            const windows = bodies
              .filter((b) => b.after === undefined)
              .map((b) =>
                b.filterGroups[0]?.filters
                  .map((f) => `${f.propertyName} ${f.operator} ${f.value}`)
                  .join(" and "),
              );
            if (crowded) {
              assert.deepEqual(windows, [
                `hs_lastmodifieddate GTE ${T0 + MIN - 1000}`,
                `hs_lastmodifieddate EQ ${changedAt} and hs_object_id GT 0`,
                `hs_lastmodifieddate EQ ${changedAt} and hs_object_id GT ${ids[9_999]}`,
                `hs_lastmodifieddate GT ${changedAt}`,
              ]);
            } else {
              assert.equal(windows.length, 2);
              assert.match(windows[1] ?? "", /^hs_lastmodifieddate GTE \d+$/);
            }
            const third = await run(p, h, o);
            assert.deepEqual(third.rows, {});
          }),
        ),
    );
  }

  test("more properties than fit a URL: the list gives ids, batch read (a POST) the properties", () =>
    withHubSpot({ maxUrlLength: 4096 }, (h) =>
      withPipeline("hubspot_batch", async ({ p }) => {
        for (let i = 0; i < 120; i++)
          h.defineProperty("products", {
            name: `custom_field_with_a_long_name_${String(i).padStart(3, "0")}`,
            type: "string",
          });
        for (let i = 0; i < 150; i++)
          h.create("products", { name: `p${i}`, price: i, custom_field_with_a_long_name_119: `v${i}` });
        h.tick(MIN);
        const info = await run(p, h, { resources: ["products"] });
        assert.equal(info.rows.products, 150);
        const lists = h.requests.filter((r) => r.path === "/crm/v3/objects/products");
        assert.ok(lists.every((r) => !r.query.has("properties")));
        assert.equal(h.requests.filter((r) => r.path === "/crm/v3/objects/products/batch/read").length, 2);
        const [r] = await rows(
          p,
          "select count(*) as n from products where custom_field_with_a_long_name_119 = 'v' || price::bigint",
        );
        assert.equal(Number(r?.n), 150);
      }),
    ));

  test("associations: an object with more than 500 gets the rest from its own endpoint", () =>
    withHubSpot({}, (h) =>
      withPipeline("hubspot_assoc", async ({ p }) => {
        const co = h.create("companies", { name: "Big" });
        for (let i = 0; i < 520; i++)
          h.associate("companies", co.id, "contacts", h.create("contacts", {}).id);
        h.tick(MIN);
        const info = await run(p, h, { resources: ["companies"], associations: { companies: ["contacts"] } });
        assert.deepEqual(info.rows, { companies: 1, companies__associations: 520 });
        assert.equal(
          h.requests.filter((r) => r.path === `/crm/v4/objects/companies/${co.id}/associations/contacts`)
            .length,
          1,
        );
      }),
    ));

  test("properties option: only those (and an unknown one is refused, naming the object's properties)", () =>
    withHubSpot({}, async (h) => {
      h.create("deals", { dealname: "D", amount: 5 });
      h.tick(MIN);
      await withPipeline("hubspot_props", async ({ p }) => {
        await run(p, h, { resources: ["deals"], properties: { deals: ["dealname", "hs_lastmodifieddate"] } });
        const cols = await rows(
          p,
          "select column_name from information_schema.columns where table_name = 'deals' and column_name not like '\\_ferry%' escape '\\' order by 1",
        );
        assert.deepEqual(
          cols.map((c) => c.column_name),
          ["archived", "archived_at", "created_at", "dealname", "hs_lastmodifieddate", "id", "updated_at"],
        );
      });
      await assert.rejects(
        hubspotSource({
          access_token: "pat-x",
          base_url: h.url,
          resources: ["deals"],
          properties: { deals: ["nope"] },
        }),
        /properties\.deals names "nope", which deals do not have/,
      );
    }));

  test("owners merge by id and load only those changed since; pipelines and their stages are replaced", () =>
    withHubSpot({}, (h) =>
      withPipeline("hubspot_owners", async ({ p }) => {
        const a = h.addOwner({ email: "a@example.com", firstName: "A" });
        h.addOwner({ email: "b@example.com", firstName: "B" });
        h.addPipeline("deals", "Sales", ["New", "Qualified", "Won"]);
        h.addPipeline("tickets", "Support", ["Open", "Closed"]);
        h.tick(MIN);
        const first = await run(p, h, { resources: ["owners", "pipelines"] });
        assert.deepEqual(first.rows, { owners: 2, pipelines: 2, pipelines__stages: 5 });
        h.tick(MIN);
        h.updateOwner(a.id as string, { archived: true });
        const second = await run(p, h, { resources: ["owners", "pipelines"] });
        assert.deepEqual(second.rows, { owners: 1, pipelines: 2, pipelines__stages: 5 });
        assert.deepEqual(await counts(p, ["owners", "pipelines", "pipelines__stages"]), {
          owners: 2,
          pipelines: 2,
          pipelines__stages: 5,
        });
        const arch = await rows(p, "select email, archived from owners order by email");
        assert.deepEqual(arch, [
          { email: "a@example.com", archived: true },
          { email: "b@example.com", archived: false },
        ]);
        const po = await rows(p, "select object_type, label from pipelines order by 1");
        assert.deepEqual(po, [
          { object_type: "deals", label: "Sales" },
          { object_type: "tickets", label: "Support" },
        ]);
      }),
    ));

  test("rate limits: the 10-second window and the search API's per-second limit are waited out (no Retry-After), nothing lost", () =>
    withHubSpot({ limits: { burst: { max: 6, intervalMs: 1000 }, searchPerSecond: 1 } }, (h) =>
      withPipeline("hubspot_limits", async ({ p }) => {
        for (let i = 0; i < 450; i++) h.create("tickets", { subject: `t${i}` });
        h.tick(MIN);
        const first = await run(p, h, { resources: ["tickets"], associations: { tickets: ["contacts"] } });
        assert.equal(first.rows.tickets, 450);
        assert.ok((h.refused.TEN_SECONDLY_ROLLING ?? 0) > 0, JSON.stringify(h.refused));
        h.tick(MIN);
        for (let i = 0; i < 3; i++) h.create("tickets", { subject: `new ${i}` });
        h.rateLimitNext(2, "SECONDLY");
        const second = await run(p, h, { resources: ["tickets"], associations: { tickets: ["contacts"] } });
        assert.equal(second.rows.tickets, 3);
        assert.deepEqual(await idStats(p, "tickets").then((s) => [s.n, s.distinct]), [453, 453]);
      }),
    ));

  test("the daily limit is not retried: a clear message, and the next run continues", () =>
    withHubSpot({}, (h) =>
      withPipeline("hubspot_daily", async ({ p }) => {
        h.create("quotes", { hs_title: "Q" });
        h.tick(MIN);
        const src = await hubspotSource({
          access_token: "pat-q",
          base_url: h.url,
          resources: ["quotes"],
          ...FAST,
        });
        h.rateLimitNext(1, "DAILY");
        const before = h.requests.length;
        await assert.rejects(p.run(src), (err) => {
          assert.match(
            describeError(err),
            /HubSpot's daily API limit is used up: You have reached your daily limit/,
          );
          assert.match(describeError(err), /run again after the limit resets/);
          return true;
        });
        assert.equal(h.requests.length - before, 1, "not retried");
        const info = await p.run(src);
        assert.equal(info.rows.quotes, 1);
      }),
    ));

  test("403: a token without a scope is told which scope it needs", () =>
    withHubSpot({ tokens: { "pat-contacts-only": ["crm.objects.contacts.read"] } }, async (h) => {
      await assert.rejects(
        hubspotSource({
          access_token: "pat-contacts-only",
          base_url: h.url,
          resources: ["contacts", "tickets"],
        }),
        (err) => {
          const text = describeError(err);
          assert.match(text, /the HubSpot token may not read this: .*\(required scopes: tickets\)/);
          assert.match(text, /docs\/sources\/hubspot\.md/);
          return true;
        },
      );
    }));

  describe("ferry run with a token HubSpot refuses", () => {
    let tmp = "";
    before(() => {
      ensureBuilt();
      tmp = mkdtempSync(join(tmpdir(), "ferry-hubspot-cli-"));
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    test("401: a clear message naming the setting; the token is nowhere (output, trace, failed-jobs, files)", () =>
      withHubSpot({ tokens: { "pat-good": "all" } }, async (h) => {
        const secret = "pat-na1-0b3e8e7c-SECRET-9f1d";
        const env = ["$", "{env:HUBSPOT_TOKEN}"].join("");
        writeFileSync(
          join(tmp, "hubspot.yaml"),
          `pipeline: { name: hubspot_401, destination: "duckdb:hubspot.duckdb", dataset: hubspot }
source: { type: hubspot, access_token: "${env}", base_url: "${h.url}", resources: [contacts, owners] }
`,
        );
        const r = await ferryAsync(["run", "hubspot.yaml"], tmp, {
          HUBSPOT_TOKEN: secret,
          FERRY_LOG_LEVEL: "debug",
        });
        assert.notEqual(r.status, 0);
        assert.match(
          r.stderr,
          /HubSpot did not accept the access token \(The OAuth token used to make this call expired or is invalid\.\)/,
        );
        assert.match(r.stderr, /access_token/);
        assert.deepEqual(stackLines(r.stderr), []);
        assert.equal(h.requests[0]?.headers.authorization, `Bearer ${secret}`);
        assertSecretNowhere(tmp, "hubspot_401", secret, [r.stdout, r.stderr]);
      }));
  });
});
