import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { uniqueId } from "../util/hash.js";
import { withRetry } from "../util/retry.js";
import { type Failure, type FailureContext, isRetryable, storeError } from "./failure.js";
import { checkKey, checkPrefix, compareKeys, fullKey, relativeKey, type StoreLocation } from "./location.js";
import type { ObjectInfo, ObjectStore } from "./object-store.js";
import { DEFAULT_STORE_RETRY, type StoreRetryPolicy } from "./retry.js";

/** How large files are uploaded: parts of `partSize` bytes, `concurrency` at a time (memory ~ their product). */
export interface TransferOptions {
  partSize: number;
  concurrency: number;
}

/** 8 MiB parts (S3's minimum is 5 MiB), 4 in flight: about 32 MiB of buffers per upload. */
export const DEFAULT_TRANSFER: TransferOptions = { partSize: 8 * 1024 * 1024, concurrency: 4 };

/** Part sizes and retries of a cloud store (tests shrink them); every `open*Store` takes one. */
export interface StoreTuning {
  transfer?: TransferOptions;
  retry?: StoreRetryPolicy;
}

/**
 * Runs `fn` over `items`, at most `limit` at a time (for stores that delete one object per request).
 *
 * @example
 * await eachLimit(names, 8, (n) => container.getBlobClient(n).deleteIfExists());
 */
export async function eachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * What one cloud implements: plain calls on full object names (the store's prefix already applied). Missing
 * objects are `undefined`/`false`/ignored; everything else throws the SDK's error, which `classify` explains.
 */
export interface StoreBackend {
  /** Names the store in messages, plus the hints that go with its failures. */
  readonly context: Omit<FailureContext, "url">;
  /** Uploads a local file of `size` bytes, in parts when it is larger than one part. */
  uploadFile(name: string, localPath: string, size: number): Promise<void>;
  upload(name: string, body: Buffer): Promise<void>;
  /** Uploads `body` only when no object `name` exists (the cloud's conditional write); false when one exists. */
  uploadIfAbsent(name: string, body: Buffer): Promise<boolean>;
  download(name: string): Promise<Buffer | undefined>;
  /** Streams an object into `localPath` (which the caller cleans up on failure); false when it does not exist. */
  downloadToFile(name: string, localPath: string): Promise<boolean>;
  /** Every object whose name starts with `prefix`, in any order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes objects; missing ones are ignored. */
  delete(names: string[]): Promise<void>;
  classify(err: unknown): Failure;
  close(): Promise<void>;
}

/**
 * An `ObjectStore` over a cloud backend: maps keys under the URL's prefix, validates them, retries transient
 * failures of whole operations, and turns SDK errors into `DestinationError`s with a hint. Each cloud only
 * provides a small `StoreBackend`.
 *
 * @example
 * const store = new RemoteStore(new S3Backend(resolveS3Config(), "lake"), parseBucketUrl("s3://lake/raw"));
 */
export class RemoteStore implements ObjectStore {
  readonly description: string;
  readonly #backend: StoreBackend;
  readonly #location: StoreLocation;
  readonly #context: FailureContext;
  readonly #retry: StoreRetryPolicy;

  constructor(backend: StoreBackend, location: StoreLocation, retry: StoreRetryPolicy = DEFAULT_STORE_RETRY) {
    this.#backend = backend;
    this.#location = location;
    this.#retry = retry;
    const url = `${location.scheme}://${location.bucket}${location.prefix ? `/${location.prefix}` : ""}`;
    this.description = url;
    this.#context = { ...backend.context, url };
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, (err) => isRetryable(this.#backend.classify(err)), this.#retry);
    } catch (err) {
      throw storeError(this.#context, what, this.#backend.classify(err), err);
    }
  }

  #name(key: string): string {
    checkKey(key);
    return fullKey(this.#location.prefix, key);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const name = this.#name(key);
    const { size } = await stat(localPath);
    await this.#run(`upload of "${key}"`, () => this.#backend.uploadFile(name, localPath, size));
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const name = this.#name(key);
    const buf =
      typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
    await this.#run(`put of "${key}"`, () => this.#backend.upload(name, buf));
  }

  /**
   * A conditional write. A write that failed on the network may still have landed, and its retry (the SDK's or
   * ours) then finds the object: when the stored bytes are exactly ours, this call created it after all. Callers
   * make bodies unique (a Delta commit carries a transaction id), so an equal object is never another writer's.
   */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const name = this.#name(key);
    const buf =
      typeof body === "string" ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
    const created = await this.#run(`conditional put of "${key}"`, () =>
      this.#backend.uploadIfAbsent(name, buf),
    );
    if (created) return true;
    const stored = await this.#run(`get of "${key}"`, () => this.#backend.download(name));
    return stored?.equals(buf) === true;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const name = this.#name(key);
    return this.#run(`get of "${key}"`, () => this.#backend.download(name));
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const name = this.#name(key);
    await mkdir(dirname(localPath), { recursive: true });
    // Downloaded next to the target and renamed into place: a failed download leaves no partial file.
    const tmp = `${localPath}.${uniqueId()}.tmp`;
    try {
      const found = await this.#run(`download of "${key}"`, async () => {
        await rm(tmp, { force: true });
        return this.#backend.downloadToFile(name, tmp);
      });
      if (found) await rename(tmp, localPath);
      return found;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const root = this.#location.prefix;
    // With a root prefix, "" lists "root/" (not "rootother/...").
    const full = root === "" ? prefix : `${root}/${prefix}`;
    const found = await this.#run(prefix ? `list of "${prefix}"` : "list", () => this.#backend.list(full));
    return found
      .filter((o) => !o.key.endsWith("/")) // "folder" markers some consoles create are not objects
      .map((o) => ({
        key: relativeKey(root, o.key),
        size: o.size,
        ...(o.modifiedAt !== undefined ? { modifiedAt: o.modifiedAt } : {}),
      }))
      .sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const names = keys.map((k) => this.#name(k));
    await this.#run(`delete of ${keys.length} object(s)`, () => this.#backend.delete(names));
  }

  close(): Promise<void> {
    return this.#backend.close();
  }
}
