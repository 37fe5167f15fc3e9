import type { CacheExtension } from "./plugin-api.js";

interface Entry {
  /** The value as JSON text: a get returns a fresh copy, as from Redis. */
  json: string;
  /** Epoch ms after which the entry is gone. */
  expires: number;
}

/**
 * `meta.cache`: an in-memory cache with expiry, bounded (the oldest entries go first past `maxEntries`). The same
 * code runs inside the plugin sandbox and in `ferry/testing`'s harness. Plain JavaScript: no Node APIs.
 *
 * @example
 * const cache = new MemoryCache();
 * await cache.set("seen", true, 60);
 * await cache.incr("hits"); // 1
 */
export class MemoryCache implements CacheExtension {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#max = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string, defaultValue: unknown = null): Promise<unknown> {
    const e = this.#live(String(key));
    return e ? JSON.parse(e.json) : defaultValue;
  }

  async set(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    const json = JSON.stringify(value === undefined ? null : value);
    const expires = ttlSeconds === undefined || ttlSeconds <= 0 ? Infinity : this.#now() + ttlSeconds * 1000;
    const k = String(key);
    this.#entries.delete(k);
    this.#entries.set(k, { json, expires });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  async incr(key: string): Promise<number> {
    const e = this.#live(String(key));
    const current = e ? Number(JSON.parse(e.json)) : 0;
    if (!Number.isFinite(current)) throw new Error(`cache.incr: the value of ${key} is not a number`);
    const next = current + 1;
    if (e) e.json = JSON.stringify(next);
    else await this.set(key, next);
    return next;
  }

  async expire(key: string, ttlSeconds: number): Promise<boolean> {
    const e = this.#live(String(key));
    if (!e) return false;
    e.expires = this.#now() + ttlSeconds * 1000;
    return true;
  }

  async del(key: string): Promise<void> {
    this.#entries.delete(String(key));
  }

  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && e.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }
}
