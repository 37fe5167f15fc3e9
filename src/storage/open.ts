import { fileURLToPath } from "node:url";
import { ConfigError } from "../util/errors.js";
import { redactSecrets } from "../util/log.js";
import { parseBucketUrl } from "./location.js";
import type { ObjectStore, ObjectStoreOptions } from "./object-store.js";

type StoreFactory = (url: string, options: ObjectStoreOptions) => Promise<ObjectStore>;

/** A bucket store's factory, imported only when its scheme is used (so local use loads no cloud SDK). */
function bucketStore(
  load: () => Promise<
    (location: ReturnType<typeof parseBucketUrl>, options: ObjectStoreOptions) => ObjectStore
  >,
): StoreFactory {
  return async (url, options) => {
    const location = parseBucketUrl(url);
    return (await load())(location, options);
  };
}

async function localStore(url: string): Promise<ObjectStore> {
  let root: string;
  try {
    root = fileURLToPath(url);
  } catch {
    throw new ConfigError(`invalid file URL "${url}"`, { hint: "use file:///absolute/path" });
  }
  const { LocalStore } = await import("./local/local-store.js");
  return new LocalStore(root.length > 1 ? root.replace(/\/+$/, "") : root);
}

/**
 * URL scheme -> store. Adding a store is one line here plus its folder; nothing else branches on the scheme.
 * `gcs://` and `azure://` are accepted as aliases of `gs://` and `az://`.
 */
export const STORE_SCHEMES: Readonly<Record<string, StoreFactory>> = {
  file: localStore,
  s3: bucketStore(async () => (await import("./s3/s3-store.js")).openS3Store),
  gs: bucketStore(async () => (await import("./gcs/gcs-store.js")).openGcsStore),
  gcs: bucketStore(async () => (await import("./gcs/gcs-store.js")).openGcsStore),
  az: bucketStore(async () => (await import("./azure/azure-store.js")).openAzureStore),
  azure: bucketStore(async () => (await import("./azure/azure-store.js")).openAzureStore),
};

/**
 * Opens an object store by URL: `file:///abs/path`, `s3://bucket/prefix` (S3, R2, MinIO: set `endpoint` or
 * `AWS_ENDPOINT_URL`), `gs://bucket/prefix`, `az://container/prefix`. Credentials come from `options.credentials`,
 * else from each cloud's standard environment variables; they are never logged. `options.endpoint` is the
 * store's service endpoint (an S3-compatible server, the GCS emulator, the Azure blob endpoint).
 *
 * @example
 * const store = await openObjectStore("s3://lake/raw", { endpoint: "http://127.0.0.1:9000" });
 * await store.putFile("events/1.parquet", "/tmp/1.parquet");
 */
export async function openObjectStore(url: string, options: ObjectStoreOptions = {}): Promise<ObjectStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : STORE_SCHEMES[scheme];
  if (!factory) {
    throw new ConfigError(`unsupported storage URL "${redactSecrets(url)}"`, {
      hint: "use file:///absolute/path, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix",
    });
  }
  return factory(url, options);
}
