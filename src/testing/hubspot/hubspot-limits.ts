/**
 * HubSpot's rate limits for one token: a rolling window (100 requests per 10 s for a private app), the search API's
 * own per-second limit (5), and a daily limit. Counted on the wall clock: a client has to really wait.
 */

export interface RateLimits {
  /** Requests per rolling window (default 100 per 10,000 ms). */
  burst: { max: number; intervalMs: number };
  /** Search requests per second (default 5). */
  searchPerSecond: number;
  /** Requests per day (default 500,000). */
  daily: number;
}

export const DEFAULT_LIMITS: RateLimits = {
  burst: { max: 100, intervalMs: 10_000 },
  searchPerSecond: 5,
  daily: 500_000,
};

export type LimitVerdict =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; policy: "TEN_SECONDLY_ROLLING" | "SECONDLY" | "DAILY"; headers: Record<string, string> };

export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #burst: number[] = [];
  readonly #search: number[] = [];
  #day = 0;

  constructor(limits: RateLimits) {
    this.#limits = limits;
  }

  /** Takes a request into the windows when it is within the limits; a refused one is not counted. */
  take(search: boolean, now = Date.now()): LimitVerdict {
    const l = this.#limits;
    const prune = (list: number[], ms: number) => {
      while (list.length > 0 && (list[0] as number) <= now - ms) list.shift();
    };
    prune(this.#burst, l.burst.intervalMs);
    prune(this.#search, 1000);
    this.#day++;
    const headers = (): Record<string, string> =>
      search
        ? {}
        : {
            "x-hubspot-ratelimit-daily": String(l.daily),
            "x-hubspot-ratelimit-daily-remaining": String(Math.max(0, l.daily - this.#day)),
            "x-hubspot-ratelimit-interval-milliseconds": String(l.burst.intervalMs),
            "x-hubspot-ratelimit-max": String(l.burst.max),
            "x-hubspot-ratelimit-remaining": String(Math.max(0, l.burst.max - this.#burst.length)),
          };
    if (this.#day > l.daily) return { ok: false, policy: "DAILY", headers: headers() };
    if (search) {
      if (this.#search.length >= l.searchPerSecond)
        return { ok: false, policy: "SECONDLY", headers: headers() };
      this.#search.push(now);
      return { ok: true, headers: headers() };
    }
    if (this.#burst.length >= l.burst.max)
      return { ok: false, policy: "TEN_SECONDLY_ROLLING", headers: headers() };
    this.#burst.push(now);
    return { ok: true, headers: headers() };
  }
}
