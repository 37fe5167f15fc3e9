/**
 * Limits how many tasks run at once: `acquire()` resolves with a release function once a place is free (waiters are
 * served in order; releasing twice releases once).
 *
 * @example
 * const slots = new Semaphore(4);
 * const release = await slots.acquire();
 * try { await work(); } finally { release(); }
 */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = Math.max(1, Math.floor(size));
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free--;
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
