import { createReadStream } from "node:fs";
import { brand, isKind } from "../util/brand.js";

const NEWLINE = 10;

/**
 * A batch of newline-delimited JSON records, yielded by a resource instead of parsed objects. Ferry copies the
 * bytes into the load package as they are and parses each record once, while normalizing (on worker threads when
 * the package is big), instead of parsing it in the resource and encoding it again at extract.
 *
 * A line that is not valid JSON fails the normalize stage with its resource, line number and text. Resources that
 * need each record at extract (incremental cursors, `map`/`filter` steps, a table function, `limit`) cannot use
 * it: yield parsed records there.
 *
 * @example
 * const events = resource({ name: "events" }, async function* () {
 *   yield jsonLines('{"id":1}\n{"id":2}\n');
 *   yield* jsonlFile("data/more-events.ndjson");
 * });
 */
export class JsonLines {
  /** Whole lines (each ending with a newline), as UTF-8 bytes. */
  readonly bytes: Uint8Array;
  /** How many non-empty lines `bytes` holds. */
  readonly lines: number;

  /** Use `jsonLines()`; `bytes` must end with a newline. */
  constructor(bytes: Uint8Array, lines: number) {
    this.bytes = bytes;
    this.lines = lines;
  }

  /** The records, parsed (for transformers fed by a resource that yields lines). */
  records(): unknown[] {
    const out: unknown[] = [];
    for (const line of Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
      .toString("utf8")
      .split("\n")) {
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (text.trim() !== "") out.push(JSON.parse(text));
    }
    return out;
  }
}
brand(JsonLines, "json_lines");

/** True for `jsonLines()` batches, also those made by another copy of the package (a user module's own import). */
export const isJsonLines = (x: unknown): x is JsonLines => isKind(x, "json_lines");

/**
 * Wraps NDJSON text or bytes for a resource to yield. The data must hold whole lines: split a stream with
 * `jsonlFile` (or at newlines) first. Empty lines are skipped; a missing final newline is added.
 *
 * @example
 * yield jsonLines('{"id":1}\n{"id":2}\n');
 */
export function jsonLines(data: string | Uint8Array): JsonLines {
  let bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) {
    const whole = Buffer.allocUnsafe(bytes.length + 1);
    whole.set(bytes);
    whole[bytes.length] = NEWLINE;
    bytes = whole;
  }
  return new JsonLines(bytes, countLines(bytes));
}

/** Non-empty lines in `bytes` (which ends with a newline). */
function countLines(bytes: Uint8Array): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  let start = 0;
  for (let nl = buf.indexOf(NEWLINE, 0); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
    // A line of only "\r" (CRLF files' blank lines) holds no record either.
    if (nl > start && !(nl === start + 1 && buf[start] === 13)) n++;
    start = nl + 1;
  }
  return n;
}

/**
 * Reads an NDJSON file in chunks of whole lines (about `chunkBytes` each), for a resource to yield: memory stays
 * bounded by the chunk size plus the longest line. A UTF-8 byte order mark at the start is dropped.
 *
 * @example
 * const events = resource({ name: "events" }, () => jsonlFile("data/events.ndjson"));
 */
export async function* jsonlFile(path: string, chunkBytes = 1 << 20): AsyncGenerator<JsonLines> {
  let rest: Buffer = Buffer.alloc(0);
  let first = true;
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) {
    let data = chunk as Buffer;
    if (first) {
      first = false;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
    }
    const end = data.lastIndexOf(NEWLINE);
    if (end < 0) {
      rest = Buffer.concat([rest, data]);
      continue;
    }
    const whole =
      rest.length > 0 ? Buffer.concat([rest, data.subarray(0, end + 1)]) : data.subarray(0, end + 1);
    // The stream may reuse nothing, but the tail is copied so the chunk it came from can be collected.
    rest = Buffer.from(data.subarray(end + 1));
    yield new JsonLines(whole, countLines(whole));
  }
  if (rest.length > 0) yield jsonLines(rest);
}
