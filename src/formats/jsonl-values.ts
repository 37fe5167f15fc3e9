import type { DataType } from "../schema/types.js";

/**
 * Values of JSONL load files: each value already in its column's type, so a destination reads the file with an
 * explicit column list (DuckDB's read_json, Postgres COPY ...). Binary is base64; non-finite doubles and decimals
 * are strings; json columns hold the JSON text of the value.
 */
export type ValueEncoder = (v: unknown) => string;

/**
 * JSON-safe text for json columns: bigints as numbers (as strings beyond 2^53), binary as base64, lone surrogates
 * replaced.
 *
 * @example
 * toJsonText({ n: 1n, raw: new Uint8Array([1]) }) // '{"n":1,"raw":"AQ=="}'
 */
export function toJsonText(value: unknown): string {
  const text =
    JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
      const raw = this[key];
      if (typeof raw === "bigint") return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString("base64");
      if (typeof raw === "string" && !raw.isWellFormed()) return raw.toWellFormed();
      return v;
    }) ?? "null";
  // Keys cannot be replaced by the replacer: JSON.stringify writes their lone surrogates as \udXXX escapes, which
  // readers refuse. Paired surrogates are never escaped, so any such escape is a lone one.
  return text.includes("\\ud") ? text.replace(LONE_SURROGATE_ESCAPE, "$1\ufffd") : text;
}

/** A `\udXXX` surrogate escape not itself escaped (preceded by an even number of backslashes). */
const LONE_SURROGATE_ESCAPE = /((?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/gi;

// Control characters are exactly what JSON must escape: the lint rule against them does not apply here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes U+0000-U+001F
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** JSON text of a string; most strings need no escaping, and testing for that is faster than escaping. */
function jsonString(v: unknown): string {
  if (typeof v !== "string") return JSON.stringify(v);
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
}

/**
 * The encoder of each column type: a value already coerced to the type -> its JSON text in a load file.
 *
 * @example
 * JSONL_ENCODERS.double(Number.NaN) // '"NaN"'
 * JSONL_ENCODERS.binary(Buffer.from("hi")) // '"aGk="'
 */
export const JSONL_ENCODERS: Readonly<Record<DataType, ValueEncoder>> = {
  text: jsonString,
  bigint: (v) => (typeof v === "bigint" ? v.toString() : String(v)),
  double: (v) => (Number.isFinite(v as number) ? String(v) : JSON.stringify(String(v))),
  bool: (v) => (v ? "true" : "false"),
  timestamp: jsonString,
  date: jsonString,
  time: jsonString,
  decimal: (v) => JSON.stringify(String(v)),
  json: (v) => toJsonText(v),
  binary: (v) => JSON.stringify(Buffer.from(v as Uint8Array).toString("base64")),
};
