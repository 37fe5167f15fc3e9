import type { Column, DataType } from "./types.js";

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** 2^63 as a double: integral numbers at or beyond it do not fit a bigint column. */
const INT64_LIMIT_NUMBER = 2 ** 63;

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?$/;

/** True for ISO-8601 date-time strings that denote a real instant (`2024-02-30T00:00:00Z` is not one). */
export function isIsoTimestamp(s: string): boolean {
  if (s.length < 16 || s.length > 40 || s.charCodeAt(4) !== 45 /* - */) return false;
  if (!TIMESTAMP_RE.test(s)) return false;
  return isRealDate(s.slice(0, 10)) && !Number.isNaN(Date.parse(s.length === 16 ? `${s}:00` : s));
}

export function isIsoDate(s: string): boolean {
  return s.length === 10 && DATE_RE.test(s) && isRealDate(s);
}

function isRealDate(ymd: string): boolean {
  const y = Number(ymd.slice(0, 4));
  const m = Number(ymd.slice(5, 7));
  const d = Number(ymd.slice(8, 10));
  if (m < 1 || m > 12 || d < 1) return false;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999 (and 1900 is no leap year, 0000 is).
  const last = new Date(0);
  last.setUTCFullYear(y, m, 0);
  const days = last.getUTCDate();
  return d <= days;
}

/** Infers the data type of one (already decoded) value; `undefined` for null and undefined. */
export function inferType(value: unknown): DataType | undefined {
  switch (typeof value) {
    case "string":
      if (value.length >= 10 && value.length <= 40 && value.charCodeAt(4) === 45) {
        if (isIsoTimestamp(value)) return "timestamp";
        if (isIsoDate(value)) return "date";
      }
      return "text";
    case "number":
      return Number.isInteger(value) && Math.abs(value) < INT64_LIMIT_NUMBER ? "bigint" : "double";
    case "boolean":
      return "bool";
    case "bigint":
      return value >= INT64_MIN && value <= INT64_MAX ? "bigint" : "decimal";
    case "object":
      if (value === null) return undefined;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? "text" : "timestamp";
      if (value instanceof Uint8Array) return "binary";
      return "json";
    default:
      return undefined;
  }
}

/** Returned by `coerce` when a value cannot be represented in the column's type without loss. */
export const CANNOT_COERCE: unique symbol = Symbol("cannot-coerce");

const INTEGER_TEXT_RE = /^-?\d{1,19}$/;
const DECIMAL_TEXT_RE = /^-?\d+(\.\d+)?$/;

/**
 * Coerces `value` (of inferred type `from`) into `column`'s type, losslessly, or returns `CANNOT_COERCE`
 * so the caller can put it into a variant column.
 */
export function coerce(value: unknown, from: DataType, column: Column): unknown {
  const to = column.type;
  if (from === to) {
    if (to === "decimal") return fitsDecimal(String(value), column) ? value : CANNOT_COERCE;
    return value;
  }
  switch (to) {
    case "text":
      if (from === "json" || from === "binary") return CANNOT_COERCE;
      if (value instanceof Date) return value.toISOString();
      return String(value);
    case "bigint":
      if (from === "double") return CANNOT_COERCE;
      if (from === "text" && INTEGER_TEXT_RE.test(value as string)) {
        const big = BigInt(value as string);
        return big >= INT64_MIN && big <= INT64_MAX ? big : CANNOT_COERCE;
      }
      return CANNOT_COERCE;
    case "double":
      // Only when exact: 9007199254740993n has no double, it goes to a variant column instead.
      if (from === "bigint")
        return typeof value !== "bigint" || BigInt(Number(value)) === value ? Number(value) : CANNOT_COERCE;
      if (from === "decimal") return CANNOT_COERCE;
      return CANNOT_COERCE;
    case "decimal":
      if (
        from === "bigint" ||
        from === "double" ||
        (from === "text" && DECIMAL_TEXT_RE.test(value as string))
      ) {
        const text = typeof value === "number" ? numberToPlain(value) : String(value);
        return text !== undefined && fitsDecimal(text, column) ? text : CANNOT_COERCE;
      }
      return CANNOT_COERCE;
    case "timestamp":
      if (from === "date") return `${value as string}T00:00:00Z`;
      return CANNOT_COERCE;
    case "time":
      if (from === "text" && TIME_RE.test(value as string)) return value;
      return CANNOT_COERCE;
    case "date":
      return CANNOT_COERCE;
    case "json":
      return value;
    default:
      return CANNOT_COERCE;
  }
}

/**
 * True when no value of type `from` can be coerced into a column of type `to` (see `coerce`), so every such value
 * goes to the variant column. Pairs where it depends on the value (integer text into bigint, a bigint that a double
 * holds exactly, decimals, times) are not.
 *
 * @example
 * alwaysVariant("double", "bigint") // true: 1.5 never fits a bigint column
 * alwaysVariant("text", "bigint") // false: "42" does
 */
export function alwaysVariant(from: DataType, to: DataType): boolean {
  if (from === to || to === "json") return false;
  if (to === "text") return from === "json" || from === "binary";
  if (to === "timestamp" && from === "date") return false;
  if (from === "text" && (to === "bigint" || to === "decimal" || to === "time")) return false;
  if (to === "double" && from === "bigint") return false;
  return to !== "decimal" && from !== "decimal";
}

function numberToPlain(n: number): string | undefined {
  if (!Number.isFinite(n)) return undefined;
  const s = String(n);
  return s.includes("e") ? undefined : s;
}

/** Default precision and scale of a `decimal` column without hints (dlt uses the same). */
export const DEFAULT_DECIMAL = { precision: 38, scale: 9 } as const;

function fitsDecimal(text: string, column: Column): boolean {
  const precision = column.precision ?? DEFAULT_DECIMAL.precision;
  const scale = column.scale ?? DEFAULT_DECIMAL.scale;
  const unsigned = text.startsWith("-") ? text.slice(1) : text;
  const [intPart = "", fracPart = ""] = unsigned.split(".");
  // Leading zeros are no digits: "0.5" fits decimal(1, 1).
  const intDigits = intPart.replace(/^0+/, "").length;
  return intDigits <= precision - scale && fracPart.replace(/0+$/, "").length <= scale;
}
