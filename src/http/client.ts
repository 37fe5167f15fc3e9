import { errorMessage } from "../util/errors.js";
import { type Logger, redactSecrets, registerSecret, silentLogger } from "../util/log.js";
import { Semaphore } from "../util/semaphore.js";
import type { Auth, AuthTransport } from "./auth.js";
import { HttpError } from "./http-error.js";
import { RateLimiter } from "./rate-limit.js";
import type { HttpRequest, HttpResponse, QueryParams } from "./types.js";

export interface HttpRetryPolicy {
  /** Attempts in all, the first included. Default 5. */
  attempts: number;
  /** First backoff delay; doubles each attempt, with jitter. Default 500 ms. */
  initialDelayMs: number;
  /** No single wait (backoff or Retry-After) is longer. Default 60 s. */
  maxDelayMs: number;
}

/**
 * An API's own rules for failed responses, beyond the defaults (retry 429, 408 and 5xx; wait `Retry-After`):
 * a header that says whether to retry (Stripe's `Stripe-Should-Retry`), a wait the API states its own way
 * (HubSpot's rate-limit policies), and a clearer message for a failure (which credentials, which scopes).
 *
 * @example
 * const policy: ResponsePolicy = { retry: (res) => res.headers.get("x-should-retry") === "false" ? false : undefined };
 */
export interface ResponsePolicy {
  /** true or false decides whether this failed response is retried; undefined keeps the default. */
  retry?(response: HttpResponse): boolean | undefined;
  /** Milliseconds to wait before the next attempt, when the API tells it without `Retry-After`. */
  delayMs?(response: HttpResponse, attempt: number): number | undefined;
  /** A message and hint that say what went wrong and what to do (never the credentials). */
  explain?(response: HttpResponse): { message: string; hint: string } | undefined;
}

export interface HttpClientOptions {
  baseUrl?: string;
  headers?: Record<string, string>;
  auth?: Auth;
  /** Per request, default 30 s. */
  timeoutMs?: number;
  retry?: Partial<HttpRetryPolicy>;
  /** Requests in flight at once. Default 5. */
  concurrency?: number;
  /** Optional cap on requests started per second. */
  requestsPerSecond?: number;
  /** The API's own rules for failed responses (retry or not, how long to wait, what to say). */
  policy?: ResponsePolicy;
  log?: Logger;
  /** For tests and custom transports. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Statuses the caller handles itself (e.g. response actions): returned instead of raised or retried. */
  accept?: (status: number, text: string) => boolean;
  /** Logs this request's attempts and retries (e.g. under the resource that asked); default the client's. */
  log?: Logger;
  /** Auth for this request instead of the client's (null: none), e.g. an endpoint with its own credentials. */
  auth?: Auth | null;
}

const RETRYABLE = (status: number) => status === 429 || status === 408 || status >= 500;

/** Builds the final URL: base URL + path (or an absolute URL), then query parameters. */
export function buildUrl(baseUrl: string | undefined, url: string, params?: QueryParams): string {
  let full: URL;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) full = new URL(url);
  else if (baseUrl) {
    const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
    full = new URL(url.replace(/^\/+/, ""), base);
  } else
    throw new HttpError(`relative URL "${url}" needs a base_url`, 0, url, { hint: "set client.base_url" });
  for (const [k, v] of Object.entries(params ?? {})) {
    if (Array.isArray(v)) {
      full.searchParams.delete(k);
      for (const item of v) full.searchParams.append(k, String(item));
    } else if (v !== undefined) full.searchParams.set(k, String(v));
  }
  return full.toString();
}

/** Seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value.trim());
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * An HTTP client for API sources: retries 429, 5xx, timeouts and connection errors with exponential backoff and
 * jitter (honouring Retry-After), limits concurrency and rate, renews auth once on 401, and never prints secrets.
 *
 * @example
 * const http = new HttpClient({ baseUrl: "https://api.example.com/v1", auth: bearerAuth(token) });
 * const res = await http.request({ method: "GET", url: "/users", params: { page: 1 } });
 */
export class HttpClient implements AuthTransport {
  readonly #opts: HttpClientOptions;
  readonly #retry: HttpRetryPolicy;
  readonly #slots: Semaphore;
  readonly #rate: RateLimiter | undefined;
  readonly #log: Logger;
  readonly #fetch: typeof fetch;
  /** Requests sent (attempts included), for progress and benchmarks. */
  requests = 0;

  constructor(options: HttpClientOptions = {}) {
    this.#opts = options;
    this.#retry = { attempts: 5, initialDelayMs: 500, maxDelayMs: 60_000, ...options.retry };
    this.#slots = new Semaphore(options.concurrency ?? 5);
    this.#rate = options.requestsPerSecond ? new RateLimiter(options.requestsPerSecond) : undefined;
    this.#log = options.log ?? silentLogger;
    this.#fetch = options.fetch ?? fetch;
    for (const s of options.auth?.secrets() ?? []) registerSecret(s);
  }

  get baseUrl(): string | undefined {
    return this.#opts.baseUrl;
  }

  /** Sends one request without auth, retries or limits (auth flows use it for token calls). */
  async send(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const url = buildUrl(this.#opts.baseUrl, request.url, request.params);
    // A Headers object, so "Accept" given by the caller replaces the default "accept" instead of joining it.
    const headers = new Headers({ accept: "application/json" });
    for (const [k, v] of Object.entries({ ...this.#opts.headers, ...request.headers })) headers.set(k, v);
    let body: string | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? 30_000);
    const res = await this.#fetch(url, {
      method: request.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    let parsed: { value: unknown } | undefined;
    return {
      status: res.status,
      headers: res.headers,
      url,
      text,
      request,
      json() {
        if (!parsed) {
          try {
            parsed = { value: text.length === 0 ? null : JSON.parse(text) };
          } catch {
            throw new HttpError(
              `response of ${redactSecrets(url)} is not JSON (status ${res.status}): ${snippet(text)}`,
              res.status,
              redactSecrets(url),
              { hint: "check the endpoint path, or that the API returns JSON for it" },
            );
          }
        }
        return parsed.value;
      },
    };
  }

  /** Sends a request with auth, limits and retries; returns 2xx responses (and those `accept` takes). */
  async request(request: HttpRequest, options: RequestOptions = {}): Promise<HttpResponse> {
    let refreshed = false;
    const log = options.log ?? this.#log;
    const auth = options.auth === undefined ? this.#opts.auth : (options.auth ?? undefined);
    if (options.auth) for (const s of options.auth.secrets()) registerSecret(s);
    for (let attempt = 1; ; attempt++) {
      const req: HttpRequest = { ...request, headers: { ...request.headers }, params: { ...request.params } };
      if (auth && this.#sameOrigin(req.url)) await auth.apply(req, this);
      const safeUrl = redactSecrets(buildUrl(this.#opts.baseUrl, req.url, req.params));
      const label = `${req.method} ${safeUrl}`;
      let res: HttpResponse | undefined;
      let failure: unknown;
      const release = await this.#slots.acquire();
      try {
        await this.#rate?.wait();
        this.requests++;
        log.debug(`${label} (attempt ${attempt})`);
        res = await this.send(req, options.signal);
        // Paginators build the next request from this: give them the caller's request, not the one with credentials.
        res.request = request;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        // fetch refuses to build some requests (an invalid header, a body on GET): retrying cannot help.
        if (err instanceof TypeError && err.message !== "fetch failed") {
          throw new HttpError(`${label} cannot be sent: ${errorMessage(err)}`, 0, safeUrl, {
            cause: err,
            hint: "check the request's method, headers and body in the config",
          });
        }
        failure = err;
      } finally {
        release();
      }
      if (res) {
        if (res.status >= 200 && res.status < 300) return res;
        if (options.accept?.(res.status, res.text)) return res;
        if (res.status === 401 && !refreshed && auth?.refresh) {
          refreshed = true;
          if (await auth.refresh(this)) {
            attempt--;
            continue;
          }
        }
        const policy = this.#opts.policy;
        if (!(policy?.retry?.(res) ?? RETRYABLE(res.status))) {
          const explained = policy?.explain?.(res);
          throw new HttpError(
            explained
              ? `${label} failed with status ${res.status}: ${redactSecrets(explained.message)}`
              : `${label} failed with status ${res.status}: ${snippet(res.text)}`,
            res.status,
            safeUrl,
            { hint: explained?.hint ?? hintFor(res.status) },
          );
        }
      }
      const reason = res ? `status ${res.status}` : describeFailure(failure, this.#opts.timeoutMs ?? 30_000);
      if (attempt >= this.#retry.attempts) {
        throw new HttpError(
          `${label} failed after ${attempt} ${attempt === 1 ? "attempt" : "attempts"}: ${reason}`,
          res?.status ?? 0,
          safeUrl,
          {
            transient: true,
            cause: failure,
            hint: "the API is unavailable or rate limiting; run again later (state was not advanced)",
          },
        );
      }
      const stated = res ? this.#opts.policy?.delayMs?.(res, attempt) : undefined;
      const delay =
        stated !== undefined
          ? Math.min(stated, this.#retry.maxDelayMs)
          : this.#delay(attempt, res?.headers.get("retry-after") ?? null);
      log.warn(`${label}: ${reason}; retry ${attempt}/${this.#retry.attempts - 1} in ${delay} ms`);
      await sleep(delay, options.signal);
    }
  }

  /**
   * Credentials go only to the API's own origin: a next-page link pointing at another host (a CDN, a redirector,
   * a hostile API) gets the request without them.
   */
  #sameOrigin(url: string): boolean {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || !this.#opts.baseUrl) return true;
    const same = new URL(url).origin === new URL(this.#opts.baseUrl).origin;
    if (!same && !this.#warnedOrigins.has(new URL(url).origin)) {
      this.#warnedOrigins.add(new URL(url).origin);
      this.#log.warn(
        `not sending credentials to ${new URL(url).origin}: it is not the API's base URL origin`,
      );
    }
    return same;
  }

  readonly #warnedOrigins = new Set<string>();

  #delay(attempt: number, retryAfter: string | null): number {
    const fromHeader = parseRetryAfter(retryAfter);
    if (fromHeader !== undefined) return Math.min(fromHeader, this.#retry.maxDelayMs);
    const base = this.#retry.initialDelayMs * 2 ** (attempt - 1);
    // Jitter spreads retries of concurrent requests so they do not hit the API in lockstep.
    return Math.round(Math.min(base * (0.5 + Math.random() / 2), this.#retry.maxDelayMs));
  }
}

function snippet(text: string): string {
  const t = redactSecrets(text.replace(/\s+/g, " ").trim());
  return t.length > 300 ? `${t.slice(0, 300)}...` : t || "(empty body)";
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `timed out after ${timeoutMs / 1000} s (client.timeout)`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${errorMessage(err)}${cause}`;
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return "check the credentials (auth) and their permissions";
  if (status === 404)
    return "check the path; for children that may be gone, add a response action to ignore 404";
  return "check the request (path, params, body) against the API's documentation";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
