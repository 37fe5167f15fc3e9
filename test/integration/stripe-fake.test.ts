/**
 * The Stripe source against FakeStripe (ferry/testing), a stateful local Stripe written from Stripe's API
 * reference. stripe-mock (stripe-mock.test.ts) checks every request against Stripe's spec but answers each list with
 * one fixed object and has_more false, and keeps no state: pagination over many pages, `created` windows, changes
 * read from events, deletions, line items past the first page and rate limits need a server that keeps an account.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LoadInfo, Pipeline } from "../../src/index.js";
import { type StripeOptions, stripeSource } from "../../src/sources/stripe/index.js";
import { FakeStripe } from "../../src/testing/index.js";
import { describeError } from "../../src/util/errors.js";
import { idStats, withPipeline } from "../helpers/rest-api.js";
import { counts, rows } from "../helpers/saas.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

const KEY = "sk_test_FakeStripeKey";
const DAY = 24 * 3600;

async function withStripe<T>(fn: (s: FakeStripe) => Promise<T>): Promise<T> {
  const s = await FakeStripe.start({ now: 1_767_225_600 }); // 2026-01-01
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const run = (p: Pipeline, s: FakeStripe, o: Partial<StripeOptions> = {}): Promise<LoadInfo> =>
  p.run(stripeSource({ api_key: KEY, base_url: s.url, requests_per_second: 1000, ...o }));

/** The requests to a path, as `path?query` with decoded values. */
const sentTo = (s: FakeStripe, path: string) =>
  s.requests.filter((r) => r.path === path).map((r) => decodeURIComponent(r.query.toString()));

describe("stripe source against FakeStripe", () => {
  test("customers: 250 in three pages (limit 100, starting_after), then only what changed: 3 updated, 1 deleted, 2 new", () =>
    withStripe((s) =>
      withPipeline("stripe_customers", async ({ p }) => {
        const ids: string[] = [];
        for (let i = 1; i <= 250; i++) {
          ids.push(s.create("customer", { email: `c${i}@example.com`, name: `Customer ${i}` }).id);
          if (i % 50 === 0) s.tick(1);
        }
        s.tick(60);
        const first = await run(p, s, { resources: ["customers"] });
        assert.equal(first.rows.customers, 250);
        assert.deepEqual(await idStats(p, "customers").then((x) => [x.n, x.distinct]), [250, 250]);
        const pages = sentTo(s, "/v1/customers");
        assert.equal(pages.length, 3);
        assert.equal(pages[0], "limit=100&expand[]=data.tax_ids");
        // Newest first: the first page ends with the 100th newest customer.
        assert.equal(pages[1], `limit=100&expand[]=data.tax_ids&starting_after=${ids[150]}`);

        s.tick(3600);
        for (const i of [10, 20, 30]) s.update("customer", ids[i - 1] as string, { name: `Renamed ${i}` });
        s.delete("customer", ids[39] as string);
        s.create("customer", { email: "new1@example.com" });
        s.create("customer", { email: "new2@example.com" });
        s.tick(60);
        const before = s.requests.length;
        const second = await run(p, s, { resources: ["customers"] });
        assert.equal(second.rows.customers, 6, JSON.stringify(second.rows));
        const later = s.requests.slice(before).map((r) => r.path);
        assert.ok(!later.includes("/v1/customers"), "the second run does not list customers again");
        assert.deepEqual(await counts(p, ["customers"]), { customers: 252 });
        const changed = await rows(
          p,
          `select id, name, coalesce(deleted, false) as deleted from customers where name like 'Renamed%' or deleted or email like 'new%' order by id`,
        );
        assert.deepEqual(
          changed.map((r) => [r.id, r.name, r.deleted]),
          [
            [ids[9], "Renamed 10", false],
            [ids[19], "Renamed 20", false],
            [ids[29], "Renamed 30", false],
            [ids[39], "Customer 40", true],
            ["cus_000251", null, false],
            ["cus_000252", null, false],
          ],
        );
        // Customers are fetched again for their tax ids (events carry no expansions).
        assert.equal(s.requests.filter((r) => /^\/v1\/customers\/cus_/.test(r.path)).length, 5);

        const third = await run(p, s, { resources: ["customers"] });
        assert.deepEqual(third.rows, {}, "nothing changed since the second run");
      }),
    ));

  test("a tax id added to a customer (customer.tax_id.created) reloads that customer with its tax ids", () =>
    withStripe((s) =>
      withPipeline("stripe_tax", async ({ p }) => {
        const a = s.create("customer", { name: "A" });
        s.create("customer", { name: "B" });
        s.addTaxId(a.id, "DE111");
        s.tick(60);
        await run(p, s, { resources: ["customers"] });
        s.tick(60);
        s.addTaxId(a.id, "FR222");
        const second = await run(p, s, { resources: ["customers"] });
        assert.deepEqual(second.rows, { customers: 1, customers__tax_ids: 2 });
        const tax = await rows(
          p,
          "select c.name, t.value from customers c join customers__tax_ids t on t._ferry_root_id = c._ferry_id order by t.value",
        );
        assert.deepEqual(tax, [
          { name: "A", value: "DE111" },
          { name: "A", value: "FR222" },
        ]);
      }),
    ));

  test("invoices and their line items: 25 lines (10 embedded, the rest from /lines), lines replaced when an invoice changes", () =>
    withStripe((s) =>
      withPipeline("stripe_invoices", async ({ p }) => {
        const lines = (n: number, tag: string) =>
          Array.from({ length: n }, (_, i) => ({ amount: 100 * (i + 1), description: `${tag} ${i + 1}` }));
        const big = s.create("invoice", { status: "draft", lines: lines(25, "big") });
        const small = s.create("invoice", { status: "paid", lines: lines(2, "small") });
        s.tick(60);
        const first = await run(p, s, { resources: ["invoices", "invoice_line_items"] });
        assert.deepEqual(
          [first.rows.invoices, first.rows.invoice_line_items],
          [2, 27],
          JSON.stringify(first.rows),
        );
        assert.deepEqual(sentTo(s, `/v1/invoices/${big.id}/lines`), [
          `limit=100&starting_after=il_${big.id}_10`,
        ]);
        assert.deepEqual(sentTo(s, `/v1/invoices/${small.id}/lines`), []);
        const cols = await rows(
          p,
          "select count(*) as n from information_schema.tables where table_name like 'invoices__lines%'",
        );
        assert.equal(Number(cols[0]?.n), 0);

        s.tick(600);
        s.update("invoice", big.id, { status: "open", lines: lines(3, "final") }, "invoice.finalized");
        const second = await run(p, s, { resources: ["invoices", "invoice_line_items"] });
        assert.deepEqual([second.rows.invoices, second.rows.invoice_line_items], [1, 3]);
        const byInvoice = await rows(
          p,
          "select invoice, count(*) as n from invoice_line_items group by invoice order by invoice",
        );
        assert.deepEqual(
          byInvoice.map((r) => [r.invoice, Number(r.n)]),
          [
            [big.id, 3],
            [small.id, 2],
          ],
        );
        const [status] = await rows(p, `select status from invoices where id = '${big.id}'`);
        assert.equal(status?.status, "open");
      }),
    ));

  test("line items added to a pipeline that loaded invoices alone: the invoices are listed again, every line loads", () =>
    withStripe((s) =>
      withPipeline("stripe_cover", async ({ p }) => {
        s.create("invoice", { lines: [{ amount: 1 }, { amount: 2 }] });
        s.create("invoice", { lines: [{ amount: 3 }] });
        s.tick(60);
        await run(p, s, { resources: ["invoices"] });
        const second = await run(p, s, { resources: ["invoices", "invoice_line_items"] });
        assert.deepEqual([second.rows.invoices, second.rows.invoice_line_items], [2, 3]);
        const third = await run(p, s, { resources: ["invoices", "invoice_line_items"] });
        assert.deepEqual(third.rows, {});
      }),
    ));

  test("subscriptions: all statuses (status=all), 12 items (10 embedded, 2 from /v1/subscription_items)", () =>
    withStripe((s) =>
      withPipeline("stripe_subs", async ({ p }) => {
        const items = Array.from({ length: 12 }, (_, i) => ({
          price: { id: `price_${i + 1}` },
          quantity: i + 1,
        }));
        const sub = s.create("subscription", { status: "active", items });
        s.create("subscription", { status: "canceled", items: [{ quantity: 1 }] });
        s.tick(60);
        const first = await run(p, s, { resources: ["subscriptions"] });
        assert.deepEqual(first.rows, { subscriptions: 2, subscriptions__items: 13 });
        assert.deepEqual(sentTo(s, "/v1/subscriptions"), ["limit=100&status=all"]);
        assert.deepEqual(sentTo(s, "/v1/subscription_items"), [
          `subscription=${sub.id}&limit=100&starting_after=si_${sub.id}_10`,
        ]);
        s.tick(60);
        s.update("subscription", sub.id, { status: "canceled" }, "customer.subscription.deleted");
        const second = await run(p, s, { resources: ["subscriptions"] });
        assert.deepEqual(second.rows, { subscriptions: 1, subscriptions__items: 12 });
        const st = await rows(p, "select status, count(*) as n from subscriptions group by status");
        assert.deepEqual(
          st.map((r) => [r.status, Number(r.n)]),
          [["canceled", 2]],
        );
        assert.deepEqual(await counts(p, ["subscriptions__items"]), { subscriptions__items: 13 });
      }),
    ));

  test("balance transactions and events: created[gte] from the stored cursor, only new ones appended", () =>
    withStripe((s) =>
      withPipeline("stripe_append", async ({ p }) => {
        let last = 0;
        for (let i = 0; i < 120; i++) {
          last = s.create("balance_transaction", { amount: i, type: "charge" }).created;
          if (i % 30 === 29) s.tick(10);
        }
        s.create("product", { name: "p" }); // one event
        s.tick(60);
        const first = await run(p, s, { resources: ["balance_transactions", "events"] });
        assert.deepEqual(first.rows, { balance_transactions: 120, events: 1 });
        assert.equal(sentTo(s, "/v1/balance_transactions").length, 2);
        s.tick(60);
        for (let i = 0; i < 5; i++) s.create("balance_transaction", { amount: 1000 + i, type: "payout" });
        s.create("product", { name: "q" });
        const before = s.requests.length;
        const second = await run(p, s, { resources: ["balance_transactions", "events"] });
        assert.deepEqual(second.rows, { balance_transactions: 5, events: 1 });
        const q = s.requests.slice(before).filter((r) => r.path === "/v1/balance_transactions");
        assert.equal(q[0]?.query.get("created[gte]"), String(last));
        assert.deepEqual(await counts(p, ["balance_transactions", "events"]), {
          balance_transactions: 125,
          events: 2,
        });
      }),
    ));

  test("start_date: objects created before it are neither listed nor taken from events", () =>
    withStripe((s) =>
      withPipeline("stripe_start", async ({ p }) => {
        const old = s.create("product", { name: "old" });
        s.tick(DAY);
        const start = s.now;
        s.create("product", { name: "new" });
        s.tick(60);
        const first = await run(p, s, { resources: ["products"], start_date: start });
        assert.equal(first.rows.products, 1);
        assert.equal(sentTo(s, "/v1/products")[0], `limit=100&created[gte]=${start}`);
        s.tick(60);
        s.update("product", old.id, { name: "old, renamed" });
        const second = await run(p, s, { resources: ["products"], start_date: start });
        assert.deepEqual(second.rows, {});
      }),
    ));

  test("a stored position older than Stripe keeps events (30 days) lists everything again, with a warning", () =>
    withStripe(async (s) => {
      const warnings: string[] = [];
      const log = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
      const t = tempPipeline("stripe_retention", { logger: log });
      try {
        for (let i = 0; i < 3; i++) s.create("price", { unit_amount: i });
        s.tick(60);
        await run(t.p, s, { resources: ["prices"] });
        s.tick(31 * DAY);
        s.create("product", { name: "an event today" });
        const info = await run(t.p, s, { resources: ["prices"] });
        assert.equal(info.rows.prices, 3);
        assert.equal(sentTo(s, "/v1/prices").length, 2, "listed on the first run and again now");
        assert.ok(
          warnings.some((w) =>
            /prices: the stored position \(2026-01-01T00:00:00.000Z\) is older than Stripe keeps events \(30 days\): listing every price again/.test(
              w,
            ),
          ),
          warnings.join("\n"),
        );
      } finally {
        t.cleanup();
      }
    }));

  test("rate-limit storm: 429s (and a 409 lock timeout) are retried, nothing lost or doubled", () =>
    withStripe((s) =>
      withPipeline("stripe_storm", async ({ p }) => {
        for (let i = 0; i < 230; i++) s.create("charge", { amount: i });
        s.tick(60);
        // Every other request is refused: each is retried once, after Stripe's clients' backoff (no Retry-After).
        s.fail(3, { status: 429, every: 2 });
        s.fail(1, { status: 409, shouldRetry: true, every: 2 });
        s.fail(1, { status: 429, shouldRetry: true, every: 2 });
        const info = await run(p, s, { resources: ["charges"] });
        assert.equal(info.rows.charges, 230);
        assert.deepEqual(await idStats(p, "charges").then((x) => [x.n, x.distinct]), [230, 230]);
        assert.equal(
          s.requests.length,
          2 * 5,
          "5 refused, each answered when sent again: events?limit=1, the boundary events, 3 pages",
        );
      }),
    ));

  test("Stripe-Should-Retry: false fails at once, even on a 5xx, with Stripe's message", () =>
    withStripe((s) =>
      withPipeline("stripe_noretry", async ({ p }) => {
        s.create("payout", { amount: 1 });
        s.fail(1, { status: 500, shouldRetry: false });
        await assert.rejects(run(p, s, { resources: ["payouts"] }), (err) => {
          const text = describeError(err);
          assert.match(text, /failed with status 500/);
          assert.match(text, /An unknown error occurred/);
          return true;
        });
        assert.equal(s.requests.length, 1, "not retried");
      }),
    ));

  test("401: the key is refused with a message that names the setting and masks every part of the key", () =>
    withStripe((s) =>
      withPipeline("stripe_401", async ({ p }) => {
        const secret = "sk_live_RealLookingKey_9f8e7d6c5b4a";
        await assert.rejects(
          p.run(stripeSource({ api_key: secret, base_url: s.url, resources: ["disputes"] })),
          (err) => {
            const text = describeError(err);
            assert.match(text, /Stripe did not accept the API key: Invalid API Key provided: sk_live_\*\*\*/);
            assert.match(text, /set api_key/);
            for (const part of [secret, secret.slice(-4), "RealLookingKey"])
              assert.ok(!text.includes(part), text);
            return true;
          },
        );
      }),
    ));
});
