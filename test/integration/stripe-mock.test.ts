/**
 * The Stripe source against stripe-mock, Stripe's own mock server (`scripts/services.sh up stripe-mock`): every
 * request is checked against Stripe's OpenAPI spec (an unknown or misspelt parameter is a 400), every list answers
 * its fixture object. stripe-mock's lists hold one object with has_more false and it keeps no state, so
 * pagination, events and later runs with changes are tested against FakeStripe (stripe-fake.test.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stripeSource } from "../../src/sources/stripe/index.js";
import { ensureBuilt, ferryAsync, stackLines } from "../helpers/cli.js";
import { withPipeline } from "../helpers/rest-api.js";
import { assertSecretNowhere, counts, rows } from "../helpers/saas.js";
import { service } from "../helpers/services.js";

const mock = await service("stripe-mock");
const KEY = "sk_test_FerryStripeMock4242";

/** Root tables and the child tables stripe-mock's fixtures give (v0.203.0, Stripe API 2026-08-26). */
const ROOTS = [
  "customers",
  "subscriptions",
  "invoices",
  "invoice_line_items",
  "charges",
  "payment_intents",
  "refunds",
  "products",
  "prices",
  "balance_transactions",
  "disputes",
  "payouts",
  "events",
];

describe("stripe source against stripe-mock", { skip: mock.skip }, () => {
  test("first run: one row per resource, expanded tax ids, embedded lists as child tables; the second run loads nothing", () =>
    withPipeline("stripe_mock", async ({ p }) => {
      const src = () => stripeSource({ api_key: KEY, base_url: mock.url });
      const first = await p.run(src());
      for (const t of ROOTS) assert.equal(first.rows[t], 1, `${t}: ${JSON.stringify(first.rows)}`);
      assert.deepEqual(await counts(p, ROOTS), Object.fromEntries(ROOTS.map((t) => [t, 1])));
      // Customers come with their tax ids (expanded), subscriptions with their items, invoices without their lines
      // (those are invoice_line_items, with the invoice's id).
      assert.equal(first.rows.customers__tax_ids, 1);
      assert.equal(first.rows.subscriptions__items, 1);
      const [taxId] = await rows(p, "select value, type from customers__tax_ids");
      assert.deepEqual(taxId, { value: "DE123456789", type: "eu_vat" });
      const [line] = await rows(
        p,
        "select l.id, l.invoice, i.id as invoice_id from invoice_line_items l, invoices i",
      );
      assert.match(String(line?.id), /^il_/);
      assert.match(String(line?.invoice), /^in_/);
      const invoiceCols = await rows(
        p,
        "select column_name from information_schema.columns where table_name = 'invoices' and column_name like 'lines%'",
      );
      assert.deepEqual(invoiceCols, [], "an invoice's lines are not spread over the invoices table");
      // An event's data.object is kept whole (json), not spread over columns of every kind of object.
      const [ev] = await rows(
        p,
        "select data_type from information_schema.columns where table_name = 'events' and column_name = 'data'",
      );
      assert.equal(ev?.data_type, "JSON");

      // stripe-mock keeps no state and its events are from 2009: nothing changed since the first run.
      const second = await p.run(src());
      assert.deepEqual(second.rows, {});
      assert.deepEqual(await counts(p, ROOTS), Object.fromEntries(ROOTS.map((t) => [t, 1])));
    }));

  test("expand: a charge's balance transaction comes as an object (stripe-mock expands it)", () =>
    withPipeline("stripe_mock_expand", async ({ p }) => {
      const info = await p.run(
        stripeSource({
          api_key: KEY,
          base_url: mock.url,
          resources: ["charges"],
          expand: { charges: ["balance_transaction"] },
        }),
      );
      assert.equal(info.rows.charges, 1);
      const [c] = await rows(
        p,
        "select balance_transaction__id as id, balance_transaction__object as o from charges",
      );
      assert.deepEqual(c, { id: "txn_1PgaxNB7WZ01zgkWEV3TLf40", o: "balance_transaction" });
    }));

  describe("ferry run with a key stripe-mock refuses", () => {
    let tmp = "";
    before(() => {
      ensureBuilt();
      tmp = mkdtempSync(join(tmpdir(), "ferry-stripe-cli-"));
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    test("a spec with type: stripe runs through the CLI; --json reports the rows of each table", async () => {
      const env = ["$", "{env:STRIPE_API_KEY}"].join("");
      writeFileSync(
        join(tmp, "ok.yaml"),
        `pipeline: { name: stripe_ok, destination: "duckdb:ok.duckdb", dataset: stripe }
source:
  type: stripe
  api_key: "${env}"
  base_url: "${mock.url}"
  resources: [customers, invoices, invoice_line_items, balance_transactions]
  start_date: "2009-01-01"
`,
      );
      const r = await ferryAsync(["run", "ok.yaml", "--json"], tmp, { STRIPE_API_KEY: KEY });
      assert.equal(r.status, 0, r.stderr);
      const info = JSON.parse(r.stdout) as { rows: Record<string, number> };
      assert.deepEqual(info.rows, {
        customers: 1,
        customers__tax_ids: 1,
        invoices: 1,
        invoice_line_items: 1,
        invoice_line_items__parent__invoice_item_details__proration_details__credited_items__invoice_line_items: 1,
        invoice_line_items__parent__subscription_item_details__proration_details__credited_items__invoice_line_items: 1,
        balance_transactions: 1,
      });
    });

    test("401: a clear message naming Stripe and the key's setting; the key is nowhere (output, trace, failed-jobs, files)", async () => {
      // stripe-mock answers any key that is not a test key with a 401 that repeats the Authorization header.
      const secret = "rk_live_Zq8mSecretKeyNotForPrinting91";
      const env = ["$", "{env:STRIPE_API_KEY}"].join("");
      writeFileSync(
        join(tmp, "stripe.yaml"),
        `pipeline: { name: stripe_401, destination: "duckdb:stripe.duckdb", dataset: stripe }
source: { type: stripe, api_key: "${env}", base_url: "${mock.url}", resources: [customers, balance_transactions] }
`,
      );
      const r = await ferryAsync(["run", "stripe.yaml"], tmp, {
        STRIPE_API_KEY: secret,
        FERRY_LOG_LEVEL: "debug",
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Stripe did not accept the API key/);
      assert.match(r.stderr, /status 401/);
      assert.match(r.stderr, /api_key/);
      assert.deepEqual(stackLines(r.stderr), []);
      assertSecretNowhere(tmp, "stripe_401", secret, [r.stdout, r.stderr]);
    });
  });
});
