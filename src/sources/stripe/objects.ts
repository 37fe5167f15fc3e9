/**
 * The Stripe objects the source loads: the list endpoint of each, how it changes (mutable objects through their
 * events, append-only ones through `created` windows), and what a table needs expanded. Event types are those of
 * Stripe's API reference (2026-08-26 spec); an object a type names is checked on each event (`data.object.object`).
 */

export interface StripeObject {
  /** Resource and table name. */
  name: string;
  /** List endpoint. */
  path: string;
  /** `object` field of the records (and of `data.object` in their events). */
  object: string;
  /** Fixed list parameters (subscriptions: `status=all`, else canceled ones are left out). */
  params?: Record<string, string>;
  /** Mutable objects: the event types whose `data.object` is this object (or `related` to it). */
  events?: string[];
  /** The event type of a real deletion (the object is gone; its row is kept with `deleted: true`). */
  deleted?: string;
  /** Events about another object that changes this one: its type and the field naming this object's id. */
  related?: { object: string; field: string };
  /** Expansions the table needs by default (fields of the object, without `data.`). */
  expand?: string[];
}

const types = (prefix: string, names: string[]) => names.map((n) => `${prefix}.${n}`);

/** Every object the Stripe source knows, in load order. */
export const STRIPE_OBJECTS: readonly StripeObject[] = [
  {
    name: "customers",
    path: "v1/customers",
    deleted: "customer.deleted",
    object: "customer",
    events: [
      ...types("customer", ["created", "updated", "deleted"]),
      ...types("customer.tax_id", ["created", "updated", "deleted"]),
    ],
    // Tax ids are not part of a customer unless expanded (API 2020-08-27 and later).
    related: { object: "tax_id", field: "customer" },
    expand: ["tax_ids"],
  },
  {
    name: "subscriptions",
    path: "v1/subscriptions",
    object: "subscription",
    params: { status: "all" },
    events: types("customer.subscription", [
      "created",
      "updated",
      "deleted",
      "paused",
      "resumed",
      "pending_update_applied",
      "pending_update_expired",
      "trial_will_end",
    ]),
  },
  {
    name: "invoices",
    path: "v1/invoices",
    deleted: "invoice.deleted",
    object: "invoice",
    events: types("invoice", [
      "created",
      "updated",
      "deleted",
      "finalized",
      "finalization_failed",
      "paid",
      "payment_action_required",
      "payment_attempt_required",
      "payment_failed",
      "payment_succeeded",
      "sent",
      "marked_uncollectible",
      "voided",
      "overdue",
      "overpaid",
      "will_be_due",
    ]),
  },
  {
    name: "charges",
    path: "v1/charges",
    object: "charge",
    events: types("charge", ["captured", "expired", "failed", "pending", "refunded", "succeeded", "updated"]),
  },
  {
    name: "payment_intents",
    path: "v1/payment_intents",
    object: "payment_intent",
    events: types("payment_intent", [
      "created",
      "amount_capturable_updated",
      "canceled",
      "partially_funded",
      "payment_failed",
      "processing",
      "requires_action",
      "succeeded",
    ]),
  },
  {
    name: "refunds",
    path: "v1/refunds",
    object: "refund",
    events: [...types("refund", ["created", "updated", "failed"]), "charge.refund.updated"],
  },
  {
    name: "products",
    path: "v1/products",
    deleted: "product.deleted",
    object: "product",
    events: types("product", ["created", "updated", "deleted"]),
  },
  {
    name: "prices",
    path: "v1/prices",
    deleted: "price.deleted",
    object: "price",
    events: types("price", ["created", "updated", "deleted"]),
  },
  { name: "balance_transactions", path: "v1/balance_transactions", object: "balance_transaction" },
  {
    name: "disputes",
    path: "v1/disputes",
    object: "dispute",
    events: types("charge.dispute", ["created", "updated", "closed", "funds_reinstated", "funds_withdrawn"]),
  },
  {
    name: "payouts",
    path: "v1/payouts",
    object: "payout",
    events: types("payout", ["created", "updated", "canceled", "failed", "paid", "reconciliation_completed"]),
  },
  { name: "events", path: "v1/events", object: "event" },
];

/** Resource names of the Stripe source, the line items of invoices included. */
export const STRIPE_RESOURCES: readonly string[] = [
  ...STRIPE_OBJECTS.map((o) => o.name).slice(0, 3),
  "invoice_line_items",
  ...STRIPE_OBJECTS.map((o) => o.name).slice(3),
];

/** Stripe keeps events for 30 days; a stored position older than this (less a day of margin) starts over. */
export const EVENT_RETENTION_SECONDS = 29 * 24 * 3600;

/** Largest page Stripe's list endpoints return. */
export const STRIPE_PAGE_LIMIT = 100;

/** Stripe accepts at most 20 event types per `types[]` filter. */
export const MAX_EVENT_TYPES = 20;
