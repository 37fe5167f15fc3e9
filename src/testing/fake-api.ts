import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as the fake API saw it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (when `json` is not set). */
  body?: string;
  /** Wait before answering (slow APIs, timeouts). */
  delayMs?: number;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakeRoute {
  method?: string;
  /** Exact path (`/users`) or a pattern (`/users/(?<id>\d+)/orders`). */
  path: string | RegExp;
  handler: FakeHandler;
}

/**
 * A local HTTP server that behaves like the API you describe, for testing sources without the real service.
 * Binds to 127.0.0.1 on a free port and records every request.
 *
 * @example
 * const api = await FakeApi.start([{ path: "/users", handler: (r) => ({ json: [{ id: 1 }] }) }]);
 * const src = restApiSource({ client: { base_url: api.url }, resources: ["users"] });
 * ...
 * await api.close();
 */
export class FakeApi {
  readonly requests: FakeRequest[] = [];
  readonly #server: Server;
  readonly #routes: FakeRoute[];
  #inFlight = 0;
  /** The most requests that were in flight at once. */
  maxInFlight = 0;

  private constructor(server: Server, routes: FakeRoute[]) {
    this.#server = server;
    this.#routes = routes;
  }

  static async start(routes: FakeRoute[] = []): Promise<FakeApi> {
    const server = createServer();
    const api = new FakeApi(server, [...routes]);
    server.on("request", (req, res) => {
      api.#handle(req).then(
        (out) => {
          res.writeHead(out.status ?? 200, {
            ...(out.json !== undefined ? { "content-type": "application/json" } : {}),
            ...out.headers,
          });
          res.end(out.json !== undefined ? JSON.stringify(out.json) : (out.body ?? ""));
        },
        (err: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`fake api handler failed: ${String(err)}`);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return api;
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    const addr = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${addr.port}`;
  }

  route(route: FakeRoute): this {
    this.#routes.push(route);
    return this;
  }

  /** Requests to a path (query ignored). */
  requestsTo(path: string): FakeRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage): Promise<FakeResponse> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const body = Buffer.concat(chunks).toString("utf8");
    const request: FakeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      json: () => JSON.parse(body),
    };
    this.requests.push(request);
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    try {
      const route = this.#routes.find(
        (r) =>
          (r.method ?? "GET").toUpperCase() === request.method &&
          (typeof r.path === "string"
            ? r.path === request.path
            : new RegExp(`^${r.path.source}$`).test(request.path)),
      );
      const out = route
        ? await route.handler(request)
        : { status: 404, json: { error: `no route for ${request.path}` } };
      if (out.delayMs) await new Promise((r) => setTimeout(r, out.delayMs));
      return out;
    } finally {
      this.#inFlight--;
    }
  }
}

/** Named groups of a route pattern for a path, e.g. `params(/\/users\/(?<id>\d+)/, "/users/7").id === "7"`. */
export function pathParams(pattern: RegExp, path: string): Record<string, string> {
  return new RegExp(`^${pattern.source}$`).exec(path)?.groups ?? {};
}
