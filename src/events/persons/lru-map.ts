/**
 * A map that keeps at most `max` entries, dropping the least recently used (Map keeps insertion order: a read moves
 * the entry to the end).
 *
 * @example
 * const cache = new LruMap<string, number>(2);
 * cache.set("a", 1); cache.set("b", 2); cache.get("a"); cache.set("c", 3); // "b" is dropped
 */
export class LruMap<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, or undefined when the key is not cached (`has` tells a cached undefined apart). */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined || this.#map.has(key)) {
      this.#map.delete(key);
      this.#map.set(key, v as V);
    }
    return v;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }

  clear(): void {
    this.#map.clear();
  }
}
