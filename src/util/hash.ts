import { createHash, randomBytes } from "node:crypto";

/** A short, stable hash of a string (base32-ish, lowercase, identifier-safe). */
export function shortHash(input: string, length = 6): string {
  const digest = createHash("sha256").update(input).digest();
  let out = "";
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  for (let i = 0; out.length < length && i < digest.length; i++) {
    out += alphabet[(digest[i] ?? 0) % 32];
  }
  return out;
}

/** Full sha256 in base64url, for content versioning. */
export function contentHash(input: string): string {
  return createHash("sha256").update(input).digest("base64url");
}

const ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random 14-character row id (about 83 bits). Buffered so the per-row cost stays small. */
let pool = Buffer.alloc(0);
let poolOffset = 0;
export function uniqueId(length = 14): string {
  if (poolOffset + length > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  let out = "";
  for (let i = 0; i < length; i++) out += ID_ALPHABET[(pool[poolOffset + i] ?? 0) % 62];
  poolOffset += length;
  return out;
}

/** A deterministic row id derived from its parts (used for child rows and upsert keys). */
export function derivedId(...parts: string[]): string {
  const digest = createHash("sha1").update(parts.join("\u0000")).digest();
  let out = "";
  for (let i = 0; i < 14; i++) out += ID_ALPHABET[(digest[i] ?? 0) % 62];
  return out;
}

/** Load ids sort by creation time: `<epoch ms>.<random>`. */
export function newLoadId(now = Date.now()): string {
  return `${now}.${uniqueId(6)}`;
}
