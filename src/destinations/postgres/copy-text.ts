import { createReadStream } from "node:fs";
import { rawField } from "../../formats/jsonl-raw-field.js";
import type { Column, DataType } from "../../schema/types.js";
import { DestinationError } from "../../util/errors.js";

export { rawField };

/** A value Postgres cannot store: text and jsonb refuse the NUL character. */
class NulCharacter extends Error {}

const SPECIAL = /[\\\n\r\t\0]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A string as a field of COPY's text format: backslash, newline, carriage return and tab escaped (so an empty
 * string stays empty and only `\N` is NULL). NUL characters cannot be stored by Postgres and are refused.
 *
 * @example
 * copyTextField("a\tb\\c") // "a\\tb\\\\c"
 */
export function copyTextField(s: string): string {
  if (!SPECIAL.test(s)) return s;
  if (s.includes("\0")) throw new NulCharacter();
  return s.replace(SPECIAL_ALL, (c) => ESCAPES[c] ?? c);
}

/** Whether a JSON value holds a NUL character in a string or a key. */
function hasNul(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\0");
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) return v.some(hasNul);
  return Object.entries(v).some(([k, x]) => k.includes("\0") || hasNul(x));
}

/** Types whose load-file value is a string Postgres parses itself. */
const PLAIN_STRING = new Set<DataType>(["text", "timestamp", "date", "time", "decimal"]);

type Encoder = (v: unknown, line: string, key: string) => string;

const text: Encoder = (v) => copyTextField(typeof v === "string" ? v : String(v));

/**
 * Load files hold values already in their column's type (see normalize/load-file-writer.ts): text, timestamps,
 * dates, times and decimals as strings, bigints as bare digits, doubles as numbers (non-finite ones as strings),
 * json as JSON, binary as base64.
 */
const ENCODERS: Record<DataType, Encoder> = {
  text,
  timestamp: text,
  date: text,
  time: text,
  decimal: text,
  bigint: (v, line, key) => {
    if (typeof v === "number" && !Number.isSafeInteger(v)) return rawField(line, key) ?? String(v);
    return String(v);
  },
  double: (v) => String(v),
  bool: (v) => (v === true || v === "true" ? "t" : "f"),
  json: (v) => {
    const json = JSON.stringify(v);
    if (json.includes("\\u0000") && hasNul(v)) throw new NulCharacter();
    return copyTextField(json);
  },
  // bytea's hex input `\x...`, its backslash escaped for the COPY text format.
  binary: (v) => `\\\\x${Buffer.from(String(v), "base64").toString("hex")}`,
};

/** Columns that are also properties of every object (`constructor`, `__proto__`) must be read as own fields. */
const INHERITED = (name: string) => name in Object.prototype;

/**
 * The lines of a JSONL file in batches (one batch per 64 KB read: COPY data flows to the server while the next
 * batch is encoded), without readline's per-line overhead. A line longer than a read is assembled from its pieces.
 */
async function* lineBatches(path: string): AsyncGenerator<string[]> {
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 16 });
  let pending: string[] = [];
  for await (const piece of stream as AsyncIterable<string>) {
    let nl = piece.indexOf("\n");
    if (nl === -1) {
      pending.push(piece);
      continue;
    }
    const lines: string[] = [];
    pending.push(piece.slice(0, nl));
    lines.push(pending.length === 1 ? (pending[0] as string) : pending.join(""));
    pending = [];
    let start = nl + 1;
    for (nl = piece.indexOf("\n", start); nl !== -1; nl = piece.indexOf("\n", start)) {
      lines.push(piece.slice(start, nl));
      start = nl + 1;
    }
    if (start < piece.length) pending.push(piece.slice(start));
    yield lines;
  }
  if (pending.length > 0) yield [pending.join("")];
}

/**
 * A load file to COPY, and the names its errors report.
 *
 * @example
 * const src: CopySource = { path: job.path, table: job.table, job: job.id };
 */
export interface CopySource {
  path: string;
  table: string;
  job: string;
}

/**
 * Streams a JSONL load file as COPY text-format rows (tab-separated, `\N` for NULL and missing fields), one
 * chunk per read of the file: memory stays bounded whatever the file's size.
 *
 * @example
 * await conn.copyFrom(`COPY "gh"."issues" ("id", "title") FROM STDIN`, copyTextChunks(src, columns));
 */
export async function* copyTextChunks(src: CopySource, columns: Column[]): AsyncGenerator<string> {
  const names = columns.map((c) => c.name);
  const inherited = names.map(INHERITED);
  const encode = columns.map((c) => ENCODERS[c.type]);
  // Strings of these types go into COPY as they are, escaped (the fast path of the loop below).
  const plain = columns.map((c) => PLAIN_STRING.has(c.type));
  const count = columns.length;
  let lineNo = 0;
  for await (const lines of lineBatches(src.path)) {
    let chunk = "";
    for (const line of lines) {
      if (line.length === 0 || line === "\r") continue;
      lineNo++;
      const row = JSON.parse(line) as Record<string, unknown>;
      let i = 0;
      try {
        for (; i < count; i++) {
          const name = names[i] as string;
          const v = inherited[i] && !Object.hasOwn(row, name) ? undefined : row[name];
          if (i > 0) chunk += "\t";
          if (v === undefined || v === null) chunk += "\\N";
          else if (typeof v === "string" && plain[i]) chunk += SPECIAL.test(v) ? copyTextField(v) : v;
          else if (typeof v === "number" && Number.isSafeInteger(v)) chunk += v;
          else chunk += (encode[i] as Encoder)(v, line, name);
        }
      } catch (err) {
        if (!(err instanceof NulCharacter)) throw err;
        throw nulError(src, lineNo, names[i] ?? "?");
      }
      chunk += "\n";
    }
    if (chunk.length > 0) yield chunk;
  }
}

function nulError(src: CopySource, lineNo: number, column: string): DestinationError {
  return new DestinationError(
    `row ${lineNo} of table "${src.table}" has a NUL character (\\u0000) in column "${column}", which Postgres cannot store in text or jsonb`,
    {
      fields: { table: src.table, column, job: src.job },
      hint: "remove NUL characters before loading (for example in a map step: s.replaceAll('\\u0000', ''))",
    },
  );
}
