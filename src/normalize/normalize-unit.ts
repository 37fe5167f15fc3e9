import { decodeItem } from "../formats/item-codec.js";
import { readLineBatches } from "../formats/jsonl-reader.js";
import { DataError, errorMessage } from "../util/errors.js";
import type { LoadFileWriter } from "./load-file-writer.js";
import type { RelationalNormalizer } from "./rows/relational.js";
import type { NormalizeUnit } from "./workers/worker-protocol.js";

/**
 * Streams one extracted file through a normalizer into a writer; returns how many items it read. `onItems` is
 * called every 5,000 items with the count so far.
 */
export async function normalizeUnit(
  normalizer: RelationalNormalizer,
  writer: LoadFileWriter,
  unit: NormalizeUnit,
  onItems?: (items: number) => void,
): Promise<number> {
  writer.beginInput(unit.index);
  const root = normalizer.rootTable(unit.table, unit.hints);
  let items = 0;
  try {
    for await (const lines of readLineBatches(unit.file)) {
      for (const line of lines) {
        const pending = normalizer.normalizeItem(decode(line, unit, items), root);
        if (pending) await pending;
        if (++items % 5000 === 0) onItems?.(items);
      }
    }
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return items;
}

/** Lines ferry encoded always parse; lines a resource yielded with `jsonLines()` are parsed here for the first time. */
function decode(line: string, unit: NormalizeUnit, before: number): unknown {
  try {
    return decodeItem(line);
  } catch (err) {
    const preview = line.length > 100 ? `${line.slice(0, 97)}...` : line;
    throw new DataError(
      `resource "${unit.hints.resource}" yielded a line that is not valid JSON (record ${before + 1} of table "${unit.table}" in this file): ${errorMessage(err)}; the line: ${preview}`,
      {
        fields: { resource: unit.hints.resource, table: unit.table },
        hint: "fix the input, or parse the lines in the resource (JSON.parse) and skip or repair the bad ones",
      },
    );
  }
}
