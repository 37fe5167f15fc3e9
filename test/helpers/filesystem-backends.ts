import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FilesystemOptions } from "../../src/destinations/filesystem/index.js";
import { LocalStore } from "../../src/storage/local/local-store.js";
import type { ObjectInfo, ObjectStore } from "../../src/storage/object-store.js";
import { uniqueId } from "../../src/util/hash.js";
import { type ServiceName, service } from "./services.js";

/**
 * One place the filesystem destination writes to. Every filesystem test body runs once per backend: local disk
 * always; object stores (S3, Azure, GCS emulators) when their servers run.
 */
export interface Backend {
  name: string;
  /** Why the backend's tests are skipped (node:test `skip`), or false. */
  skip: string | false;
  /** A fresh, empty root: its destination URL and a store to inspect what was written. */
  root(): Promise<BackendRoot>;
}

export interface BackendRoot {
  /** Destination URL of the root (append `?format=...` etc.). */
  url: string;
  /** Extra destination options (endpoint, credentials). */
  options: Partial<FilesystemOptions>;
  /** A destination URL that, with `env`, reaches the same root from a child process without options. */
  childUrl: string;
  /** Environment variables that give a child process the same endpoint and credentials. */
  env: Record<string, string>;
  /** The same root, opened directly. */
  store: ObjectStore;
  /** Removes everything of the root. */
  cleanup(): Promise<void>;
}

const local: Backend = {
  name: "local",
  skip: false,
  async root() {
    const dir = mkdtempSync(join(tmpdir(), "ferry-lake-"));
    return {
      url: pathToFileURL(dir).href,
      childUrl: pathToFileURL(dir).href,
      options: {},
      env: {},
      store: new LocalStore(dir),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** What a child process needs to reach a root by URL alone, from a store's environment. */
function childSettings(name: ServiceName, url: string, env: Record<string, string>) {
  // The GCS SDK itself takes STORAGE_EMULATOR_HOST from the process environment as its base URL, as is (it would need
  // `/storage/v1` appended): the child gets the emulator in its URL instead.
  if (name === "gcs" && env.STORAGE_EMULATOR_HOST) {
    const { STORAGE_EMULATOR_HOST: endpoint, ...rest } = env;
    return { childUrl: `${url}?endpoint=${encodeURIComponent(endpoint)}`, env: rest };
  }
  return { childUrl: url, env };
}

/** An object store emulator of `scripts/services.sh` (see `service()`); each root is a fresh prefix of its bucket. */
async function bucketBackend(name: "s3" | "azure" | "gcs"): Promise<Backend> {
  const svc = await service(name);
  return {
    name,
    skip: svc.skip,
    async root() {
      const { openObjectStore } = await import("../../src/storage/open.js");
      const url = `${svc.url}/fs-${uniqueId(10)}`;
      // dataset() keeps copies of remote files: in a folder of this root, removed with it.
      const cacheDir = mkdtempSync(join(tmpdir(), "ferry-fs-cache-"));
      const store = await openObjectStore(url, { env: svc.env });
      return {
        url,
        options: { env: svc.env, cacheDir },
        ...childSettings(name, url, svc.env),
        store,
        cleanup: async () => {
          rmSync(cacheDir, { recursive: true, force: true });
          await store.delete((await store.list("")).map((o) => o.key));
          await store.close();
        },
      };
    },
  };
}

/**
 * The backends to run: `local`, and the S3 (MinIO), Azure (Azurite) and GCS (fake-gcs-server) emulators of
 * `scripts/services.sh` (skipped when not running; under CI=true a missing one is an error).
 *
 * @example
 * for (const b of await backends()) describe(`filesystem on ${b.name}`, { skip: b.skip }, () => { ... });
 */
export async function backends(): Promise<Backend[]> {
  const only = process.env.FERRY_TEST_FS_BACKENDS?.split(",");
  const all = [local, ...(await Promise.all((["s3", "azure", "gcs"] as const).map(bucketBackend)))];
  return only ? all.filter((b) => only.includes(b.name)) : all;
}

/** Downloads every object under `prefix` into a new temp folder; returns it and the local paths by key. */
export async function downloadPrefix(
  store: ObjectStore,
  prefix: string,
): Promise<{ dir: string; paths: Map<string, string>; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), `ferry-dl-${uniqueId(6)}-`));
  const paths = new Map<string, string>();
  for (const o of await store.list(prefix)) {
    const path = join(dir, ...o.key.split("/"));
    mkdirSync(dirname(path), { recursive: true });
    if (!(await store.getFile(o.key, path))) throw new Error(`${o.key} vanished`);
    paths.set(o.key, path);
  }
  return { dir, paths, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A scratch in-memory DuckDB for reading files back; rows come as JSON-safe values (BIGINT as string, ...). */
export async function scratchDuckDb(): Promise<{
  rows: (sql: string) => Promise<Array<Record<string, unknown>>>;
  close: () => void;
}> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return {
    rows: async (sql) =>
      (await conn.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>,
    close: () => {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** A SQL string literal. */
export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * Passes every call to the real store, recording writes and deletes, and lets a test act before one happens (check
 * what readers see at that moment, or fail it).
 *
 * @example
 * const store = new RecordingStore(root.store);
 * store.before = async (op, key) => { if (key.includes("/_ferry_loads/")) throw new Error("boom"); };
 */
export class RecordingStore implements ObjectStore {
  readonly ops: string[] = [];
  readonly description: string;
  before: ((op: string, key: string) => Promise<void>) | undefined;
  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }
  async putFile(key: string, path: string) {
    this.ops.push(`putFile ${key}`);
    await this.before?.("putFile", key);
    await this.inner.putFile(key, path);
  }
  async put(key: string, body: Uint8Array | string) {
    this.ops.push(`put ${key}`);
    await this.before?.("put", key);
    await this.inner.put(key, body);
  }
  async putIfAbsent(key: string, body: Uint8Array | string) {
    this.ops.push(`putIfAbsent ${key}`);
    await this.before?.("putIfAbsent", key);
    return this.inner.putIfAbsent!(key, body);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  getFile(key: string, path: string) {
    return this.inner.getFile(key, path);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.list(prefix);
  }
  async delete(keys: string[]) {
    this.ops.push(`delete ${keys.join(" ")}`);
    await this.before?.("delete", keys.join(" "));
    await this.inner.delete(keys);
  }
  async close() {}
}

/**
 * Runs a test body with a fresh root of a backend and a work dir, and removes both after.
 *
 * @example
 * test("...", async () => withRoot(async (root, work) => { ... }, await backend.root()));
 */
export async function withRoot(
  body: (root: BackendRoot, work: string) => Promise<void>,
  root: BackendRoot,
): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "ferry-"));
  try {
    await body(root, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await root.cleanup();
  }
}

/** Keys under a prefix, sorted. */
export const keysUnder = async (store: ObjectStore, prefix: string): Promise<string[]> =>
  (await store.list(prefix)).map((o) => o.key);
