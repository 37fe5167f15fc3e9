import type { QueryRow } from "../destination.js";

const TAB = 0x09;
const NL = 0x0a;
const BACKSLASH = 0x5c;
/** What follows a backslash in ClickHouse's TabSeparated output, and the byte it stands for. */
const UNESCAPE: Record<number, number> = {
  98: 0x08, // \b
  102: 0x0c, // \f
  110: 0x0a, // \n
  114: 0x0d, // \r
  116: 0x09, // \t
  48: 0x00, // \0
  97: 0x07, // \a
  118: 0x0b, // \v
  101: 0x1b, // \e
};

/** A field's bytes with TabSeparated escapes undone. */
function unescapeField(buf: Buffer, start: number, end: number): Buffer {
  if (buf.indexOf(BACKSLASH, start) === -1 || buf.indexOf(BACKSLASH, start) >= end)
    return buf.subarray(start, end);
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b !== BACKSLASH || i + 1 >= end) {
      out[n++] = b;
      continue;
    }
    const next = buf[++i] as number;
    if (next === 0x78 /* x */ && i + 2 < end) {
      out[n++] = Number.parseInt(buf.toString("latin1", i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = UNESCAPE[next] ?? next;
  }
  return out.subarray(0, n);
}

/** The fields of TabSeparated rows, as raw bytes; `null` for `\N`. */
function* rows(buf: Buffer): Generator<Array<Buffer | null>> {
  let pos = 0;
  while (pos < buf.length) {
    let end = buf.indexOf(NL, pos);
    if (end === -1) end = buf.length;
    const fields: Array<Buffer | null> = [];
    let start = pos;
    for (;;) {
      let tab = buf.indexOf(TAB, start);
      if (tab === -1 || tab > end) tab = end;
      fields.push(
        tab - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === 0x4e
          ? null
          : unescapeField(buf, start, tab),
      );
      if (tab === end) break;
      start = tab + 1;
    }
    yield fields;
    pos = end + 1;
  }
}

/** How a value of a ClickHouse type becomes a JS value (its text, or bytes for strings). */
type Decode = (raw: Buffer) => unknown;

const text: Decode = (raw) => raw.toString("utf8");
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Strings are bytes in ClickHouse: valid UTF-8 as a string, anything else as the bytes (nothing lost). */
const stringOrBytes: Decode = (raw) => {
  try {
    return utf8.decode(raw);
  } catch {
    return Buffer.from(raw);
  }
};

/**
 * Parses a bigint: a JS number when it is exact, a bigint beyond 2^53.
 *
 * @example
 * parseInteger("42") // 42
 * parseInteger("9007199254740993") // 9007199254740993n
 */
export function parseInteger(t: string): number | bigint {
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** A decimal as a number when its digits fit a double exactly (15 significant digits), the exact text otherwise. */
function parseDecimal(t: string): number | string {
  return t.replace(/^-?0*|\.|0+$/g, "").length <= 15 ? Number(t) : t;
}

function parseFloat64(t: string): number {
  if (t === "nan" || t === "-nan") return Number.NaN;
  if (t === "inf" || t === "+inf") return Number.POSITIVE_INFINITY;
  if (t === "-inf") return Number.NEGATIVE_INFINITY;
  return Number(t);
}

/** `2024-02-29 23:59:59.123456` (the column's time zone, UTC for ferry's columns) -> Date. */
function parseDateTime(t: string): Date | string {
  const d = new Date(`${t.replace(" ", "T")}${t.length === 10 ? "T00:00:00" : ""}Z`);
  return Number.isNaN(d.getTime()) ? t : d;
}

/**
 * The decoder of a ClickHouse type name as `TabSeparatedWithNamesAndTypes` reports it: integers as numbers (bigint
 * beyond 2^53), decimals as numbers when exact (else their text), floats with NaN and infinities, Bool as boolean,
 * dates and times as Date (UTC), strings as text (bytes when not UTF-8), anything else as its text.
 *
 * @example
 * decoderOf("Nullable(Int64)")(Buffer.from("9007199254740993")) // 9007199254740993n
 */
export function decoderOf(type: string): Decode {
  const t = type
    .replace(/^(Nullable|LowCardinality)\((.*)\)$/, "$2")
    .replace(/^(Nullable|LowCardinality)\((.*)\)$/, "$2");
  if (/^U?Int(8|16|32)$/.test(t)) return (raw) => Number(raw.toString("latin1"));
  if (/^U?Int(64|128|256)$/.test(t)) return (raw) => parseInteger(raw.toString("latin1"));
  if (/^Float(32|64)$/.test(t)) return (raw) => parseFloat64(raw.toString("latin1"));
  if (/^Decimal/.test(t)) return (raw) => parseDecimal(raw.toString("latin1"));
  if (t === "Bool") return (raw) => raw.toString("latin1") === "true";
  if (/^(Date|Date32|DateTime|DateTime64)(\(|$)/.test(t))
    return (raw) => parseDateTime(raw.toString("latin1"));
  if (t === "String" || t.startsWith("FixedString")) return stringOrBytes;
  return text;
}

/** How columns named in a result are read instead of by their ClickHouse type (binary, and old servers' bools). */
export type ColumnOverrides = Record<string, "binary" | "bool">;

/**
 * Rows of a `TabSeparatedWithNamesAndTypes` result, each value decoded by its column's type (see `decoderOf`).
 *
 * @example
 * parseTsvResult(Buffer.from("n\nUInt64\n3\n")) // [{ n: 3 }]
 */
export function parseTsvResult(buf: Buffer, overrides: ColumnOverrides = {}): QueryRow[] {
  const it = rows(buf);
  const header = (): string[] => {
    const r = it.next();
    return r.done ? [] : r.value.map((f) => (f ? f.toString("utf8") : ""));
  };
  const names = header();
  const types = header();
  const decoders = names.map((n, i): Decode => {
    const o = overrides[n];
    if (o === "binary") return (raw) => Buffer.from(raw);
    if (o === "bool") return (raw) => raw.toString("latin1") !== "0";
    return decoderOf(types[i] ?? "String");
  });
  const out: QueryRow[] = [];
  for (const fields of it) {
    const row: QueryRow = {};
    for (let i = 0; i < names.length; i++) {
      const raw = fields[i];
      row[names[i] as string] = raw === null || raw === undefined ? null : (decoders[i] as Decode)(raw);
    }
    out.push(row);
  }
  return out;
}
