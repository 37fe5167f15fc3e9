import { ConfigError } from "../util/errors.js";

/** Where a store points: `s3://bucket/prefix` split into its parts. */
export interface StoreLocation {
  /** URL scheme without the colon: `s3`, `gs`, `az`, `file`. */
  scheme: string;
  /** Bucket or container name. */
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ("" for the bucket's root). */
  prefix: string;
}

/**
 * Splits a bucket URL into scheme, bucket and prefix.
 *
 * @example
 * parseBucketUrl("s3://lake/raw/events/") // { scheme: "s3", bucket: "lake", prefix: "raw/events" }
 */
export function parseBucketUrl(url: string): StoreLocation {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(url);
  if (!m?.[2]) {
    throw new ConfigError(`invalid storage URL "${url}": expected <scheme>://<bucket>/<prefix>`, {
      hint: "examples: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, file:///absolute/path",
    });
  }
  if (m[2].includes("@")) {
    throw new ConfigError(
      `storage URL "${m[1]}://${m[2].replace(/^.*@/, "***@")}..." must not contain credentials`,
      {
        hint: "pass credentials as options or through the cloud's environment variables",
      },
    );
  }
  const prefix = (m[3] ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix.split("/").some((p) => p === "." || p === "..")) {
    throw new ConfigError(`invalid storage URL "${url}": the prefix must not contain "." or ".." segments`);
  }
  return { scheme: m[1]!.toLowerCase(), bucket: m[2], prefix };
}

/**
 * Checks an object key the way every store does (keys may come from table names): relative, `/`-separated, no
 * empty, `.` or `..` segments.
 *
 * @example
 * checkKey("events/1.parquet"); // ok
 * checkKey("../x"); // throws ConfigError
 */
export function checkKey(key: string): void {
  if (key === "" || key.startsWith("/") || key.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new ConfigError(`invalid object key "${key}"`, {
      hint: "keys are relative paths with '/' separators and no empty, '.' or '..' parts",
    });
  }
}

/**
 * Checks a listing prefix: like a key, but may be empty and may end with `/`.
 *
 * @example
 * checkPrefix("events/"); // ok
 */
export function checkPrefix(prefix: string): void {
  if (prefix === "") return;
  checkKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
}

/**
 * The full object name of a key under a store's prefix.
 *
 * @example
 * fullKey("raw", "events/1.parquet") // "raw/events/1.parquet"
 */
export function fullKey(prefix: string, key: string): string {
  return prefix === "" ? key : `${prefix}/${key}`;
}

/**
 * The key relative to a store's prefix (the inverse of `fullKey`).
 *
 * @example
 * relativeKey("raw", "raw/events/1.parquet") // "events/1.parquet"
 */
export function relativeKey(prefix: string, name: string): string {
  return prefix === "" ? name : name.slice(prefix.length + 1);
}

/**
 * The order `list` returns keys in, the same for every store (JavaScript string order).
 *
 * @example
 * keys.sort(compareKeys);
 */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
