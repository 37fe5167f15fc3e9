import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { coveredCursor, storeCursor } from "../../src/sources/common/cursor-state.js";
import { toUnixSeconds } from "../../src/sources/common/options.js";
import { HUBSPOT_RESOURCES, hubspotSource } from "../../src/sources/hubspot/index.js";
import { STRIPE_RESOURCES, stripeSource } from "../../src/sources/stripe/index.js";
import { ZENDESK_RESOURCES } from "../../src/sources/zendesk/index.js";
import { describeError } from "../../src/util/errors.js";

describe("cursors kept with the tables they cover", () => {
  test("a cursor stored for [a, b] serves a run of a, of b, of both; not one that adds c", () => {
    const state: Record<string, unknown> = {};
    assert.equal(coveredCursor(state, "k", ["a"]), undefined);
    storeCursor(state, "k", { at: 5 }, ["b", "a"]);
    assert.deepEqual(state.k, { value: { at: 5 }, covers: ["a", "b"] });
    assert.deepEqual(coveredCursor(state, "k", ["a"]), { at: 5 });
    assert.deepEqual(coveredCursor(state, "k", ["a", "b"]), { at: 5 });
    assert.equal(coveredCursor(state, "k", ["a", "c"]), undefined);
    assert.equal(coveredCursor({ k: "garbage" }, "k", ["a"]), undefined);
  });
});

describe("SaaS source options are checked before any request", () => {
  test("toUnixSeconds: ISO dates and times, Unix seconds; anything else is undefined", () => {
    assert.equal(toUnixSeconds("2024-01-01"), 1_704_067_200);
    assert.equal(toUnixSeconds("2024-01-01T00:00:10Z"), 1_704_067_210);
    assert.equal(toUnixSeconds(1_704_067_200), 1_704_067_200);
    assert.equal(toUnixSeconds("yesterday"), undefined);
    assert.equal(toUnixSeconds(-5), undefined);
  });

  test("stripe: every problem listed at once, the key never shown", () => {
    const key = "sk_live_DoNotShowThisKey123";
    assert.throws(
      () =>
        stripeSource({
          api_key: key,
          start_date: "last week",
          concurrency: 0,
          apikey: "typo",
        } as unknown as Parameters<typeof stripeSource>[0]),
      (err) => {
        const text = describeError(err);
        assert.match(text, /invalid stripe options:/);
        assert.match(text, /unknown option "apikey"/);
        assert.match(text, /start_date must be an ISO date/);
        assert.match(text, /concurrency must be at least 1, got 0/);
        assert.ok(!text.includes(key), text);
        return true;
      },
    );
    assert.throws(() => stripeSource({} as Parameters<typeof stripeSource>[0]), /api_key is required/);
    assert.throws(
      () => stripeSource({ api_key: "sk_test_x", resources: ["customers", "coupons"] }),
      (err) => {
        assert.match(describeError(err), /unknown resource "coupons"/);
        assert.match(describeError(err), new RegExp(STRIPE_RESOURCES.join(", ")));
        return true;
      },
    );
    assert.throws(
      () => stripeSource({ api_key: "sk_test_x", expand: { charges: ["data.customer"] } }),
      /expand\.charges must be a list of fields of the object \("customer", not "data.customer"\)/,
    );
    assert.throws(() => stripeSource({ api_key: "sk_test_x", resources: [] }), /resources is empty/);
  });

  test("hubspot: options refused before the properties are read", async () => {
    const o = { access_token: "pat-x", base_url: "http://127.0.0.1:9" };
    await assert.rejects(
      hubspotSource({ ...o, associations: { deals: ["invoices"] } }),
      /associations\.deals names "invoices"/,
    );
    await assert.rejects(
      hubspotSource({ ...o, properties: { leads: ["x"] } }),
      /properties names "leads", which is not a CRM object/,
    );
    await assert.rejects(hubspotSource({ ...o, resources: ["emails"] }), /unknown resource "emails"/);
  });

  test("every source knows its resources", () => {
    assert.deepEqual(STRIPE_RESOURCES, [
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
    ]);
    assert.deepEqual(HUBSPOT_RESOURCES, [
      "contacts",
      "companies",
      "deals",
      "tickets",
      "products",
      "line_items",
      "quotes",
      "owners",
      "pipelines",
    ]);
    assert.deepEqual(ZENDESK_RESOURCES, [
      "tickets",
      "ticket_metrics",
      "users",
      "organizations",
      "groups",
      "ticket_fields",
    ]);
  });
});
