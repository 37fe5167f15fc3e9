/**
 * Encoding of extracted items as JSON lines without losing JS types that JSON lacks.
 * Such values become strings that start with a private-use marker character and a tag:
 * bigint `\uE000b123`, Date `\uE000t2024-01-01T00:00:00.000Z`, binary `\uE000x<base64>`,
 * non-finite numbers `\uE000nNaN`. A data string that itself starts with the marker is escaped as `\uE000s...`.
 */
export const MARKER = "\uE000";
const MARKER_CODE = 0xe000;

/** What the encoder met that is not data (functions, symbols), by key, so the caller can warn. */
export interface EncodeReport {
  skipped: Map<string, string>;
}

export class CircularReferenceError extends Error {
  override readonly name = "CircularReferenceError";
}

/**
 * True when `value` is plain JSON data that `JSON.stringify` alone encodes exactly: strings (not starting with the
 * marker), finite numbers, booleans, null, and plain arrays and objects of those, at most `depth` levels deep.
 * A walk in JS is far cheaper than a replacer function called from the native stringifier for every value.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return value.charCodeAt(0) !== MARKER_CODE;
    case "number":
      return Number.isFinite(value);
    case "boolean":
    case "undefined":
      return true;
    case "object": {
      if (value === null) return true;
      if (depth === 0) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth - 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const o = value as Record<string, unknown>;
      for (const k in o) if (!isPlainJson(o[k], depth - 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** Encodes one item as a single JSON line (no trailing newline). */
export function encodeItem(item: unknown, report: EncodeReport): string {
  // Plain data (most items) needs no replacer; deep or cyclic structures take the careful path, which reports cycles.
  if (isPlainJson(item, 64)) return JSON.stringify(item) ?? "null";
  // One converted object per Map/Set, so a Map that contains itself is seen as a circle (not endless recursion).
  let converted: Map<object, unknown> | undefined;
  const convert = (raw: Map<unknown, unknown> | Set<unknown>): unknown => {
    converted ??= new Map();
    let out = converted.get(raw);
    if (out === undefined) {
      out = raw instanceof Map ? Object.fromEntries(raw) : Array.from(raw);
      converted.set(raw, out);
    }
    return out;
  };
  try {
    return (
      JSON.stringify(item, function replacer(this: Record<string, unknown>, key: string, value: unknown) {
        const raw = key === "" ? value : this[key];
        switch (typeof raw) {
          case "string":
            return raw.charCodeAt(0) === MARKER_CODE ? `${MARKER}s${raw}` : raw;
          case "number":
            return Number.isFinite(raw) ? raw : `${MARKER}n${raw}`;
          case "bigint":
            return `${MARKER}b${raw}`;
          case "function":
          case "symbol":
            if (!report.skipped.has(key)) report.skipped.set(key, typeof raw);
            return undefined;
          case "object":
            if (raw === null) return null;
            if (raw instanceof Date)
              return Number.isNaN(raw.getTime()) ? "Invalid Date" : `${MARKER}t${raw.toISOString()}`;
            if (raw instanceof Uint8Array)
              return `${MARKER}x${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64")}`;
            if (raw instanceof Map || raw instanceof Set) return convert(raw);
            if (raw instanceof ArrayBuffer) return `${MARKER}x${Buffer.from(raw).toString("base64")}`;
            return value;
          default:
            return value;
        }
      }) ?? "null"
    );
  } catch (err) {
    if (err instanceof TypeError && /circular/i.test(err.message)) {
      throw new CircularReferenceError(err.message.replace(/\s*\n\s*/g, " "));
    }
    throw err;
  }
}

/** Decodes a marker string back into its JS value; any other string is returned as is. */
export function decodeString(s: string): unknown {
  if (s.charCodeAt(0) !== MARKER_CODE) return s;
  const body = s.slice(2);
  switch (s[1]) {
    case "s":
      return body;
    case "b":
      return BigInt(body);
    case "t":
      return body;
    case "x":
      return Buffer.from(body, "base64");
    case "n":
      return Number(body);
    default:
      return s;
  }
}

/** Parses one encoded line, decoding marker strings anywhere in the structure. */
export function decodeItem(line: string): unknown {
  // Most lines carry no marker at all: one native scan saves walking every value.
  return line.includes(MARKER) ? reviveValue(JSON.parse(line)) : JSON.parse(line);
}

/**
 * Fast path for items known to be plain JSON data (parsed from JSON: only strings, finite numbers, booleans,
 * null, arrays, objects). JSON.stringify needs no replacer then; only a string that starts with the marker
 * character needs escaping, and the line shows it.
 */
export function encodeJsonItem(item: unknown, report: EncodeReport): string {
  let line: string;
  try {
    line = JSON.stringify(item) ?? "null";
  } catch {
    // Not plain JSON after all (a bigint, a cycle): the careful path explains or handles it.
    return encodeItem(item, report);
  }
  return line.includes(MARKER) ? encodeItem(item, report) : line;
}

function reviveValue(v: unknown): unknown {
  if (typeof v === "string") return v.charCodeAt(0) === MARKER_CODE ? decodeString(v) : v;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reviveValue(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    const x = o[k];
    if (typeof x === "string") {
      if (x.charCodeAt(0) === MARKER_CODE) o[k] = decodeString(x);
    } else if (x !== null && typeof x === "object") o[k] = reviveValue(x);
  }
  return o;
}
