/** Spaces requests so that at most `perSecond` start in any second. */
export class RateLimiter {
  readonly #interval: number;
  #next = 0;

  constructor(perSecond: number) {
    this.#interval = 1000 / perSecond;
  }

  async wait(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#interval;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}
