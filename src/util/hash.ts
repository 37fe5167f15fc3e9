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

/** The low 53 bits of a cyrb53 state pair (h1, h2), finalized. */
function finish53(h1: number, h2: number): number {
  const f1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const f2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(f1 ^ (f1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & f2) + (f1 >>> 0);
}

/** Two base-62 digits (least significant first) for every number below 62 * 62. */
const PAIRS: string[] = Array.from(
  { length: 62 * 62 },
  (_, r) => `${ID_ALPHABET[r % 62]}${ID_ALPHABET[Math.floor(r / 62)]}`,
);

/** Nine base-62 digits of `n`, least significant first (a pair per step). */
function base62x9(n: number): string {
  let out = "";
  for (let i = 0; i < 4; i++) {
    const q = Math.floor(n / 3844);
    out += PAIRS[n - q * 3844];
    n = q;
  }
  return out + ID_ALPHABET[n % 62];
}

/**
 * A deterministic 18-character row id derived from its parts (child rows, upsert keys): two independent 53-bit
 * cyrb53 hashes (seeds 1 and 2) of the parts joined by NUL, about 106 bits, so collisions stay negligible at
 * billions of rows. Computed for every child row: both hashes run in one pass, without joining the parts.
 *
 * @example
 * derivedId(parentId, "orders__items", "0") // 18 characters of [0-9A-Za-z], the same on every run
 */
export function derivedId(...parts: string[]): string {
  let a1 = 0xdeadbeef ^ 1;
  let a2 = 0x41c6ce57 ^ 1;
  let b1 = 0xdeadbeef ^ 2;
  let b2 = 0x41c6ce57 ^ 2;
  for (let p = 0; p < parts.length; p++) {
    const s = parts[p] as string;
    // The NUL separator between parts hashes like any character (ch = 0).
    if (p > 0) {
      a1 = Math.imul(a1, 2654435761);
      a2 = Math.imul(a2, 1597334677);
      b1 = Math.imul(b1, 2654435761);
      b2 = Math.imul(b2, 1597334677);
    }
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      a1 = Math.imul(a1 ^ ch, 2654435761);
      a2 = Math.imul(a2 ^ ch, 1597334677);
      b1 = Math.imul(b1 ^ ch, 2654435761);
      b2 = Math.imul(b2 ^ ch, 1597334677);
    }
  }
  return base62x9(finish53(a1, a2)) + base62x9(finish53(b1, b2));
}
