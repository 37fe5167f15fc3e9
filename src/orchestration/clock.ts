/**
 * Time as the scheduler sees it: the system's, or a fake one that tests move forward by hand.
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms` (at once when `signal` aborts; it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2_147_483_647)));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

interface Sleeper {
  readonly until: number;
  readonly resolve: () => void;
}

/**
 * A clock that stands still until `advance()` or `set()` moves it; sleepers whose time has come wake in order of
 * their deadlines. For tests of anything that takes a `Clock`.
 *
 * @example
 * const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
 * const woke = clock.sleep(60_000);
 * clock.advance(60_000); // `woke` resolves
 */
export class FakeClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = {
        until: this.#now + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", cancel);
          resolve();
        },
      };
      const cancel = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        sleeper.resolve();
      };
      signal?.addEventListener("abort", cancel, { once: true });
      if (sleeper.until <= this.#now) return sleeper.resolve();
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /** Moves time to `t` (never backwards) and wakes whoever sleeps until then. */
  set(t: number): void {
    this.#now = Math.max(this.#now, t);
    const due = this.#sleepers.filter((s) => s.until <= this.#now).sort((a, b) => a.until - b.until);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const s of due) s.resolve();
  }

  /** Deadlines of everyone asleep, soonest first. */
  get sleepers(): number[] {
    return this.#sleepers.map((s) => s.until).sort((a, b) => a - b);
  }
}
