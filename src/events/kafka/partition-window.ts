/**
 * The uuids of a partition's most recently stored events and their offsets, in insertion order with a fixed
 * capacity (the oldest leave first). A uuid seen at another offset is a retry of an event already stored; the same
 * offset read again (a batch loaded again after a crash) is not a duplicate.
 *
 * @example
 * const w = new PartitionWindow(2);
 * w.add("a", 10);
 * w.isDuplicate("a", 12) // true: the same uuid at another offset
 * w.isDuplicate("a", 10) // false: the same message
 */
export class PartitionWindow {
  readonly #capacity: number;
  readonly #offsets = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  get size(): number {
    return this.#offsets.size;
  }

  isDuplicate(uuid: string, offset: number): boolean {
    const seen = this.#offsets.get(uuid);
    return seen !== undefined && seen !== offset;
  }

  add(uuid: string, offset: number): void {
    if (this.#offsets.has(uuid)) return;
    this.#offsets.set(uuid, offset);
    if (this.#offsets.size > this.#capacity) {
      const oldest = this.#offsets.keys().next();
      if (!oldest.done) this.#offsets.delete(oldest.value);
    }
  }
}
