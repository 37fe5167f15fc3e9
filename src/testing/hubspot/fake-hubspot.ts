import { randomUUID } from "node:crypto";
import { FakeApi, type FakeRequest, type FakeResponse } from "../fake-api.js";
import { SearchError } from "./hubspot-data.js";
import {
  associationsBatch,
  associationsPage,
  batchRead,
  HubSpotHttpError,
  type Json,
  listObjects,
  listOwners,
  search,
  validation,
} from "./hubspot-endpoints.js";
import { DEFAULT_LIMITS, RateLimiter, type RateLimits } from "./hubspot-limits.js";
import { HUBSPOT_OBJECT_TYPES, HubSpotPortal } from "./hubspot-portal.js";

export { HUBSPOT_OBJECT_TYPES, type HubSpotObjectType } from "./hubspot-portal.js";

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
export class FakeHubSpot extends HubSpotPortal {
  readonly api: FakeApi;
  readonly #tokens: Record<string, string[] | "all"> | undefined;
  readonly #limiters = new Map<string, RateLimiter>();
  readonly #limits: RateLimits;
  readonly #maxUrl: number;
  readonly #forced: { status: number; policy: string }[] = [];
  /** 429 answers given, per policy. */
  readonly refused: Record<string, number> = {};

  private constructor(api: FakeApi, o: FakeHubSpotOptions) {
    super(o.now ?? Date.now());
    this.api = api;
    this.#tokens = o.tokens;
    this.#limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.#maxUrl = o.maxUrlLength ?? 8192;
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
      return { json: { results: this.definitions(type(3)) } };
    }
    if (r.method === "GET" && p[0] === "crm" && p[1] === "v3" && p[2] === "objects" && p.length === 4) {
      return { json: listObjects(this, this.url, type(3), r) };
    }
    if (r.method === "POST" && p[2] === "objects" && p[4] === "search" && p.length === 5) {
      return { json: search(this, type(3), r.json() as Json) };
    }
    if (r.method === "POST" && p[2] === "objects" && p[4] === "batch" && p[5] === "read") {
      return batchRead(this, type(3), r);
    }
    if (
      r.method === "POST" &&
      p[1] === "v4" &&
      p[2] === "associations" &&
      p[5] === "batch" &&
      p[6] === "read"
    ) {
      return associationsBatch(this, type(3), p[4] ?? "", r.json() as Json);
    }
    if (
      r.method === "GET" &&
      p[1] === "v4" &&
      p[2] === "objects" &&
      p[5] === "associations" &&
      p.length === 7
    ) {
      return { json: associationsPage(this, type(3), p[4] ?? "", p[6] ?? "", r.query) };
    }
    if (r.method === "GET" && route === "GET /crm/v3/owners") {
      this.#requireScope(token, READ_SCOPE.owners);
      return { json: listOwners(this, r.query) };
    }
    if (r.method === "GET" && p[2] === "pipelines" && p.length === 4) {
      const t = p[3] ?? "";
      if (t !== "deals" && t !== "tickets") throw validation(`Unable to infer object type from: ${t}`);
      this.#requireScope(token, READ_SCOPE[t]);
      return { json: { results: this.pipelinesOf(t) } };
    }
    throw new HubSpotHttpError(404, {
      status: "error",
      message: `Not found: ${r.method} ${r.path}`,
      category: "OBJECT_NOT_FOUND",
    });
  }
}
