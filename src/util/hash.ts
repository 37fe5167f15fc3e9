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

/** 53-bit string hash (cyrb53): fast, well mixed; not for security. */
function hash53(s: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function base62(n: number, width: number): string {
  let out = "";
  for (let i = 0; i < width; i++) {
    out += ID_ALPHABET[n % 62];
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * A deterministic 18-character row id derived from its parts (child rows, upsert keys): two independent 53-bit
 * hashes, about 106 bits, so collisions stay negligible at billions of rows. Computed per row, so no crypto.
 */
export function derivedId(...parts: string[]): string {
  const s = parts.join("\u0000");
  return base62(hash53(s, 1), 9) + base62(hash53(s, 2), 9);
}

/** Load ids sort by creation time: `<epoch ms>.<random>`. */
export function newLoadId(now = Date.now()): string {
  return `${now}.${uniqueId(6)}`;
}
