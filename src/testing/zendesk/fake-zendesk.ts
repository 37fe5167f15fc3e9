import { FakeApi, type FakeRequest, type FakeResponse } from "../fake-api.js";
import { MinuteWindow } from "./zendesk-limits.js";

type Json = Record<string, unknown>;

export interface FakeZendeskAgent {
  email: string;
  /** An API token of this user (`{email}/token:{api_token}` basic auth). */
  api_token: string;
  /** Incremental exports are for admins. */
  role: "admin" | "agent";
}

export interface FakeZendeskOptions {
  /** Users whose email and API token sign in (default: admin@example.com with token `zd-test-token`). */
  agents?: FakeZendeskAgent[];
  /** OAuth access tokens that sign in as an admin. */
  oauthTokens?: string[];
  /** The clock (Unix seconds) records are created and changed at; move it with `tick()`. Default now. */
  now?: number;
  /** Incremental export requests per minute (default 10, Zendesk's). */
  exportPerMinute?: number;
  /** Other requests per minute (default 700). */
  perMinute?: number;
  /** Length of the rate-limit windows in seconds (default 60, Zendesk's; shorter ones keep tests quick). */
  windowSeconds?: number;
  /** Items per page of the time-based exports (default 1000, Zendesk's). */
  timeExportPageSize?: number;
}

class ZendeskHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.error));
  }
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/**
 * A local Zendesk Support account for tests, from Zendesk's API reference: the cursor-based ticket and user exports
 * (`start_time`, then `cursor`; `after_cursor`, `end_of_stream`; `per_page` up to 1000; items changed in the last
 * minute held back; a changed item exported again after its new time; deleted tickets with `status: deleted`
 * unless `exclude_deleted`; `include=metric_sets`), the time-based organization export (`next_page`, `end_time`;
 * items of the end second repeated on the next page), groups and ticket fields with cursor pagination
 * (`page[size]` up to 100, `links.next`), ticket metrics; basic auth with `{email}/token` or OAuth, 401
 * `Couldn't authenticate you`, 403 for non-admins on exports; 429 with `Retry-After` past 10 export requests a
 * minute.
 *
 * @example
 * const zd = await FakeZendesk.start();
 * const t = zd.createTicket({ subject: "Help" });
 * zd.tick(120);
 * zendeskSource({ base_url: zd.url, email: "admin@example.com", api_token: "zd-test-token" });
 */
export class FakeZendesk {
  readonly api: FakeApi;
  now: number;
  readonly #agents: FakeZendeskAgent[];
  readonly #oauth: string[];
  readonly #exportLimit: MinuteWindow;
  readonly #generalLimit: MinuteWindow;
  readonly #timePage: number;
  readonly #tickets: Json[] = [];
  readonly #metrics = new Map<number, Json>();
  readonly #users: Json[] = [];
  readonly #orgs: Json[] = [];
  readonly #groups: Json[] = [];
  readonly #fields: Json[] = [];
  readonly #forced: { status: number; retryAfter: number }[] = [];
  /** 429 answers given. */
  refused = 0;
  #id = 0;

  private constructor(api: FakeApi, o: FakeZendeskOptions) {
    this.api = api;
    this.now = o.now ?? Math.floor(Date.now() / 1000);
    this.#agents = o.agents ?? [{ email: "admin@example.com", api_token: "zd-test-token", role: "admin" }];
    this.#oauth = o.oauthTokens ?? [];
    const windowMs = (o.windowSeconds ?? 60) * 1000;
    this.#exportLimit = new MinuteWindow(o.exportPerMinute ?? 10, windowMs);
    this.#generalLimit = new MinuteWindow(o.perMinute ?? 700, windowMs);
    this.#timePage = o.timeExportPageSize ?? 1000;
  }

  static async start(options: FakeZendeskOptions = {}): Promise<FakeZendesk> {
    const api = await FakeApi.start();
    const fake = new FakeZendesk(api, options);
    api.route({ method: "GET", path: /\/api\/v2\/.+/, handler: (r) => fake.#handle(r) });
    return fake;
  }

  get url(): string {
    return this.api.url;
  }

  get requests(): FakeRequest[] {
    return this.api.requests;
  }

  /** Moves the clock on (seconds). */
  tick(seconds: number): void {
    this.now += seconds;
  }

  createTicket(fields: Json = {}): Json {
    const id = ++this.#id;
    const t: Json = {
      id,
      url: `${this.url}/api/v2/tickets/${id}.json`,
      subject: `Ticket ${id}`,
      status: "new",
      priority: null,
      tags: [],
      custom_fields: [],
      ...fields,
      created_at: iso(this.now),
      updated_at: iso(this.now),
      generated_timestamp: this.now,
    };
    this.#tickets.push(t);
    this.#metrics.set(id, {
      id: ++this.#id,
      ticket_id: id,
      created_at: iso(this.now),
      updated_at: iso(this.now),
      replies: 0,
      reopens: 0,
      reply_time_in_minutes: { calendar: null, business: null },
      full_resolution_time_in_minutes: { calendar: null, business: null },
    });
    return t;
  }

  /** Changes a ticket (its metric set too, when `metrics` are given); it is exported again. */
  updateTicket(id: number, fields: Json, metrics?: Json): Json {
    const t = this.#find(this.#tickets, id, "ticket");
    Object.assign(t, fields, { updated_at: iso(this.now), generated_timestamp: this.now });
    const m = this.#metrics.get(id);
    if (m && metrics) Object.assign(m, metrics, { updated_at: iso(this.now) });
    return t;
  }

  /** Deletes a ticket: the export then gives it with `status: deleted` (and no metric set). */
  deleteTicket(id: number): void {
    this.updateTicket(id, { status: "deleted" });
    this.#metrics.delete(id);
  }

  createUser(fields: Json = {}): Json {
    const id = ++this.#id;
    const u: Json = {
      id,
      name: `User ${id}`,
      email: `user${id}@example.com`,
      role: "end-user",
      active: true,
      user_fields: {},
      ...fields,
      created_at: iso(this.now),
      updated_at: iso(this.now),
    };
    this.#users.push(u);
    return u;
  }

  updateUser(id: number, fields: Json): Json {
    return Object.assign(this.#find(this.#users, id, "user"), fields, { updated_at: iso(this.now) });
  }

  /** Deletes a user: the export gives it with `active: false`. */
  deleteUser(id: number): void {
    this.updateUser(id, { active: false });
  }

  createOrganization(fields: Json = {}): Json {
    const id = ++this.#id;
    const o: Json = {
      id,
      name: `Org ${id}`,
      domain_names: [],
      tags: [],
      organization_fields: {},
      deleted_at: null,
      ...fields,
      created_at: iso(this.now),
      updated_at: iso(this.now),
    };
    this.#orgs.push(o);
    return o;
  }

  updateOrganization(id: number, fields: Json): Json {
    return Object.assign(this.#find(this.#orgs, id, "organization"), fields, { updated_at: iso(this.now) });
  }

  deleteOrganization(id: number): void {
    this.updateOrganization(id, { deleted_at: iso(this.now) });
  }

  addGroup(name: string): Json {
    const g: Json = {
      id: ++this.#id,
      name,
      default: false,
      deleted: false,
      created_at: iso(this.now),
      updated_at: iso(this.now),
    };
    this.#groups.push(g);
    return g;
  }

  addTicketField(title: string, type = "text"): Json {
    const f: Json = {
      id: ++this.#id,
      type,
      title,
      active: true,
      required: false,
      created_at: iso(this.now),
      updated_at: iso(this.now),
    };
    this.#fields.push(f);
    return f;
  }

  /** The next `count` requests get this status (429 with `Retry-After` by default) instead of their answer. */
  failNext(count: number, status = 429, retryAfter = 1): void {
    for (let i = 0; i < count; i++) this.#forced.push({ status, retryAfter });
  }

  async close(): Promise<void> {
    await this.api.close();
  }

  #find(list: Json[], id: number, what: string): Json {
    const x = list.find((i) => i.id === id);
    if (!x) throw new Error(`fake zendesk has no ${what} ${id}`);
    return x;
  }

  #handle(r: FakeRequest): FakeResponse {
    try {
      const role = this.#authenticate(r);
      const exportCall = r.path.startsWith("/api/v2/incremental/");
      const forced = this.#forced.shift();
      if (forced) {
        this.refused++;
        throw new ZendeskHttpError(
          forced.status,
          {
            error: "APIRateLimitExceeded",
            description: "Number of allowed API requests per minute exceeded",
          },
          { "retry-after": String(forced.retryAfter) },
        );
      }
      const wait = (exportCall ? this.#exportLimit : this.#generalLimit).take();
      if (wait > 0) {
        this.refused++;
        throw new ZendeskHttpError(
          429,
          {
            error: "APIRateLimitExceeded",
            description: exportCall
              ? "Number of allowed incremental export API requests per minute exceeded"
              : "Number of allowed API requests per minute exceeded",
          },
          { "retry-after": String(wait) },
        );
      }
      if (exportCall && role !== "admin") {
        throw new ZendeskHttpError(403, {
          error: "Forbidden",
          description:
            "You do not have access to this page. Please contact the account owner of this help desk for further help.",
        });
      }
      return { json: this.#route(r) };
    } catch (err) {
      if (!(err instanceof ZendeskHttpError)) throw err;
      return { status: err.status, headers: err.headers, json: err.body };
    }
  }

  #authenticate(r: FakeRequest): "admin" | "agent" {
    const h = String(r.headers.authorization ?? "");
    if (h.startsWith("Bearer ") && this.#oauth.includes(h.slice(7))) return "admin";
    if (h.startsWith("Basic ")) {
      const [user, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
      const secret = rest.join(":");
      const agent = this.#agents.find((a) => user === `${a.email}/token` && secret === a.api_token);
      if (agent) return agent.role;
    }
    throw new ZendeskHttpError(401, { error: "Couldn't authenticate you" });
  }

  #route(r: FakeRequest): unknown {
    const q = r.query;
    switch (r.path) {
      case "/api/v2/incremental/tickets/cursor.json":
        return this.#cursorExport(
          r,
          "tickets",
          this.#tickets.filter((t) => !(q.get("exclude_deleted") === "true" && t.status === "deleted")),
          (t) => Number(t.generated_timestamp),
        );
      case "/api/v2/incremental/users/cursor.json":
        return this.#cursorExport(r, "users", this.#users, (u) => Date.parse(String(u.updated_at)) / 1000);
      case "/api/v2/incremental/organizations.json":
        return this.#timeExport(r, "organizations", this.#orgs);
      case "/api/v2/groups.json":
        return this.#cursorList(r, "groups", this.#groups);
      case "/api/v2/ticket_fields.json":
        return this.#cursorList(r, "ticket_fields", this.#fields);
    }
    const m = /^\/api\/v2\/tickets\/(\d+)\/metrics\.json$/.exec(r.path);
    if (m) {
      const metric = this.#metrics.get(Number(m[1]));
      if (!metric) throw new ZendeskHttpError(404, { error: "RecordNotFound", description: "Not found" });
      return { ticket_metric: metric };
    }
    throw new ZendeskHttpError(404, { error: "InvalidEndpoint", description: "Not found" });
  }

  /** Items ordered by (time, id); a cursor is the position after the last item given. */
  #cursorExport(r: FakeRequest, key: string, all: Json[], time: (x: Json) => number): Json {
    const q = r.query;
    const perPage = q.get("per_page") === null ? 1000 : Number(q.get("per_page"));
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1000) {
      throw new ZendeskHttpError(400, {
        error: "InvalidPaginationParameter",
        description: "per_page must be between 1 and 1000",
      });
    }
    let pos: [number, number];
    const cursor = q.get("cursor");
    const start = q.get("start_time");
    if (cursor) {
      try {
        pos = JSON.parse(Buffer.from(cursor, "base64url").toString()) as [number, number];
      } catch {
        throw new ZendeskHttpError(400, {
          error: "InvalidPaginationParameter",
          description: "cursor is invalid",
        });
      }
    } else if (start !== null && /^\d+$/.test(start)) {
      if (Number(start) > this.now - 60) {
        throw new ZendeskHttpError(400, {
          error: "InvalidValue",
          description: "Too recent start_time. Use a start_time older than 1 minute",
        });
      }
      pos = [Number(start), -1];
    } else {
      throw new ZendeskHttpError(400, {
        error: "InvalidPaginationParameter",
        description: "Invalid search: requires start_time or cursor",
      });
    }
    // Items changed in the last minute are held back, so a cursor never passes an item still being written.
    const until = this.now - 60;
    const after = all
      .map((x) => ({ x, t: time(x) }))
      .filter(({ x, t }) => t <= until && (t > pos[0] || (t === pos[0] && Number(x.id) > pos[1])))
      .sort((a, b) => a.t - b.t || Number(a.x.id) - Number(b.x.id));
    const page = after.slice(0, perPage);
    const last = page[page.length - 1];
    const next = last ? [last.t, Number(last.x.id)] : pos;
    const token = Buffer.from(JSON.stringify(next)).toString("base64url");
    const body: Json = {
      [key]: page.map(({ x }) => structuredClone(x)),
      after_cursor: token,
      after_url: `${this.url}${r.path}?cursor=${token}&per_page=${perPage}`,
      before_cursor: null,
      before_url: null,
      end_of_stream: after.length <= perPage,
    };
    const include = (q.get("include") ?? "").split(",").filter(Boolean);
    if (include.includes("metric_sets")) {
      body.metric_sets = page.map(({ x }) => this.#metrics.get(Number(x.id))).filter(Boolean);
    }
    return body;
  }

  /** Time-based: items with `updated_at` at or after `start_time`, a page at a time; `end_time` = the last one's. */
  #timeExport(r: FakeRequest, key: string, all: Json[]): Json {
    const start = r.query.get("start_time");
    if (start === null || !/^\d+$/.test(start)) {
      throw new ZendeskHttpError(400, { error: "InvalidValue", description: "start_time is required" });
    }
    if (Number(start) > this.now - 60) {
      throw new ZendeskHttpError(400, {
        error: "InvalidValue",
        description: "Too recent start_time. Use a start_time older than 1 minute",
      });
    }
    const secs = (x: Json) => Date.parse(String(x.updated_at)) / 1000;
    const items = all
      .filter((x) => secs(x) >= Number(start) && secs(x) <= this.now - 60)
      .sort((a, b) => secs(a) - secs(b) || Number(a.id) - Number(b.id));
    // A page does not end inside a second: it takes every item of its last second (it may pass the page size),
    // and the next page starts at that second, repeating those items (a client skips the ones it has).
    let size = Math.min(this.#timePage, items.length);
    while (size > 0 && size < items.length && secs(items[size] as Json) === secs(items[size - 1] as Json))
      size++;
    const page = items.slice(0, size);
    const last = page[page.length - 1];
    const first = page[0];
    // A page of one second only holds all of it: the next one starts after it, else it would repeat forever.
    const end = !last || !first ? Number(start) : secs(first) === secs(last) ? secs(last) + 1 : secs(last);
    return {
      [key]: page.map((x) => structuredClone(x)),
      count: page.length,
      end_time: end,
      next_page: `${this.url}${r.path}?start_time=${end}`,
      end_of_stream: items.length === page.length,
    };
  }

  /** Zendesk's cursor pagination of lists: `page[size]` (up to 100), `page[after]`, `meta` and `links`. */
  #cursorList(r: FakeRequest, key: string, all: Json[]): Json {
    const size = Number(r.query.get("page[size]") ?? 100);
    if (!Number.isInteger(size) || size < 1 || size > 100) {
      throw new ZendeskHttpError(400, {
        error: "InvalidPaginationParameter",
        description: "page[size] must be between 1 and 100",
      });
    }
    const after = r.query.get("page[after]");
    const from = after ? Number(Buffer.from(after, "base64url").toString()) : 0;
    const page = all.slice(from, from + size);
    const more = from + size < all.length;
    const next = Buffer.from(String(from + size)).toString("base64url");
    return {
      [key]: page.map((x) => structuredClone(x)),
      meta: { has_more: more, after_cursor: more ? next : null, before_cursor: null },
      links: {
        next: more ? `${this.url}${r.path}?page%5Bafter%5D=${next}&page%5Bsize%5D=${size}` : null,
        prev: null,
      },
    };
  }
}
