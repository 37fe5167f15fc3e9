/**
 * Conversions from the text form databases send to ferry's values. Nothing goes through a float or a JS Date:
 * decimals stay strings, timestamps keep their microseconds, dates are never shifted by the local time zone.
 */

/** How the text of one column becomes a value. */
export type ValueKind =
  | "text"
  | "int"
  | "int8"
  | "float"
  | "bool"
  | "json"
  | "binary"
  | "timestamp"
  | "timestamptz";

export { sqlTimestampToIso, toInt8 } from "../../util/sql-text.js";

/**
 * ferry's form of a cursor value back into the text a database compares with a column:
 * `2024-01-05T12:30:00.123Z` -> `2024-01-05 12:30:00.123` for timestamp columns; other values as strings.
 */
export function cursorText(value: unknown, kind: ValueKind): string {
  if (value instanceof Date) value = value.toISOString();
  const s = typeof value === "string" ? value : String(value);
  if ((kind === "timestamp" || kind === "timestamptz") && /^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const t = Date.parse(s);
    // An instant with a zone other than Z: normalize it to UTC first (sub-millisecond digits only exist in Z form).
    const utc = /(Z|[+-]00(:?00)?)$/.test(s) || Number.isNaN(t) ? s : new Date(t).toISOString();
    return utc.replace("T", " ").replace(/(Z|[+-]00(:?00)?)$/, "");
  }
  return s;
}
