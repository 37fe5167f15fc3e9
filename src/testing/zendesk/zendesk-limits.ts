/**
 * Zendesk's per-minute rate limits, counted on the wall clock: the account's general limit and the incremental
 * exports' own (10 a minute). A refused request learns from `Retry-After` how many seconds are left.
 */
export class MinuteWindow {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #hits: number[] = [];

  constructor(max: number, windowMs = 60_000) {
    this.#max = max;
    this.#windowMs = windowMs;
  }

  /** Seconds to wait (0: the request is taken into the window). */
  take(now = Date.now()): number {
    while (this.#hits.length > 0 && (this.#hits[0] as number) <= now - this.#windowMs) this.#hits.shift();
    if (this.#hits.length < this.#max) {
      this.#hits.push(now);
      return 0;
    }
    return Math.max(1, Math.ceil(((this.#hits[0] as number) + this.#windowMs - now) / 1000));
  }
}
