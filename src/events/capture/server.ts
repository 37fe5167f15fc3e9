import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { type Logger, silentLogger } from "../../util/log.js";
import { CaptureRejection } from "../event.js";
import type { EventMetrics } from "../metrics.js";
import type { CaptureWarning } from "./event-rules.js";
import { type CaptureDeps, type CaptureRoute, captureRequest, captureRoutes } from "./handler.js";
import { ClientGoneError, formatBytes } from "./read-body.js";

/** How a capture server is set up. */
export interface CaptureServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8010; 0 picks a free port (see `start()`'s result). */
  port?: number;
  /** True when the token is a project this server serves; other tokens get a 401. */
  projects: (token: string) => boolean;
  /** Stores events durably: the event log's `append`. Rejecting with `LogUnavailableError` answers 503. */
  append: CaptureDeps["append"];
  metrics: EventMetrics;
  /** What `GET /metrics` serves; default `metrics.registry`. */
  registry?: Registry;
  /** `GET /_readiness` answers 200 only while this says true (default: always, until `close()`). */
  ready?: () => boolean;
  /** Take the client IP from `X-Forwarded-For` (only behind a proxy you run); else from the connection. */
  trustProxy?: boolean;
  /** The clock in ms (tests). */
  now?: () => number;
  /** Told when a rule overrode what a client sent (e.g. a timestamp more than 23 h in the future). */
  onWarning?: (warning: CaptureWarning) => void;
  log?: Logger;
  /**
   * More routes on the same port (the dashboard at `/ui`): asked first for paths that are not capture routes;
   * returns true when it answers the request.
   */
  mount?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Body limits in bytes: `event` for /e, /capture, /track, /engage, /i/v0/e (default 2 MB), `batch` (20 MB). */
  limits?: { event?: number; batch?: number };
}

/** Where a started server listens. */
export interface CaptureServerAddress {
  host: string;
  port: number;
  /** `http://host:port`, to give clients as their `api_host`. */
  url: string;
}

const OK_BODY = '{"status":1}';
const ALLOWED_METHODS = "GET, POST, OPTIONS";

/**
 * PostHog's capture API over HTTP: the routes `/e`, `/capture`, `/track`, `/engage`, `/i/v0/e` and `/batch` (with and
 * without a trailing slash; GET, POST, and OPTIONS for CORS), `/_liveness`, `/_readiness` and `/metrics`. A 200
 * `{"status":1}` is sent only after `append` resolved (the events are durable); errors are JSON
 * `{"type","code","detail"}`. `close()` stops accepting and waits for requests in flight.
 *
 * @example
 * const server = new CaptureServer({ port: 0, projects: (t) => t === "phc_x", append: (e) => log.append(e), metrics });
 * const { url } = await server.start(); // posthog-node: new PostHog("phc_x", { host: url })
 * await server.close();
 */
export class CaptureServer {
  readonly #options: CaptureServerOptions;
  readonly #routes: Map<string, CaptureRoute>;
  readonly #deps: CaptureDeps;
  readonly #log: Logger;
  #server: Server | undefined;
  #address: CaptureServerAddress | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(options: CaptureServerOptions) {
    this.#options = options;
    this.#routes = captureRoutes(options.limits);
    this.#log = options.log ?? silentLogger;
    this.#deps = {
      projects: options.projects,
      append: options.append,
      metrics: options.metrics,
      now: options.now ?? Date.now,
      onWarning: options.onWarning,
    };
  }

  /** Where the server listens, once started. */
  get address(): CaptureServerAddress | undefined {
    return this.#address;
  }

  /** Starts listening; resolves with the bound address (port 0 gets a free port). */
  start(): Promise<CaptureServerAddress> {
    if (this.#server) return Promise.reject(new Error("the capture server is already started"));
    const server = createServer({
      maxHeaderSize: 64 * 1024,
      keepAliveTimeout: 30_000,
      requestTimeout: 120_000,
    });
    server.headersTimeout = 35_000;
    server.on("request", (req, res) => this.#onRequest(req, res));
    // Expect: 100-continue: refuse a body over the limit before the client sends it
    server.on("checkContinue", (req, res) => {
      const route = this.#routes.get(routePath(req.url ?? "/").path);
      if (route && declaredLength(req) > route.limit) {
        res.shouldKeepAlive = false;
        this.#reject(req, res, tooLargeDeclared(route, declaredLength(req)));
        return;
      }
      res.writeContinue();
      this.#onRequest(req, res);
    });
    this.#server = server;
    const host = this.#options.host ?? "127.0.0.1";
    const port = this.#options.port ?? 8010;
    return new Promise((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException) => {
        this.#server = undefined;
        const hint =
          e.code === "EADDRINUSE"
            ? `: port ${port} on ${host} is in use; stop what holds it or choose another port (--port)`
            : e.code === "EADDRNOTAVAIL"
              ? `: ${host} is not an address of this machine (--host)`
              : "";
        reject(new Error(`the capture server cannot listen on ${host}:${port} (${e.message})${hint}`));
      };
      server.once("error", failed);
      server.listen(port, host, () => {
        server.off("error", failed);
        server.on("error", (e) => this.#log.error(`capture server: ${e.message}`));
        const { port } = server.address() as AddressInfo;
        const urlHost = host.includes(":") ? `[${host}]` : host;
        this.#address = { host, port, url: `http://${urlHost}:${port}` };
        resolve(this.#address);
      });
    });
  }

  /**
   * Stops accepting connections, answers requests that arrive on open connections with 503 (clients retry), waits
   * for the requests in flight (their appends complete and are acknowledged), then closes every connection. A client
   * still sending its body after `graceMs` is cut off (its events were not acknowledged; it retries elsewhere).
   */
  close(graceMs = 30_000): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    this.#closed ??= this.#shutDown(server, graceMs);
    return this.#closed;
  }

  async #shutDown(server: Server, graceMs: number): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (this.#inFlight > 0) {
      const cutOff = setTimeout(() => server.closeAllConnections(), graceMs);
      await new Promise<void>((resolve) => this.#idle.push(resolve));
      clearTimeout(cutOff);
    }
    server.closeIdleConnections();
    await closed;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const { path, search } = routePath(req.url ?? "/");
    const route = this.#routes.get(path);
    if (this.#closing) res.shouldKeepAlive = false;
    if (route) {
      // counted until the handler settles (not the response): an append in flight is waited for by close()
      // even when its client went away
      this.#inFlight++;
      this.#capture(route, search, req, res)
        .catch((e) => this.#internalError(req, res, e))
        .finally(() => this.#done());
      return;
    }
    if (this.#options.mount?.(req, res)) return;
    if (path === "/_liveness") sendJson(res, 200, '{"status":"alive"}');
    else if (path === "/_readiness") {
      const ready = !this.#closing && (this.#options.ready?.() ?? true);
      sendJson(res, ready ? 200 : 503, ready ? '{"status":"ready"}' : '{"status":"not ready"}');
    } else if (path === "/metrics") this.#metrics(res).catch((e) => this.#internalError(req, res, e));
    else if (path === "/") sendJson(res, 200, '{"status":1,"service":"ferry capture"}');
    else {
      const detail = `no route ${path}; capture routes are /e, /capture, /track, /engage, /i/v0/e and /batch`;
      sendJson(res, 404, errorBody("not_found", "not_found", detail));
    }
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #capture(
    route: CaptureRoute,
    search: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    setCors(req, res);
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      res.setHeader("Access-Control-Allow-Methods", ALLOWED_METHODS);
      const requested = req.headers["access-control-request-headers"];
      if (requested) res.setHeader("Access-Control-Allow-Headers", requested);
      res.setHeader("Access-Control-Max-Age", "86400");
      return sendJson(res, 200, OK_BODY);
    }
    if (method !== "GET" && method !== "POST") {
      res.setHeader("Allow", ALLOWED_METHODS);
      return sendJson(
        res,
        405,
        errorBody("invalid_request", "method_not_allowed", `${route.path} takes GET or POST`),
      );
    }
    if (this.#closing) {
      return this.#reject(
        req,
        res,
        new CaptureRejection(503, "shutting_down", "the server is shutting down; retry"),
      );
    }
    if (declaredLength(req) > route.limit)
      return this.#reject(req, res, tooLargeDeclared(route, declaredLength(req)));

    const query = new URLSearchParams(search);
    let received = 0;
    try {
      await captureRequest(
        {
          route,
          body: req,
          query,
          headers: req.headers,
          ip: clientIp(req, this.#options.trustProxy ?? false),
          onBytes: (n) => {
            received += n;
            this.#deps.metrics.bytes.inc(n);
          },
        },
        this.#deps,
      );
    } catch (e) {
      if (e instanceof ClientGoneError) return void res.destroy();
      if (e instanceof CaptureRejection) return this.#reject(req, res, e, received);
      throw e;
    }
    if (this.#closing) res.shouldKeepAlive = false; // answered during close(): let the connection go after it
    if (query.get("beacon") === "1") {
      res.writeHead(204);
      res.end();
    } else sendJson(res, 200, OK_BODY);
  }

  /** Answers a refused request, and deals with what is left of its body (drained, or the connection closed). */
  #reject(req: IncomingMessage, res: ServerResponse, e: CaptureRejection, received = 0): void {
    if (this.#closing) res.shouldKeepAlive = false;
    this.#deps.metrics.rejected.inc({ reason: e.reason });
    this.#log.debug(
      `capture: ${req.method} ${req.url?.split("?")[0]} -> ${e.status} ${e.reason}: ${e.message}`,
    );
    if (e.status === 503) res.setHeader("Retry-After", "1");
    settleBody(req, res, received, this.#routes.get(routePath(req.url ?? "/").path)?.limit ?? 0);
    sendJson(res, e.status, errorBody(errorType(e.status), e.reason, e.message));
  }

  #internalError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    this.#log.error(
      `capture: ${req.method} ${req.url?.split("?")[0]} failed: ${(e as Error)?.stack ?? String(e)}`,
    );
    this.#deps.metrics.rejected.inc({ reason: "internal_error" });
    if (res.headersSent) return void res.destroy();
    settleBody(req, res, 0, 0);
    sendJson(
      res,
      500,
      errorBody(
        "server_error",
        "internal_error",
        "capture failed on the server; the events were not stored, retry",
      ),
    );
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const registry = this.#options.registry ?? this.#options.metrics.registry;
    const text = await registry.metrics();
    res.writeHead(200, { "Content-Type": registry.contentType, "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }
}

/** Path (one trailing slash dropped) and query string of a request target. */
function routePath(url: string): { path: string; search: string } {
  const q = url.indexOf("?");
  let path = q < 0 ? url : url.slice(0, q);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return { path, search: q < 0 ? "" : url.slice(q + 1) };
}

function declaredLength(req: IncomingMessage): number {
  const v = req.headers["content-length"];
  return v === undefined ? 0 : Number(v) || 0;
}

function tooLargeDeclared(route: CaptureRoute, declared: number): CaptureRejection {
  return new CaptureRejection(
    413,
    "too_large",
    `the request body (${declared} bytes) is larger than ${route.path}'s limit of ${formatBytes(route.limit)}; send fewer events per request`,
  );
}

/** How much of a refused body is read and thrown away (at least), so that the client sees the answer. */
const DRAIN_CAP = 16 * 1024 * 1024;

/**
 * A refused request's unread body: drained (discarded, never kept) when what is left is at most max(limit, 16 MB), so
 * the client reads the answer and the connection stays usable (closing a socket with unread data resets it, and the
 * client may lose the answer); a larger body is cut off: the connection is closed after the answer.
 */
function settleBody(req: IncomingMessage, res: ServerResponse, received: number, limit: number): void {
  if (req.readableEnded || req.complete || !res.shouldKeepAlive) return;
  const declared = declaredLength(req);
  const cap = Math.max(limit, DRAIN_CAP);
  if (declared > 0 && declared - received > cap) {
    res.shouldKeepAlive = false;
    return;
  }
  let drained = 0;
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > cap) req.destroy();
  });
  req.resume();
}

/** CORS as PostHog's capture does it: the request's origin mirrored, with credentials. */
function setCors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (origin) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Credentials", "true");
    res.setHeader("Vary", "Origin, Access-Control-Request-Headers");
  } else {
    res.setHeader("Access-Control-Allow-Origin", "*");
  }
}

function clientIp(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
    if (first) return stripV4Mapped(first);
  }
  const remote = req.socket.remoteAddress;
  return remote ? stripV4Mapped(remote) : null;
}

function stripV4Mapped(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status >= 500) return "server_error";
  return "validation_error";
}

function errorBody(type: string, code: string, detail: string): string {
  return JSON.stringify({ type, code, detail });
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
