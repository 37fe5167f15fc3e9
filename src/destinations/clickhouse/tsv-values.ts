import { rawField } from "../../formats/jsonl-raw-field.js";
import type { Column, DataType } from "../../schema/types.js";
import { type TimeRange, timeRange } from "./clickhouse-types.js";
import type { ServerFeatures } from "./server-features.js";

/** A value the column's ClickHouse type cannot hold (raised per value, reported with its table, row and column). */
export class ValueRefused extends Error {}

const SPECIAL = /[\\\n\r\t\0]/;
const SPECIAL_ALL = /[\\\n\r\t\0]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0" };

/**
 * A string as a TabSeparated field: backslash, newline, carriage return, tab and NUL escaped, so only `\N` is NULL.
 *
 * @example
 * tsvField("a\tb\\c") // "a\\tb\\\\c"
 */
export function tsvField(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c] ?? c) : s;
}

const HEX = Array.from({ length: 256 }, (_, i) => `\\x${i.toString(16).padStart(2, "0")}`);

/**
 * Bytes as a TabSeparated field: printable ASCII as it is, every other byte (and the backslash) as `\xHH`, which
 * every ClickHouse version reads back into the same bytes.
 *
 * @example
 * tsvBytes(Buffer.from([0x61, 0xff])) // "a\\xff"
 */
export function tsvBytes(b: Uint8Array): string {
  let out = "";
  for (const byte of b)
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : HEX[byte];
  return out;
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * An ISO-8601 timestamp of a load file (any offset, up to nanoseconds; no offset means UTC) as ClickHouse's text
 * form in UTC: `YYYY-MM-DD hh:mm:ss.ffffff` (microseconds, as DateTime64(6) keeps), or whole seconds for DateTime.
 *
 * @example
 * clickhouseTimestamp("2024-01-01T10:00:00.5+02:00", true) // "2024-01-01 08:00:00.500000"
 * clickhouseTimestamp("2024-01-01T10:00:00.5Z", false) // "2024-01-01 10:00:00"
 */
export function clickhouseTimestamp(iso: string, micros: boolean): string {
  const m = TIMESTAMP.exec(iso);
  if (!m) throw new ValueRefused(`"${iso}" is not an ISO-8601 timestamp`);
  const [, y, mo, d, h, mi, s = "00", frac = "", zone = "Z"] = m as unknown as string[];
  const fraction = micros ? `.${`${frac}000000`.slice(0, 6)}` : "";
  if (zone === "Z" || zone === "z" || /^[+-]00:?(00)?$/.test(zone))
    return `${y}-${mo}-${d} ${h}:${mi}:${s}${fraction}`;
  // +HH, +HHMM or +HH:MM
  const offset =
    (zone.startsWith("-") ? -1 : 1) *
    (Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(-2)) : 0));
  const t = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  t.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  t.setUTCHours(Number(h), Number(mi) - offset, Number(s));
  const date = `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  return `${date} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}${fraction}`;
}

function checkRange(text: string, range: TimeRange, what: string): string {
  if (text < range.min || text > range.max) {
    throw new ValueRefused(
      `${what} ${text} is outside what ClickHouse's ${range.type} holds (${range.min} to ${range.max})`,
    );
  }
  return text;
}

/** Encodes one non-null load-file value of a column (the line and key give the exact text of big numbers). */
type Encoder = (v: unknown, line: string, key: string) => string;

/**
 * The encoders of each ferry type on a server: load-file values (see `formats/jsonl-values.ts`: text, timestamps,
 * dates, times and decimals as strings, bigints as digits, non-finite doubles as strings, json as JSON, binary as
 * base64) -> TabSeparated fields of the column's ClickHouse type.
 *
 * @example
 * tsvEncoders(serverFeatures("24.8")).double("NaN", "", "x") // "nan"
 */
export function tsvEncoders(f: ServerFeatures): Record<DataType, Encoder> {
  const tsRange = timeRange("timestamp", f);
  const dateRange = timeRange("date", f);
  const text: Encoder = (v) => tsvField(typeof v === "string" ? v : String(v));
  return {
    text,
    time: text,
    decimal: (v) => String(v),
    bigint: (v, line, key) =>
      typeof v === "number" && !Number.isSafeInteger(v) ? (rawField(line, key) ?? String(v)) : String(v),
    double: (v) => {
      if (typeof v === "number") return String(v);
      if (v === "NaN") return "nan";
      if (v === "Infinity") return "inf";
      if (v === "-Infinity") return "-inf";
      return String(v);
    },
    bool: (v) => {
      const yes = v === true || v === "true";
      return f.boolType ? (yes ? "true" : "false") : yes ? "1" : "0";
    },
    timestamp: (v) => checkRange(clickhouseTimestamp(String(v), f.dateTime64), tsRange, "timestamp"),
    date: (v) => checkRange(String(v), dateRange, "date"),
    // The exact JSON text of the line: numbers beyond 2^53 keep their digits.
    json: (v, line, key) => tsvField(rawField(line, key) ?? JSON.stringify(v)),
    binary: (v) => tsvBytes(Buffer.from(String(v), "base64")),
  };
}

/** Columns that are also properties of every object (`constructor`, `__proto__`) must be read as own fields. */
const INHERITED = (name: string) => name in Object.prototype;

/** Types whose load-file strings go into the TSV as they are, escaped (the fast path). */
const PLAIN = new Set<DataType>(["text", "time", "decimal"]);

/**
 * Turns lines of a JSONL load file into TabSeparated rows of a table's columns (`\N` for NULL and missing values).
 *
 * @example
 * const encode = tsvRowEncoder(columns, features);
 * body += encode(line); // "1\tAda\t\\N\n"
 */
export function tsvRowEncoder(columns: Column[], f: ServerFeatures): (line: string) => string {
  const names = columns.map((c) => c.name);
  const inherited = names.map(INHERITED);
  const encoders = tsvEncoders(f);
  const encode = columns.map((c) => encoders[c.type]);
  const plain = columns.map((c) => PLAIN.has(c.type));
  const required = columns.map((c) => c.nullable === false);
  const count = columns.length;
  return (line) => {
    const row = JSON.parse(line) as Record<string, unknown>;
    let out = "";
    for (let i = 0; i < count; i++) {
      const name = names[i] as string;
      const v = inherited[i] && !Object.hasOwn(row, name) ? undefined : row[name];
      if (i > 0) out += "\t";
      if (v === undefined || v === null) {
        if (required[i]) throw new ValueRefused(`column "${name}" is declared not nullable but has no value`);
        out += "\\N";
      } else if (typeof v === "string" && plain[i]) out += SPECIAL.test(v) ? tsvField(v) : v;
      else if (typeof v === "number" && Number.isSafeInteger(v)) out += String(v);
      else {
        try {
          out += (encode[i] as Encoder)(v, line, name);
        } catch (err) {
          if (err instanceof ValueRefused) throw new ValueRefused(`column "${name}": ${err.message}`);
          throw err;
        }
      }
    }
    return `${out}\n`;
  };
}
