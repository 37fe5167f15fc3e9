import { randomUUID } from "node:crypto";
import { FakeApi, type FakeRequest, type FakeResponse } from "../fake-api.js";
import {
  defaultProperties,
  type FakeAssociation,
  type FakeObject,
  type FakeProperty,
  lastModifiedOf,
  listDefaults,
  matches,
  SearchError,
  type SearchFilter,
  sortBy,
} from "./hubspot-data.js";
import { DEFAULT_LIMITS, RateLimiter, type RateLimits } from "./hubspot-limits.js";

export const HUBSPOT_OBJECT_TYPES = [
  "contacts",
  "companies",
  "deals",
  "tickets",
  "products",
  "line_items",
  "quotes",
] as const;
export type HubSpotObjectType = (typeof HUBSPOT_OBJECT_TYPES)[number];

/** The scope a private app needs to read each object type (and its properties, associations, pipelines). */
const READ_SCOPE: Record<string, string[]> = {
  contacts: ["crm.objects.contacts.read"],
  companies: ["crm.objects.companies.read"],
  deals: ["crm.objects.deals.read"],
  tickets: ["tickets"],
  products: ["e-commerce"],
  line_items: ["crm.objects.line_items.read", "e-commerce"],
  quotes: ["crm.objects.quotes.read"],
  owners: ["crm.objects.owners.read"],
};

export interface FakeHubSpotOptions {
  /** Access tokens and their scopes (`"all"`: every scope). Default: any `pat-...` token, every scope. */
  tokens?: Record<string, string[] | "all">;
  /** Rate limits (default HubSpot's for a private app: 100 per 10 s, search 5 per second). */
  limits?: Partial<RateLimits>;
  /** The clock (epoch ms) objects are created and changed at; move it with `tick()`. Default now. */
  now?: number;
  /** Longest request target (path and query) the server takes; longer ones get a 414 (default 8,192). */
  maxUrlLength?: number;
}

type Json = Record<string, unknown>;

class HubSpotHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

const validation = (message: string) =>
  new HubSpotHttpError(400, { status: "error", message, category: "VALIDATION_ERROR" });

/**
 * A local HubSpot portal for tests, from HubSpot's CRM API reference: the properties API; objects listed 100 at a
 * time by `after` cursor with the `properties` asked for (and `archived`); batch read; the search API (filter groups,
 * one sort, 200 per page, `after` offsets, a 400 past 10,000 results, 5 requests per second); v4 association batch
 * reads (207 for objects without associations, 500 per page); owners; pipelines; private-app tokens with scopes
 * (401 `INVALID_AUTHENTICATION`, 403 `MISSING_SCOPES`); the rolling 10-second, per-second and daily limits (429
 * with `policyName` and the `X-HubSpot-RateLimit-*` headers, no `Retry-After`).
 *
 * @example
 * const hs = await FakeHubSpot.start();
 * const c = hs.create("contacts", { email: "a@example.com" });
 * hs.tick(60_000); hs.update("contacts", c.id, { firstname: "Ada" });
 * await hubspotSource({ access_token: "pat-test", base_url: hs.url });
 */
export class FakeHubSpot {
  readonly api: FakeApi;
  now: number;
  readonly #tokens: Record<string, string[] | "all"> | undefined;
  readonly #limiters = new Map<string, RateLimiter>();
  readonly #limits: RateLimits;
  readonly #maxUrl: number;
  readonly #props = new Map<string, FakeProperty[]>();
  readonly #objects = new Map<string, FakeObject[]>();
  readonly #assoc = new Map<string, Map<number, FakeAssociation>>();
  readonly #owners: Json[] = [];
  readonly #pipelines = new Map<string, Json[]>();
  readonly #forced: { status: number; policy: string }[] = [];
  #nextId = 1000;
  /** 429 answers given, per policy. */
  readonly refused: Record<string, number> = {};

  private constructor(api: FakeApi, o: FakeHubSpotOptions) {
    this.api = api;
    this.now = o.now ?? Date.now();
    this.#tokens = o.tokens;
    this.#limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.#maxUrl = o.maxUrlLength ?? 8192;
    for (const t of HUBSPOT_OBJECT_TYPES) this.#props.set(t, defaultProperties(t));
  }

  static async start(options: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
    const api = await FakeApi.start();
    const fake = new FakeHubSpot(api, options);
    for (const method of ["GET", "POST"]) {
      api.route({ method, path: /\/.*/, handler: (r) => fake.#handle(r) });
    }
    return fake;
  }

  get url(): string {
    return this.api.url;
  }

  get requests(): FakeRequest[] {
    return this.api.requests;
  }

  /** Moves the clock on (milliseconds). */
  tick(ms: number): void {
    this.now += ms;
  }

  /** Adds a (custom) property to an object type. */
  defineProperty(type: HubSpotObjectType, p: FakeProperty): void {
    this.#props.get(type)?.push({ fieldType: "text", label: p.name, groupName: "custom", ...p });
  }

  /** Creates an object now; values are kept as HubSpot keeps them, as strings. */
  create(type: HubSpotObjectType, properties: Record<string, unknown> = {}): FakeObject {
    const id = String(++this.#nextId);
    const at = new Date(this.now).toISOString();
    const o: FakeObject = { id, properties: {}, createdAt: at, updatedAt: at, archived: false };
    this.#set(type, o, { ...properties, hs_object_id: id, createdate: at });
    this.#list(type).push(o);
    return o;
  }

  /** Changes properties now (the last-modified time moves). */
  update(type: HubSpotObjectType, id: string, properties: Record<string, unknown>): FakeObject {
    const o = this.get(type, id);
    this.#set(type, o, properties);
    return o;
  }

  /** Archives an object now (it leaves lists and search, and shows with `archived=true`). */
  archive(type: HubSpotObjectType, id: string): FakeObject {
    const o = this.get(type, id);
    o.archived = true;
    o.archivedAt = new Date(this.now).toISOString();
    this.#set(type, o, {});
    return o;
  }

  /** Associates two objects both ways (type ids as HubSpot's defaults: 1 for primary, else 279/280...). */
  associate(
    fromType: HubSpotObjectType,
    fromId: string,
    toType: HubSpotObjectType,
    toId: string,
    label: string | null = null,
  ): void {
    const typeId = label === "Primary" ? 1 : 279;
    this.#link(fromType, fromId, toType, Number(toId), {
      category: label && label !== "Primary" ? "USER_DEFINED" : "HUBSPOT_DEFINED",
      typeId,
      label,
    });
    this.#link(toType, toId, fromType, Number(fromId), {
      category: "HUBSPOT_DEFINED",
      typeId: typeId + 1,
      label: null,
    });
  }

  /** Adds an owner (a user records can be assigned to). */
  addOwner(fields: { email: string; firstName?: string; lastName?: string }): Json {
    const at = new Date(this.now).toISOString();
    const owner: Json = {
      id: String(++this.#nextId),
      type: "PERSON",
      userId: this.#nextId + 5000,
      teams: [],
      ...fields,
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    this.#owners.push(owner);
    return owner;
  }

  /** Changes an owner (archived: true archives it). */
  updateOwner(id: string, fields: Json): void {
    const owner = this.#owners.find((o) => o.id === id);
    if (!owner) throw new Error(`fake hubspot has no owner ${id}`);
    Object.assign(owner, fields, { updatedAt: new Date(this.now).toISOString() });
  }

  /** Adds a pipeline of deals or tickets with its stages. */
  addPipeline(objectType: "deals" | "tickets", label: string, stages: string[]): Json {
    const at = new Date(this.now).toISOString();
    const list = this.#pipelines.get(objectType) ?? [];
    const p: Json = {
      id: String(++this.#nextId),
      label,
      displayOrder: list.length,
      archived: false,
      createdAt: at,
      updatedAt: at,
      stages: stages.map((s, i) => ({
        id: String(++this.#nextId),
        label: s,
        displayOrder: i,
        archived: false,
        metadata:
          objectType === "deals"
            ? { isClosed: String(i === stages.length - 1), probability: "0.5" }
            : { ticketState: "OPEN" },
        createdAt: at,
        updatedAt: at,
      })),
    };
    list.push(p);
    this.#pipelines.set(objectType, list);
    return p;
  }

  get(type: HubSpotObjectType, id: string): FakeObject {
    const o = this.#list(type).find((x) => x.id === id);
    if (!o) throw new Error(`fake hubspot has no ${type} ${id}`);
    return o;
  }

  /** The next `count` requests get a 429 of this policy (TEN_SECONDLY_ROLLING by default). */
  rateLimitNext(
    count: number,
    policy: "TEN_SECONDLY_ROLLING" | "SECONDLY" | "DAILY" = "TEN_SECONDLY_ROLLING",
  ): void {
    for (let i = 0; i < count; i++) this.#forced.push({ status: 429, policy });
  }

  async close(): Promise<void> {
    await this.api.close();
  }

  #list(type: string): FakeObject[] {
    const l = this.#objects.get(type) ?? [];
    this.#objects.set(type, l);
    return l;
  }

  #set(type: string, o: FakeObject, properties: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(properties))
      o.properties[k] = v === null || v === undefined ? null : String(v);
    o.updatedAt = new Date(this.now).toISOString();
    o.properties[lastModifiedOf(type)] = o.updatedAt;
  }

  #link(
    fromType: string,
    fromId: string,
    toType: string,
    toId: number,
    t: FakeAssociation["associationTypes"][number],
  ): void {
    const key = `${fromType}/${fromId}/${toType}`;
    const m = this.#assoc.get(key) ?? new Map<number, FakeAssociation>();
    const a = m.get(toId) ?? { toObjectId: toId, associationTypes: [] };
    a.associationTypes.push(t);
    m.set(toId, a);
    this.#assoc.set(key, m);
  }

  #handle(r: FakeRequest): FakeResponse {
    const headers: Record<string, string> = {
      "x-hubspot-correlation-id": randomUUID(),
      date: new Date(this.now).toUTCString(),
    };
    try {
      const target = r.path + (r.query.size > 0 ? `?${r.query.toString()}` : "");
      if (target.length > this.#maxUrl)
        return { status: 414, headers, body: "<html><body>414 Request-URI Too Large</body></html>" };
      const token = this.#authenticate(r);
      const search = r.method === "POST" && r.path.endsWith("/search");
      const forced = this.#forced.shift();
      const verdict = forced
        ? { ok: false as const, policy: forced.policy, headers: {} }
        : this.#limiter(token).take(search);
      Object.assign(headers, verdict.headers);
      if (!verdict.ok) {
        this.refused[verdict.policy] = (this.refused[verdict.policy] ?? 0) + 1;
        const what = verdict.policy.toLowerCase();
        throw new HubSpotHttpError(429, {
          status: "error",
          message: `You have reached your ${what} limit.`,
          errorType: "RATE_LIMIT",
          correlationId: headers["x-hubspot-correlation-id"],
          policyName: verdict.policy,
          groupName: `publicapi:private-app-api-calls-${what}`,
        });
      }
      const out = this.#route(r, token);
      return { status: out.status ?? 200, headers, json: out.json };
    } catch (err) {
      if (err instanceof SearchError)
        return {
          status: 400,
          headers,
          json: { status: "error", message: err.message, category: "VALIDATION_ERROR" },
        };
      if (!(err instanceof HubSpotHttpError)) throw err;
      return {
        status: err.status,
        headers: { ...headers, ...err.headers },
        json: { correlationId: headers["x-hubspot-correlation-id"], ...err.body },
      };
    }
  }

  #limiter(token: string): RateLimiter {
    const l = this.#limiters.get(token) ?? new RateLimiter(this.#limits);
    this.#limiters.set(token, l);
    return l;
  }

  #authenticate(r: FakeRequest): string {
    const header = String(r.headers.authorization ?? "");
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    const known = this.#tokens ? token in this.#tokens : token.startsWith("pat-");
    if (!token || !known) {
      throw new HubSpotHttpError(401, {
        status: "error",
        message: token
          ? "The OAuth token used to make this call expired or is invalid."
          : "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        category: "INVALID_AUTHENTICATION",
      });
    }
    return token;
  }

  #requireScope(token: string, any: string[] | undefined): void {
    const granted = this.#tokens?.[token] ?? "all";
    if (!any || granted === "all" || any.some((s) => granted.includes(s))) return;
    throw new HubSpotHttpError(403, {
      status: "error",
      message:
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
      errors: [
        {
          message: "One or more of the following scopes are required.",
          context: { requiredGranularScopes: any },
        },
      ],
      category: "MISSING_SCOPES",
    });
  }

  #route(r: FakeRequest, token: string): { status?: number; json: unknown } {
    const p = r.path.split("/").filter(Boolean);
    const type = (i: number) => {
      const t = p[i] ?? "";
      if (!(HUBSPOT_OBJECT_TYPES as readonly string[]).includes(t)) {
        throw new HubSpotHttpError(400, {
          status: "error",
          message: `Unable to infer object type from: ${t}`,
          category: "VALIDATION_ERROR",
        });
      }
      this.#requireScope(token, READ_SCOPE[t]);
      return t;
    };
    const route = `${r.method} /${p.map((s, i) => (i >= 3 ? "*" : s)).join("/")}`;
    if (r.method === "GET" && p[0] === "crm" && p[1] === "v3" && p[2] === "properties" && p.length === 4) {
      return { json: { results: this.#props.get(type(3)) } };
    }
    if (r.method === "GET" && p[0] === "crm" && p[1] === "v3" && p[2] === "objects" && p.length === 4) {
      return { json: this.#listObjects(type(3), r) };
    }
    if (r.method === "POST" && p[2] === "objects" && p[4] === "search" && p.length === 5) {
      return { json: this.#search(type(3), r.json() as Json) };
    }
    if (r.method === "POST" && p[2] === "objects" && p[4] === "batch" && p[5] === "read") {
      return this.#batchRead(type(3), r);
    }
    if (
      r.method === "POST" &&
      p[1] === "v4" &&
      p[2] === "associations" &&
      p[5] === "batch" &&
      p[6] === "read"
    ) {
      return this.#associationsBatch(type(3), p[4] ?? "", r.json() as Json);
    }
    if (
      r.method === "GET" &&
      p[1] === "v4" &&
      p[2] === "objects" &&
      p[5] === "associations" &&
      p.length === 7
    ) {
      return { json: this.#associationsPage(type(3), p[4] ?? "", p[6] ?? "", r.query) };
    }
    if (r.method === "GET" && route === "GET /crm/v3/owners") {
      this.#requireScope(token, READ_SCOPE.owners);
      return { json: this.#listOwners(r.query) };
    }
    if (r.method === "GET" && p[2] === "pipelines" && p.length === 4) {
      const t = p[3] ?? "";
      if (t !== "deals" && t !== "tickets") throw validation(`Unable to infer object type from: ${t}`);
      this.#requireScope(token, READ_SCOPE[t]);
      return { json: { results: this.#pipelines.get(t) ?? [] } };
    }
    throw new HubSpotHttpError(404, {
      status: "error",
      message: `Not found: ${r.method} ${r.path}`,
      category: "OBJECT_NOT_FOUND",
    });
  }

  #render(type: string, o: FakeObject, names: string[]): Json {
    const properties: Record<string, string | null> = {};
    for (const n of names) if (this.#defs(type).has(n)) properties[n] = o.properties[n] ?? null;
    return {
      id: o.id,
      properties,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
      archived: o.archived,
      ...(o.archivedAt ? { archivedAt: o.archivedAt } : {}),
    };
  }

  #defs(type: string): Map<string, FakeProperty> {
    return new Map((this.#props.get(type) ?? []).map((d) => [d.name, d]));
  }

  #limit(q: URLSearchParams | Json, max: number, fallback: number): number {
    const raw = q instanceof URLSearchParams ? q.get("limit") : (q.limit as unknown);
    const n = raw === null || raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw validation(`limit must be between 1 and ${max}, got ${String(raw)}`);
    return n;
  }

  #listObjects(type: string, r: FakeRequest): Json {
    const q = r.query;
    const limit = this.#limit(q, 100, 10);
    const archived = q.get("archived") === "true";
    const names = q.get("properties") ? (q.get("properties") as string).split(",") : listDefaults(type);
    const all = this.#list(type)
      .filter((o) => o.archived === archived)
      .sort((a, b) => Number(a.id) - Number(b.id));
    const after = q.get("after");
    const from = after ? all.findIndex((o) => Number(o.id) >= Number(after)) : 0;
    const page = from < 0 ? [] : all.slice(from, from + limit);
    const next = from < 0 ? undefined : all[from + limit];
    return {
      results: page.map((o) => this.#render(type, o, names)),
      ...(next
        ? { paging: { next: { after: next.id, link: `${this.url}${r.path}?after=${next.id}` } } }
        : {}),
    };
  }

  #search(type: string, body: Json): Json {
    const limit = this.#limit(body, 200, 10);
    const after = body.after === undefined ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0)
      throw validation(`after must be a non-negative integer, got ${String(body.after)}`);
    if (after >= 10_000) {
      throw validation(
        "Search results are limited to 10,000 per query: paging past 10,000 results is not supported. Narrow the query with filters.",
      );
    }
    const defs = this.#defs(type);
    const groups = (body.filterGroups as { filters?: SearchFilter[] }[] | undefined) ?? [];
    if (groups.length > 5) throw validation("At most 5 filter groups");
    const sorts = (body.sorts as { propertyName: string; direction?: string }[] | undefined) ?? [];
    if (sorts.length > 1) throw validation("Only one sort is supported");
    const hits = this.#list(type).filter(
      (o) =>
        !o.archived &&
        (groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => matches(o, f, defs)))),
    );
    const sorted = sortBy(hits, sorts[0], defs);
    const names = [
      ...new Set([
        ...(((body.properties as string[] | undefined) ?? []).length ? (body.properties as string[]) : []),
        "hs_object_id",
        "createdate",
        lastModifiedOf(type),
      ]),
    ];
    const end = Math.min(after + limit, sorted.length, 10_000);
    return {
      total: sorted.length,
      results: sorted.slice(after, end).map((o) => this.#render(type, o, names)),
      ...(end < sorted.length ? { paging: { next: { after: String(end) } } } : {}),
    };
  }

  #batchRead(type: string, r: FakeRequest): { status?: number; json: unknown } {
    const body = r.json() as { properties?: string[]; inputs?: { id: string }[] };
    const inputs = body.inputs ?? [];
    if (inputs.length > 100) throw validation("Batch read is limited to 100 inputs");
    const archived = r.query.get("archived") === "true";
    const names = body.properties?.length ? body.properties : listDefaults(type);
    const found: Json[] = [];
    const missing: string[] = [];
    for (const { id } of inputs) {
      const o = this.#list(type).find((x) => x.id === String(id) && x.archived === archived);
      if (o) found.push(this.#render(type, o, names));
      else missing.push(String(id));
    }
    const at = new Date(this.now).toISOString();
    return {
      status: missing.length > 0 ? 207 : 200,
      json: {
        status: "COMPLETE",
        results: found,
        startedAt: at,
        completedAt: at,
        ...(missing.length > 0
          ? {
              numErrors: 1,
              errors: [
                {
                  status: "error",
                  category: "OBJECT_NOT_FOUND",
                  message: "Could not get some objects, they may be deleted or not exist.",
                  context: { ids: missing },
                },
              ],
            }
          : {}),
      },
    };
  }

  #associationsBatch(from: string, to: string, body: Json): { status?: number; json: unknown } {
    if (!(HUBSPOT_OBJECT_TYPES as readonly string[]).includes(to))
      throw validation(`Unable to infer object type from: ${to}`);
    const inputs = (body.inputs as { id: string }[] | undefined) ?? [];
    if (inputs.length > 1000) throw validation("Batch read is limited to 1,000 inputs");
    const results: Json[] = [];
    const none: string[] = [];
    for (const { id } of inputs) {
      const all = [...(this.#assoc.get(`${from}/${id}/${to}`)?.values() ?? [])].sort(
        (a, b) => a.toObjectId - b.toObjectId,
      );
      if (all.length === 0) {
        none.push(String(id));
        continue;
      }
      results.push({
        from: { id: String(id) },
        to: all.slice(0, 500),
        ...(all.length > 500
          ? { paging: { next: { after: String(all[500]?.toObjectId), link: null } } }
          : {}),
      });
    }
    const at = new Date(this.now).toISOString();
    return {
      status: none.length > 0 ? 207 : 200,
      json: {
        status: "COMPLETE",
        results,
        startedAt: at,
        completedAt: at,
        ...(none.length > 0
          ? {
              numErrors: none.length,
              errors: none.map((id) => ({
                status: "error",
                category: "OBJECT_NOT_FOUND",
                subCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
                context: { fromObjectId: [id] },
                message: `No ${to} is associated with ${from} ${id}.`,
              })),
            }
          : {}),
      },
    };
  }

  #associationsPage(from: string, id: string, to: string, q: URLSearchParams): Json {
    const limit = this.#limit(q, 500, 500);
    const all = [...(this.#assoc.get(`${from}/${id}/${to}`)?.values() ?? [])].sort(
      (a, b) => a.toObjectId - b.toObjectId,
    );
    const after = q.get("after");
    const start = after ? all.findIndex((a) => a.toObjectId >= Number(after)) : 0;
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const next = start < 0 ? undefined : all[start + limit];
    return { results: page, ...(next ? { paging: { next: { after: String(next.toObjectId) } } } : {}) };
  }

  #listOwners(q: URLSearchParams): Json {
    const limit = this.#limit(q, 500, 100);
    const archived = q.get("archived") === "true";
    const all = this.#owners.filter((o) => o.archived === archived);
    const after = Number(q.get("after") ?? 0);
    const page = all.slice(after, after + limit);
    return {
      results: page.map((o) => structuredClone(o)),
      ...(after + limit < all.length ? { paging: { next: { after: String(after + limit) } } } : {}),
    };
  }
}
