import { mkdir, rm } from "node:fs/promises";
import type { TableHints } from "../extract/extractor.js";
import { type Schema, type SchemaChange, stableStringify } from "../schema/schema.js";
import type { Logger } from "../util/log.js";
import { type LoadFileIndex, LoadFileWriter } from "./load-file-writer.js";
import { normalizeUnit } from "./normalize-unit.js";
import { mergeWorkerResults, normalizeInWorkers } from "./parallel-normalize.js";
import { type NormalizeStats, RelationalNormalizer } from "./relational.js";
import type { StreamingNormalize } from "./streaming-normalize.js";

/** When workers disagree on a column (a type, an origin), one thread decides, as it would have alone. */
const DISAGREED =
  "normalize workers inferred different types for a column; normalizing this package on one thread";

export interface NormalizeInput {
  table: string;
  hints: TableHints;
  files: string[];
}

export interface NormalizeFilesOptions {
  inputs: NormalizeInput[];
  schema: Schema;
  loadId: string;
  outDir: string;
  maxIdentifierLength: number;
  maxFileBytes?: number;
  onProgress?: (table: string, items: number) => void;
  /** Worker threads for packages with several extracted files (1 = this thread only). */
  workers?: number;
  log?: Logger;
}

export interface NormalizeFilesResult {
  index: LoadFileIndex;
  stats: NormalizeStats;
  schemaChanges: SchemaChange[];
}

/**
 * Streams extracted item files through the relational normalizer into load files. The schema object is
 * evolved in place; the caller persists it with the load package.
 */
export async function normalizeFiles(opts: NormalizeFilesOptions): Promise<NormalizeFilesResult> {
  const files = opts.inputs.reduce((n, i) => n + i.files.length, 0);
  if ((opts.workers ?? 1) > 1 && files > 1) {
    const parallel = await normalizeInWorkers(opts, opts.workers ?? 1);
    if (parallel) return withWarnings(parallel);
    // The workers disagreed on a column (a type, an origin): one thread decides, as it would have alone.
    opts.log?.info(DISAGREED);
    await rm(opts.outDir, { recursive: true, force: true });
    await mkdir(opts.outDir, { recursive: true });
  }
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
  return withWarnings({
    index: await writer.close(),
    stats: normalizer.stats,
    schemaChanges: opts.schema.changes.slice(changesBefore),
  });
}

/**
 * The result of a package normalized while it was extracted, when it is usable: the schema it started from is still
 * `schema` and it saw every file of `inputs`. Otherwise, or when its workers disagree, the package is normalized again
 * from its files with the options `fresh()` gives (which empties the output folder).
 */
export async function finishStreamed(
  streamed: StreamingNormalize,
  schema: Schema,
  inputs: NormalizeInput[],
  fresh: () => Promise<NormalizeFilesOptions>,
): Promise<NormalizeFilesResult> {
  const files = inputs.reduce((n, i) => n + i.files.length, 0);
  if (
    stableStringify(schema.toStored().tables) !== stableStringify(streamed.baseSchema.tables) ||
    streamed.files !== files
  ) {
    await streamed.abort();
    return normalizeFiles(await fresh());
  }
  const merged = mergeWorkerResults(
    { schema, inputs, loadId: streamed.loadId, maxIdentifierLength: streamed.maxIdentifierLength },
    await streamed.finish(),
  );
  if (merged) return withWarnings(merged);
  const opts = await fresh();
  opts.log?.info(DISAGREED);
  return normalizeFiles({ ...opts, workers: 1 });
}

/** Turns the counters of what was skipped or discarded into warnings (nothing is dropped silently). */
function withWarnings(result: NormalizeFilesResult): NormalizeFilesResult {
  const stats = result.stats;
  if (stats.skippedNullItems > 0) {
    stats.warnings.push(`${stats.skippedNullItems} null items were skipped (they hold no data)`);
  }
  if (stats.discardedRows > 0)
    stats.warnings.push(`${stats.discardedRows} rows were discarded by the schema contract`);
  if (stats.discardedValues > 0) {
    stats.warnings.push(`${stats.discardedValues} values were discarded by the schema contract`);
  }
  return result;
}
