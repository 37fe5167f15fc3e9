import { createHash } from "node:crypto";

/**
 * snake_case naming with sanitation, following dlt's conventions so identifiers look familiar:
 * `createdAt` -> `created_at`, `Order ID` -> `order_id`, `2fa` -> `_2fa`, `Größe` -> `grosse`.
 * Unicode letters that have no ASCII form (e.g. `名前`) are kept; identifiers are always quoted.
 */
const cache = new Map<string, string>();
const CACHE_LIMIT = 50_000;

export function normalizeIdentifier(raw: string): string {
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  const out = computeSnakeCase(raw);
  if (cache.size < CACHE_LIMIT) cache.set(raw, out);
  return out;
}

const SPECIAL: Record<string, string> = {
  ß: "ss",
  æ: "ae",
  ø: "o",
  œ: "oe",
  ð: "d",
  þ: "th",
  ł: "l",
  đ: "d",
};

function computeSnakeCase(raw: string): string {
  let s = raw
    .trim()
    .toWellFormed()
    .normalize("NFKD")
    // Accents on Latin letters go ("café" -> "cafe"); marks other scripts need stay ("ユーザー", "नाम", "й").
    .replace(/(\p{Script=Latin})\p{M}+/gu, "$1")
    .replace(/(?<![\p{L}\p{M}])\p{M}+/gu, "")
    .normalize("NFC");
  s = s.replace(/[ßẞæøœðþłđ]/gi, (c, at: number, all: string) => {
    const lower = SPECIAL[c.toLowerCase()] ?? c;
    if (c === c.toLowerCase()) return lower;
    // "Œuvre" -> "Oeuvre" (not "OEuvre", which would split into "o_euvre"); "ŒUVRE" -> "OEUVRE".
    const next = all[at + 1] ?? "";
    return next !== next.toUpperCase() ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower.toUpperCase();
  });
  // camelCase and PascalCase boundaries: "orderID" -> "order_ID", "HTTPServer" -> "HTTP_Server".
  s = s.replace(/([\p{Ll}\d])(\p{Lu})/gu, "$1_$2").replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1_$2");
  s = s.toLowerCase();
  // "+" and "@" carry meaning in keys like "+1" or "@type"; keep them distinguishable.
  s = s.replace(/\+/g, "_plus_").replace(/@/g, "_at_");
  s = s.replace(/[^\p{L}\p{M}\p{N}_]+/gu, "_");
  // A single key never produces "__", so it cannot be mistaken for a nested path.
  s = s.replace(/_+/g, "_").replace(/(?<=[^_])_$/, "");
  if (s === "" || /^_+$/.test(s)) return "_empty";
  if (/^\p{N}/u.test(s)) s = `_${s}`;
  return s;
}

/** Joins a parent path and a child name with the nesting separator `__`. */
export function joinPath(parent: string, child: string): string {
  return parent === "" ? child : `${parent}__${child}`;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * The name a table or column gets under a destination's identifier limit: itself when it fits, else shortened.
 *
 * @example
 * identifierWithin("orders", 63) // "orders"
 */
export function identifierWithin(name: string, maxLength: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short names need no byte count.
  return name.length * 3 <= maxLength ? name : shortenIdentifier(name, maxLength);
}

/**
 * Shortens an identifier to the destination's maximum length (in bytes), keeping it unique by
 * replacing the tail with a hash of the full name: `very_long_name...` -> `very_long_na_x7k2qd`.
 */
export function shortenIdentifier(name: string, maxLength: number): string {
  if (utf8Length(name) <= maxLength) return name;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const suffix = `_${digest}`;
  let head = name.slice(0, Math.max(1, maxLength - suffix.length));
  while (utf8Length(head) + suffix.length > maxLength && head.length > 1) head = head.slice(0, -1);
  // Never cut a surrogate pair in half (astral letters such as "𠀀" are valid identifier characters).
  if (head.length > 1 && /[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return head + suffix;
}

/** Name of the variant column that holds values of `type` that did not fit `column`. */
export function variantColumnName(column: string, type: string): string {
  return `${column}__v_${type}`;
}
