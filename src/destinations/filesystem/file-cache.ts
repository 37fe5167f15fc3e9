import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { LocalStore } from "../../storage/local/local-store.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { shortHash, uniqueId } from "../../util/hash.js";

/**
 * Local paths of stored files, for DuckDB to read: a local store's files are read in place; a remote store's are
 * downloaded once into a cache folder (one per store) and reused. Only files that never change are cached: data
 * files and markers of completed loads, state and schema files (a key is rewritten only by a retry of a load that
 * never completed, and readers never look at those).
 *
 * @example
 * const files = new FileCache(store, undefined);
 * const paths = await files.paths([{ key: "gh/issues/1.0000.parquet", bytes: 1234 }]);
 */
export class FileCache {
  readonly #store: ObjectStore;
  readonly #dir: string | undefined;

  constructor(store: ObjectStore, cacheDir: string | undefined) {
    this.#store = store;
    this.#dir =
      store instanceof LocalStore
        ? undefined
        : join(cacheDir ?? join(tmpdir(), "ferry-filesystem-cache"), shortHash(store.description, 16));
  }

  /** True when files are read in place (a local store). */
  get local(): boolean {
    return this.#dir === undefined;
  }

  #localPath(key: string): string {
    const parts = key.split("/");
    return this.#store instanceof LocalStore
      ? join(this.#store.root, ...parts)
      : join(this.#dir!, ...parts)
          .split("/")
          .join(sep);
  }

  /** Local paths of these files (downloading what the cache lacks), in the same order. */
  async paths(files: ReadonlyArray<{ key: string; bytes?: number }>): Promise<string[]> {
    const out: string[] = [];
    await eachLimited(files, 8, async (f, i) => {
      const path = this.#localPath(f.key);
      out[i] = path;
      if (this.local) return;
      const have = await stat(path).catch(() => undefined);
      if (have && (f.bytes === undefined || have.size === f.bytes)) return;
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${uniqueId()}.tmp`;
      try {
        if (!(await this.#store.getFile(f.key, tmp))) throw new Error(`${f.key} is missing from the store`);
        await rename(tmp, path);
      } finally {
        await rm(tmp, { force: true });
      }
    });
    return out;
  }

  /** A small JSON object that never changes once written (markers, drop records), through the cache. */
  async json<T>(key: string): Promise<T | undefined> {
    if (this.local) {
      const body = await this.#store.get(key);
      return body ? (JSON.parse(body.toString("utf8")) as T) : undefined;
    }
    const path = this.#localPath(key);
    const cached = await readFile(path, "utf8").catch(() => undefined);
    if (cached !== undefined) return JSON.parse(cached) as T;
    const body = await this.#store.get(key);
    if (!body) return undefined;
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${uniqueId()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    return JSON.parse(body.toString("utf8")) as T;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
