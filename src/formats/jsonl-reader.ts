import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/** Streams the lines of a JSONL file (skipping empty lines) with bounded memory. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const rl = createInterface({
    input: createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 }),
    crlfDelay: Infinity,
  });
  for await (const line of rl) {
    if (line.length > 0) yield line;
  }
}
