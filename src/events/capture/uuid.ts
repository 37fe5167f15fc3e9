import { randomFillSync } from "node:crypto";

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// Random bytes come from a pool refilled in bulk: one syscall per 512 uuids instead of one each.
const BYTES_PER_UUID = 10;
const POOL = Buffer.alloc(BYTES_PER_UUID * 512);
let poolAt = POOL.length;

function takeRandomBytes(): number {
  if (poolAt + BYTES_PER_UUID > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += BYTES_PER_UUID;
  return at;
}

let lastMs = -1;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, a 12-bit counter (random start each millisecond,
 * incremented within it, so that uuids from one process sort in the order they were made), variant 10, 62 random bits.
 *
 * @example
 * uuidv7(Date.parse("2026-01-01T00:00:00Z")); // "019b76da-a800-7xxx-axxx-xxxxxxxxxxxx"
 */
export function uuidv7(nowMs: number = Date.now()): string {
  let ms = Math.max(0, Math.floor(nowMs));
  const at = takeRandomBytes();
  if (ms > lastMs) {
    lastMs = ms;
    // start in the lower half so that many uuids within one millisecond rarely overflow the counter
    counter = ((POOL[at]! << 8) | POOL[at + 1]!) & 0x7ff;
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      // more than ~2000 uuids in one millisecond: borrow the next millisecond, keeping the order
      lastMs = ++ms;
      counter = 0;
    }
  }
  const hi = Math.floor(ms / 0x10000); // upper 32 bits of the 48-bit time
  const lo = ms % 0x10000;
  return (
    HEX[(hi >>> 24) & 0xff]! +
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    "-" +
    HEX[lo >>> 8]! +
    HEX[lo & 0xff]! +
    "-" +
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    "-" +
    HEX[0x80 | (POOL[at + 2]! & 0x3f)]! +
    HEX[POOL[at + 3]!]! +
    "-" +
    HEX[POOL[at + 4]!]! +
    HEX[POOL[at + 5]!]! +
    HEX[POOL[at + 6]!]! +
    HEX[POOL[at + 7]!]! +
    HEX[POOL[at + 8]!]! +
    HEX[POOL[at + 9]!]!
  );
}

const HYPHENATED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SIMPLE = /^[0-9a-fA-F]{32}$/;

/**
 * The uuid in its canonical form (lowercase, hyphenated), or undefined when `value` is not a UUID. Accepts what
 * PostHog's capture accepts: hyphenated, 32 hex digits, `{...}` braced and `urn:uuid:` forms, any case.
 *
 * @example
 * normalizeUuid("018A981F4B357C66825E8B0EEAE65714"); // "018a981f-4b35-7c66-825e-8b0eeae65714"
 * normalizeUuid("not-a-uuid");                        // undefined
 */
export function normalizeUuid(value: string): string | undefined {
  let v = value;
  if (v.length === 36) {
    if (!HYPHENATED.test(v)) return undefined;
    return hasUpper(v) ? v.toLowerCase() : v;
  }
  if (v.length === 38 && v.startsWith("{") && v.endsWith("}")) v = v.slice(1, -1);
  else if (v.length === 45 && v.slice(0, 9).toLowerCase() === "urn:uuid:") v = v.slice(9);
  if (v.length === 36) return HYPHENATED.test(v) ? v.toLowerCase() : undefined;
  if (v.length === 32 && SIMPLE.test(v)) {
    const h = v.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return undefined;
}

function hasUpper(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 65 && c <= 70) return true;
  }
  return false;
}
