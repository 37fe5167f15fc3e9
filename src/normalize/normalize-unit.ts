import { decodeItem } from "../formats/item-codec.js";
import { readLineBatches } from "../formats/jsonl-reader.js";
import type { LoadFileWriter } from "./load-file-writer.js";
import type { RelationalNormalizer } from "./relational.js";
import type { NormalizeUnit } from "./worker-protocol.js";

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
  for await (const lines of readLineBatches(unit.file)) {
    for (const line of lines) {
      const pending = normalizer.normalizeItem(decodeItem(line), root);
      if (pending) await pending;
      if (++items % 5000 === 0) onItems?.(items);
    }
  }
  return items;
}
