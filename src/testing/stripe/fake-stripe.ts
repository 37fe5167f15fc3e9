import { FakeApi, type FakeRequest, type FakeResponse } from "../fake-api.js";
import { createdFilter, listPage, StripeFakeError, type StripeObj } from "./stripe-store.js";

/** Object types of the fake: their list path and the prefix of their events (none: no events). */
const TYPES = {
  customer: { path: "customers", prefix: "customer", idPrefix: "cus" },
  subscription: { path: "subscriptions", prefix: "customer.subscription", idPrefix: "sub" },
  invoice: { path: "invoices", prefix: "invoice", idPrefix: "in" },
  charge: { path: "charges", prefix: "charge", idPrefix: "ch" },
  payment_intent: { path: "payment_intents", prefix: "payment_intent", idPrefix: "pi" },
  refund: { path: "refunds", prefix: "refund", idPrefix: "re" },
  product: { path: "products", prefix: "product", idPrefix: "prod" },
  price: { path: "prices", prefix: "price", idPrefix: "price" },
  balance_transaction: { path: "balance_transactions", prefix: undefined, idPrefix: "txn" },
  dispute: { path: "disputes", prefix: "charge.dispute", idPrefix: "dp" },
  payout: { path: "payouts", prefix: "payout", idPrefix: "po" },
} as const;

export type FakeStripeType = keyof typeof TYPES;

/** Lists embedded in an object show this many records, then `has_more` and their own URL (as Stripe). */
const EMBEDDED = 10;

export interface FakeStripeOptions {
  /** API keys the fake accepts (default: any `sk_test_...` key). */
  keys?: string[];
  /** The clock (Unix seconds) objects and events are created at; move it with `tick()`. Default now. */
  now?: number;
}

/** What the next requests get instead of their answer: rate limits, lock conflicts, outages. */
interface Trouble {
  status: number;
  shouldRetry?: boolean;
  retryAfter?: number;
  /** Spread: this trouble hits a request only after `every - 1` answered ones (default 1: the next request). */
  every?: number;
}

/**
 * A local Stripe for tests, from Stripe's API reference: list endpoints newest first with `limit`,
 * `starting_after`/`ending_before` and `created[...]` filters; unknown parameters refused (400
 * `parameter_unknown`); events recorded for every change (`types[]` and `type` with `*` filters); deletions; embedded
 * lists (a subscription's items, an invoice's lines, expanded tax ids) with their own paginated URLs; bearer or
 * basic auth with Stripe's 401 answers; 429 `rate_limit` and `Stripe-Should-Retry` on demand. Unlike stripe-mock
 * (which answers every list with one fixed object), it keeps state, so pagination, incremental runs and events
 * can be tested.
 *
 * @example
 * const stripe = await FakeStripe.start();
 * const c = stripe.create("customer", { email: "a@example.com" });
 * stripe.tick(60); stripe.update("customer", c.id, { name: "Ada" });
 * stripeSource({ api_key: "sk_test_123", base_url: stripe.url });
 */
export class FakeStripe {
  readonly api: FakeApi;
  now: number;
  readonly #keys: string[] | undefined;
  readonly #objects = new Map<FakeStripeType, StripeObj[]>();
  readonly #events: StripeObj[] = [];
  readonly #lines = new Map<string, StripeObj[]>();
  readonly #taxIds = new Map<string, StripeObj[]>();
  readonly #trouble: Trouble[] = [];
  #seq = 0;
  readonly #ids = new Map<string, number>();
  /** Requests answered since the last trouble (troubles spread `every` n requests; the first hits at once). */
  #sinceTrouble = Number.MAX_SAFE_INTEGER;

  private constructor(api: FakeApi, o: FakeStripeOptions) {
    this.api = api;
    this.now = o.now ?? Math.floor(Date.now() / 1000);
    this.#keys = o.keys;
  }

  static async start(options: FakeStripeOptions = {}): Promise<FakeStripe> {
    const api = await FakeApi.start();
    const fake = new FakeStripe(api, options);
    api.route({ method: "GET", path: /\/v1\/.+/, handler: (r) => fake.#handle(r) });
    return fake;
  }

  get url(): string {
    return this.api.url;
  }

  /** Moves the clock on. */
  tick(seconds: number): void {
    this.now += seconds;
  }

  /** Requests the fake answered (method, path, query). */
  get requests(): FakeRequest[] {
    return this.api.requests;
  }

  /** Creates an object at the current time (and its `<prefix>.created` event where Stripe sends one). */
  create(type: FakeStripeType, fields: Record<string, unknown> = {}): StripeObj {
    const t = TYPES[type];
    const id = typeof fields.id === "string" ? fields.id : this.#newId(t.idPrefix);
    const obj: StripeObj = { id, object: type, livemode: false, ...fields, created: this.now } as StripeObj;
    if (type === "subscription") obj.items = this.#items(id, fields.items);
    if (type === "invoice") {
      const lines = ((fields.lines as Record<string, unknown>[] | undefined) ?? []).map((l, i) => ({
        id: `il_${id}_${i + 1}`,
        object: "line_item",
        invoice: id,
        created: this.now,
        ...l,
      })) as StripeObj[];
      this.#lines.set(id, lines);
      delete obj.lines;
    }
    this.#list(type).push(obj);
    if (t.prefix) this.event(`${t.prefix}.created`, this.#render(obj, []));
    return obj;
  }

  /** Changes an object and records an event (`<prefix>.updated` unless another type is given). */
  update(type: FakeStripeType, id: string, fields: Record<string, unknown>, eventType?: string): StripeObj {
    const obj = this.get(type, id);
    Object.assign(obj, fields);
    if (type === "subscription" && fields.items !== undefined) obj.items = this.#items(id, fields.items);
    if (type === "invoice" && Array.isArray(fields.lines)) {
      this.#lines.set(
        id,
        (fields.lines as Record<string, unknown>[]).map((l, i) => ({
          id: `il_${id}_${i + 1}`,
          object: "line_item",
          invoice: id,
          created: this.now,
          ...l,
        })) as StripeObj[],
      );
      delete obj.lines;
    }
    const t = TYPES[type];
    if (t.prefix) this.event(eventType ?? `${t.prefix}.updated`, this.#render(obj, []));
    return obj;
  }

  /** Deletes an object (customers, products, prices, draft invoices) with its `<prefix>.deleted` event. */
  delete(type: FakeStripeType, id: string): void {
    const obj = this.get(type, id);
    const list = this.#list(type);
    list.splice(list.indexOf(obj), 1);
    const t = TYPES[type];
    if (t.prefix) this.event(`${t.prefix}.deleted`, this.#render(obj, []));
  }

  /** Adds a tax id to a customer (`customer.tax_id.created`); it shows only when `tax_ids` is expanded. */
  addTaxId(customer: string, value: string): StripeObj {
    this.get("customer", customer);
    const list = this.#taxIds.get(customer) ?? [];
    const tax: StripeObj = {
      id: this.#newId("txi"),
      object: "tax_id",
      customer,
      value,
      type: "eu_vat",
      created: this.now,
    };
    list.push(tax);
    this.#taxIds.set(customer, list);
    this.event("customer.tax_id.created", tax);
    return tax;
  }

  /** Records an event about an object (at the current time). */
  event(type: string, object: unknown): StripeObj {
    const e: StripeObj = {
      id: this.#newId("evt"),
      object: "event",
      type,
      created: this.now,
      api_version: "2026-08-26.dahlia",
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
    };
    this.#events.push(e);
    return e;
  }

  /** An object by type and id (throws when there is none). */
  get(type: FakeStripeType, id: string): StripeObj {
    const obj = this.#list(type).find((o) => o.id === id);
    if (!obj) throw new Error(`fake stripe has no ${type} ${id}`);
    return obj;
  }

  /**
   * The next `count` requests fail with this status (429 rate limit by default) instead of their answer; with
   * `every: n`, one request in n fails until `count` have.
   */
  fail(count: number, trouble: Partial<Trouble> = {}): void {
    for (let i = 0; i < count; i++) this.#trouble.push({ status: 429, ...trouble });
  }

  async close(): Promise<void> {
    await this.api.close();
  }

  /** A subscription's items as Stripe holds them (`si_...` ids, the subscription's id on each). */
  #items(subscription: string, items: unknown): StripeObj[] {
    return ((items as Record<string, unknown>[] | undefined) ?? []).map((it, i) => ({
      id: `si_${subscription}_${i + 1}`,
      object: "subscription_item",
      subscription,
      created: this.now,
      ...it,
    })) as StripeObj[];
  }

  /** Ids count up per prefix (`cus_000001`, `cus_000002`...), so tests can name them. */
  #newId(prefix: string): string {
    const n = (this.#ids.get(prefix) ?? 0) + 1;
    this.#ids.set(prefix, n);
    return `${prefix}_${String(n).padStart(6, "0")}`;
  }

  #list(type: FakeStripeType): StripeObj[] {
    const l = this.#objects.get(type) ?? [];
    this.#objects.set(type, l);
    return l;
  }

  #handle(r: FakeRequest): FakeResponse {
    const headers = { "request-id": `req_${++this.#seq}`, "stripe-version": "2026-08-26.dahlia" };
    try {
      this.#authenticate(r);
      const trouble = this.#trouble[0];
      if (trouble && ++this.#sinceTrouble >= (trouble.every ?? 1)) {
        this.#trouble.shift();
        this.#sinceTrouble = 0;
        return this.#troubleResponse(trouble, headers);
      }
      return { json: this.#route(r), headers };
    } catch (err) {
      if (!(err instanceof StripeFakeError)) throw err;
      return {
        status: err.status,
        headers,
        json: {
          error: {
            message: err.message,
            type: err.type,
            ...(err.code ? { code: err.code } : {}),
            ...(err.param ? { param: err.param } : {}),
          },
        },
      };
    }
  }

  #troubleResponse(t: Trouble, headers: Record<string, string>): FakeResponse {
    const h: Record<string, string> = { ...headers };
    if (t.shouldRetry !== undefined) h["stripe-should-retry"] = String(t.shouldRetry);
    if (t.retryAfter !== undefined) h["retry-after"] = String(t.retryAfter);
    const error =
      t.status === 429
        ? {
            type: "invalid_request_error",
            code: "rate_limit",
            message:
              "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
          }
        : t.status === 409
          ? {
              type: "invalid_request_error",
              code: "lock_timeout",
              message:
                "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
            }
          : { type: "api_error", message: "An unknown error occurred" };
    return { status: t.status, headers: h, json: { error } };
  }

  #authenticate(r: FakeRequest): void {
    const header = String(r.headers.authorization ?? "");
    let key = "";
    if (header.startsWith("Bearer ")) key = header.slice(7);
    else if (header.startsWith("Basic "))
      key = Buffer.from(header.slice(6), "base64").toString().split(":")[0] ?? "";
    if (!key) {
      throw new StripeFakeError(
        401,
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      );
    }
    const ok = this.#keys ? this.#keys.includes(key) : /^sk_test_\w+$/.test(key);
    if (!ok) {
      const masked = `${key.slice(0, Math.min(8, key.length))}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
      throw new StripeFakeError(401, `Invalid API Key provided: ${masked}`);
    }
  }

  #route(r: FakeRequest): unknown {
    const parts = r.path.replace(/^\/v1\//, "").split("/");
    const [resource, id, sub] = parts;
    if (resource === "events") {
      this.#allow(r, ["type", "types[]"]);
      return this.#listEvents(r);
    }
    if (resource === "subscription_items") {
      this.#allow(r, ["subscription"]);
      const sub = this.#list("subscription").find((s) => s.id === r.query.get("subscription"));
      if (!sub)
        throw new StripeFakeError(
          400,
          "Missing required param: subscription.",
          undefined,
          "parameter_missing",
          "subscription",
        );
      return listPage(sub.items as StripeObj[], this.#query(r), r.path, undefined, "given");
    }
    const type = (Object.keys(TYPES) as FakeStripeType[]).find((t) => TYPES[t].path === resource);
    if (!type) throw new StripeFakeError(404, `Unrecognized request URL (GET: ${r.path}).`);
    if (id !== undefined && sub === "lines" && type === "invoice") {
      this.#allow(r, []);
      this.get("invoice", id);
      return listPage(this.#lines.get(id) ?? [], this.#query(r), r.path, undefined, "given");
    }
    if (id !== undefined && sub === "tax_ids" && type === "customer") {
      this.#allow(r, []);
      return listPage(this.#taxIds.get(id) ?? [], this.#query(r), r.path, undefined, "given");
    }
    const expand = r.query.getAll("expand[]");
    if (id !== undefined) {
      for (const k of r.query.keys()) {
        if (k !== "expand[]")
          throw new StripeFakeError(
            400,
            `Received unknown parameter: ${k}`,
            undefined,
            "parameter_unknown",
            k,
          );
      }
      const obj = this.#list(type).find((o) => o.id === id);
      if (!obj) {
        if (
          type === "customer" &&
          this.#events.some(
            (e) => e.type === "customer.deleted" && (e.data as { object: StripeObj }).object.id === id,
          )
        ) {
          return { id, object: "customer", deleted: true };
        }
        throw new StripeFakeError(404, `No such ${type}: '${id}'`, undefined, "resource_missing", "id");
      }
      return this.#render(obj, expand);
    }
    this.#allow(r, type === "subscription" ? ["status"] : []);
    let all = this.#list(type);
    if (type === "subscription" && r.query.get("status") !== "all") {
      all = all.filter((s) => s.status !== "canceled" && s.status !== "incomplete_expired");
    }
    const fields = expand.map((e) => {
      if (!e.startsWith("data."))
        throw new StripeFakeError(
          400,
          `This property cannot be expanded (${e}).`,
          undefined,
          "parameter_invalid",
          "expand",
        );
      return e.slice(5);
    });
    return listPage(all, this.#query(r), `/v1/${resource}`, (o) => this.#render(o, fields));
  }

  /** Refuses what Stripe refuses: parameters the endpoint does not have. */
  #allow(r: FakeRequest, extra: string[]): void {
    const known = ["limit", "starting_after", "ending_before", "expand[]", ...extra];
    for (const k of r.query.keys()) {
      if (known.includes(k) || /^created(\[(gt|gte|lt|lte)\])?$/.test(k)) continue;
      throw new StripeFakeError(400, `Received unknown parameter: ${k}`, undefined, "parameter_unknown", k);
    }
  }

  #query(r: FakeRequest) {
    return {
      limit: r.query.get("limit"),
      starting_after: r.query.get("starting_after"),
      ending_before: r.query.get("ending_before"),
      created: createdFilter(r.query),
    };
  }

  #listEvents(r: FakeRequest): unknown {
    const types = r.query.getAll("types[]");
    const type = r.query.get("type");
    if (types.length > 0 && type) {
      throw new StripeFakeError(
        400,
        "You may only specify one of these parameters: type, types.",
        undefined,
        "parameter_invalid",
        "types",
      );
    }
    if (types.length > 20)
      throw new StripeFakeError(400, "types: at most 20", undefined, "parameter_invalid", "types");
    const pattern = type ? new RegExp(`^${type.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`) : undefined;
    const events = this.#events.filter(
      (e) =>
        (types.length === 0 || types.includes(e.type as string)) &&
        (!pattern || pattern.test(e.type as string)),
    );
    return listPage(events, this.#query(r), "/v1/events");
  }

  /** An object as the API shows it: embedded lists first page only, expansions applied. */
  #render(o: StripeObj, expand: string[]): StripeObj {
    const out: StripeObj = structuredClone(o);
    const embedded = (data: StripeObj[], url: string) => ({
      object: "list",
      data: data.slice(0, EMBEDDED),
      has_more: data.length > EMBEDDED,
      total_count: data.length,
      url,
    });
    if (o.object === "subscription") {
      out.items = embedded(o.items as StripeObj[], `/v1/subscription_items?subscription=${o.id}`);
    }
    if (o.object === "invoice")
      out.lines = embedded(this.#lines.get(o.id) ?? [], `/v1/invoices/${o.id}/lines`);
    for (const field of expand) {
      if (o.object === "customer" && field === "tax_ids") {
        out.tax_ids = embedded(this.#taxIds.get(o.id) ?? [], `/v1/customers/${o.id}/tax_ids`);
      } else {
        throw new StripeFakeError(
          400,
          `This property cannot be expanded (${field}).`,
          undefined,
          "parameter_invalid",
          "expand",
        );
      }
    }
    return out;
  }
}
