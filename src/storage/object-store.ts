/** One stored object, as listed. */
export interface ObjectInfo {
  /** Key relative to the store's root (no leading slash). */
  key: string;
  size: number;
  /** When the object was last written, in milliseconds since the epoch (every built-in store reports it). */
  modifiedAt?: number;
}

/**
 * A place to keep files: a local folder, or a bucket/container and prefix in object storage. Keys are relative
 * to that root and use `/` as separator. Implementations live in their own folders (`storage/local`, ...), and
 * are opened by URL with `openObjectStore`.
 *
 * @example
 * const store = await openObjectStore("s3://lake/raw", { endpoint: "http://127.0.0.1:9000" });
 * await store.putFile("events/1700000000.1.parquet", "/tmp/x.parquet");
 * const keys = (await store.list("events/")).map((o) => o.key);
 */
export interface ObjectStore {
  /** Where the store points, safe to print: no credentials. */
  readonly description: string;
  /** Uploads a local file under `key`, streaming (multipart for large files), replacing any existing object. */
  putFile(key: string, localPath: string): Promise<void>;
  /** Writes a small object whole. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /**
   * Writes a small object only when nothing exists under `key`: of writers racing for one key exactly one
   * succeeds, and nobody ever sees a partial object. True when this call created it (or the object holds exactly
   * these bytes already: a retried write that had landed), false when another object exists. Delta log commits depend on it; optional so that custom stores keep working without it.
   * Local disk: an exclusive hard link; S3/R2: `If-None-Match: *`; GCS: `ifGenerationMatch=0`; Azure:
   * `If-None-Match: *`.
   *
   * @example
   * if (!(await store.putIfAbsent("t/_delta_log/00000000000000000001.json", commit))) rebaseAndRetry();
   */
  putIfAbsent?(key: string, body: Uint8Array | string): Promise<boolean>;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Downloads an object to a local file, streaming; false when it does not exist. */
  getFile(key: string, localPath: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes objects; keys that do not exist are ignored. */
  delete(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Options every store accepts; each implementation reads its cloud's standard environment variables too. */
export interface ObjectStoreOptions {
  /** S3-compatible endpoint (R2, MinIO, emulators); default from `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  region?: string;
  /** Explicit credentials by name (`access_key_id`, `secret_access_key`, `account_name`, `account_key`, ...). */
  credentials?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}
