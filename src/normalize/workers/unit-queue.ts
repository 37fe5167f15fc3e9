import type { NormalizeUnit } from "./worker-protocol.js";

/**
 * Extracted files waiting for a normalize worker. Files may be added while workers already take them (a package
 * normalized while it is still being extracted); `next()` waits for one, and gives undefined once the queue is closed
 * and empty. Each unit goes to exactly one caller.
 */
export class UnitQueue {
  readonly #units: NormalizeUnit[] = [];
  readonly #waiting: ((unit: NormalizeUnit | undefined) => void)[] = [];
  #closed = false;

  /** A closed queue of these units. */
  static of(units: NormalizeUnit[]): UnitQueue {
    const q = new UnitQueue();
    for (const u of units) q.push(u);
    q.close();
    return q;
  }

  push(unit: NormalizeUnit): void {
    if (this.#closed) return;
    const waiter = this.#waiting.shift();
    if (waiter) waiter(unit);
    else this.#units.push(unit);
  }

  /** Puts a unit back at the front (it was taken to look ahead). */
  unshift(unit: NormalizeUnit): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(unit);
    else this.#units.unshift(unit);
  }

  /** No more units will come. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
  }

  next(): Promise<NormalizeUnit | undefined> {
    const unit = this.#units.shift();
    if (unit !== undefined || this.#closed) return Promise.resolve(unit);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}
