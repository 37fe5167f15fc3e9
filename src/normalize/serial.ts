import { LoadFileWriter } from "./load-file-writer.js";
import { normalizeUnit } from "./normalize-unit.js";
import { RelationalNormalizer } from "./rows/relational.js";
import type { NormalizeFilesOptions, NormalizeFilesResult } from "./types.js";

/**
 * Normalizes a package's item files on this thread: streams them through the relational normalizer into load files.
 * The reference result: the other modes either agree with it or fall back to it.
 */
export async function normalizeSerial(opts: NormalizeFilesOptions): Promise<NormalizeFilesResult> {
  const changesBefore = opts.schema.changes.length;
  const writer = new LoadFileWriter(
    opts.outDir,
    opts.schema,
    opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {},
  );
  const normalizer = new RelationalNormalizer({
    schema: opts.schema,
    loadId: opts.loadId,
    maxIdentifierLength: opts.maxIdentifierLength,
    sink: writer,
  });
  for (const input of opts.inputs) normalizer.rootTable(input.table, input.hints);
  let index = 0;
  for (const input of opts.inputs) {
    let done = 0;
    for (const file of input.files) {
      const unit = { index: index++, table: input.table, hints: input.hints, file };
      done += await normalizeUnit(normalizer, writer, unit, (n) => opts.onProgress?.(input.table, done + n));
    }
    opts.onProgress?.(input.table, done);
  }
  normalizer.finish();
  return {
    index: await writer.close(),
    stats: normalizer.stats,
    schemaChanges: opts.schema.changes.slice(changesBefore),
  };
}
