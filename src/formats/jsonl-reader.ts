import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";

/**
 * Streams the lines of a JSONL file in batches (one per chunk read from disk, skipping empty lines): a caller that
 * handles lines synchronously pays one await per batch instead of one per line. Lines end at `\n` (a `\r` before it
 * is dropped). Memory is bounded by the chunk size plus the longest line.
 *
 * @example
 * for await (const lines of readLineBatches("items.jsonl")) for (const line of lines) handle(JSON.parse(line));
 */
export async function* readLineBatches(path: string, chunkBytes = 1 << 20): AsyncGenerator<string[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) {
    const text = rest + decoder.write(chunk as Buffer);
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 1);
    const batch = splitLines(text, end);
    if (batch.length > 0) yield batch;
  }
  const last = rest + decoder.end();
  if (last.length > 0) {
    const batch = splitLines(`${last}\n`, last.length);
    if (batch.length > 0) yield batch;
  }
}

/** The non-empty lines of `text` up to the newline at `end`. */
function splitLines(text: string, end: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= end) {
    const nl = text.indexOf("\n", start);
    let stop = nl;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    if (stop > start) out.push(text.slice(start, stop));
    start = nl + 1;
  }
  return out;
}
