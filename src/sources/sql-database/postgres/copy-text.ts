import { sqlTimestampToIso, toInt8, type ValueKind } from "../values.js";

/**
 * Parsing of Postgres `COPY ... TO STDOUT` text format: one row per line, fields separated by tabs, `\N` for NULL,
 * and backslash escapes for backslash, tab, newline and other control characters. A raw newline or tab never
 * occurs inside a value, so lines and fields split on them directly.
 */

/** Splits a byte stream into complete lines, keeping a partial last line (and partial UTF-8) for the next chunk. */
export class LineSplitter {
  #pending: Buffer[] = [];

  /** The complete lines in this chunk (plus what was pending), decoded as UTF-8. */
  push(chunk: Buffer): string[] {
    const last = chunk.lastIndexOf(10);
    if (last < 0) {
      this.#pending.push(chunk);
      return [];
    }
    let head = chunk.subarray(0, last);
    if (this.#pending.length > 0) {
      head = Buffer.concat([...this.#pending, head]);
      this.#pending = [];
    }
    // A copy: a subarray would keep the whole chunk alive.
    if (last + 1 < chunk.length) this.#pending.push(Buffer.from(chunk.subarray(last + 1)));
    return head.toString("utf8").split("\n");
  }

  /** True when bytes after the last newline are left (a truncated stream). */
  get hasRemainder(): boolean {
    return this.#pending.length > 0;
  }
}

const ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** Undoes COPY text escapes: `\\` `\t` `\n` ..., `\123` (octal) and `\x41` (hex) bytes. */
export function unescapeCopy(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    const c = e.charCodeAt(0);
    if (e.length > 1 && c === 120) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (c >= 48 && c <= 55) return String.fromCharCode(Number.parseInt(e, 8));
    return ESCAPES[e] ?? e;
  });
}

type Convert = (s: string) => unknown;

const CONVERTERS: Record<ValueKind, Convert> = {
  text: (s) => s,
  int: (s) => Number(s),
  int8: toInt8,
  float: (s) => Number(s),
  bool: (s) => s === "t",
  json: (s) => JSON.parse(s),
  // bytea in hex output: "\x0a1b..." (the backslash itself arrives escaped and is unescaped first).
  binary: (s) =>
    s.startsWith("\\x") ? Buffer.from(s.slice(2), "hex") : Buffer.from(unescapeBytea(s), "latin1"),
  timestamp: (s) => sqlTimestampToIso(s, false),
  timestamptz: (s) => sqlTimestampToIso(s, true),
};

/** bytea_output = escape form (only when a server forces it): `\ooo` octal escapes and `\\`. */
function unescapeBytea(s: string): string {
  return s.replace(/\\([0-7]{3}|\\)/g, (_m, e: string) =>
    e === "\\" ? "\\" : String.fromCharCode(Number.parseInt(e, 8)),
  );
}

/**
 * Turns COPY text lines into records with the given keys, converting each field by its column's kind.
 *
 * @example
 * const rows = new CopyRowParser(["id", "name"], ["int", "text"]);
 * rows.parse("1\tAda") // { id: 1, name: "Ada" }
 */
export class CopyRowParser {
  readonly #keys: string[];
  readonly #convert: Convert[];

  constructor(keys: string[], kinds: ValueKind[]) {
    this.#keys = keys;
    this.#convert = kinds.map((k) => CONVERTERS[k]);
  }

  parse(line: string): Record<string, unknown> {
    const fields = line.split("\t");
    const keys = this.#keys;
    if (fields.length !== keys.length) {
      throw new Error(`COPY returned a row of ${fields.length} fields, expected ${keys.length}`);
    }
    const row: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const raw = fields[i] as string;
      if (raw === "\\N") {
        row[keys[i] as string] = null;
        continue;
      }
      const text = raw.includes("\\") ? unescapeCopy(raw) : raw;
      row[keys[i] as string] = (this.#convert[i] as Convert)(text);
    }
    return row;
  }
}
