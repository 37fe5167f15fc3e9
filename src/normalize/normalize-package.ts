import { stableStringify } from "../schema/schema.js";
import { normalizeSerial } from "./serial.js";
import type { NormalizeFilesOptions, NormalizeFilesResult } from "./types.js";
import { addWholeFiles, type WholeFileInput } from "./whole-files.js";
import { mergeWorkerResults, normalizeInWorkers } from "./workers/parallel.js";
import type { StreamingNormalize } from "./workers/streaming.js";

/** When workers disagree on a column (a type, an origin), one thread decides, as it would have alone. */
const DISAGREED =
  "normalize workers inferred different types for a column; normalizing this package on one thread";

/** One package to normalize. */
export interface NormalizeRequest extends NormalizeFilesOptions {
  /** Files sources handed over whole (typed CSV). */
  wholeFiles: WholeFileInput[];
  /** Empties `outDir` (creating it): before a mode starts, and when a mode's output is thrown away. */
  resetOutput(): Promise<void>;
  /** Worker threads for packages of several item files (1: this thread only). */
  workers: number;
  /** Workers that normalized the package's files while it was extracted, into `outDir`. */
  streamed?: StreamingNormalize;
}

/**
 * Normalizes one load package: its item files into JSONL load files, and the files sources handed over whole into
 * load files as they are (or parsed back into rows). The schema (`request.schema`) is evolved in place; the caller
 * persists it with the package.
 *
 * One entry, three modes with the same result: the results of workers that normalized the package while it was
 * extracted (`streamed`); worker threads for a package of several files; one thread otherwise, and whenever workers
 * disagree about a column.
 *
 * @example
 * const result = await normalizePackage({ loadId, inputs, wholeFiles: [], schema, outDir: pkg.normalizeOutDir,
 *   resetOutput: () => pkg.resetNormalizing(), maxIdentifierLength: 120, workers: 2 });
 */
export async function normalizePackage(request: NormalizeRequest): Promise<NormalizeFilesResult> {
  const items = withWarnings(await normalizeItems(request));
  return addWholeFiles(items, request);
}

async function normalizeItems(request: NormalizeRequest): Promise<NormalizeFilesResult> {
  const files = request.inputs.reduce((n, i) => n + i.files.length, 0);
  const { streamed } = request;
  if (streamed) {
    const unchanged =
      stableStringify(request.schema.toStored().tables) === stableStringify(streamed.baseSchema.tables) &&
      streamed.files === files;
    if (unchanged) {
      const merged = mergeWorkerResults(request, await streamed.finish());
      if (merged) return merged;
      return serialAfterDisagreement(request);
    }
    // The schema moved on (an older package was normalized first) or files were missed: start again.
    await streamed.abort();
  }
  await request.resetOutput();
  if (request.workers > 1 && files > 1) {
    const parallel = await normalizeInWorkers(request, request.workers);
    return parallel ?? serialAfterDisagreement(request);
  }
  return normalizeSerial(request);
}

async function serialAfterDisagreement(request: NormalizeRequest): Promise<NormalizeFilesResult> {
  request.log?.info(DISAGREED);
  await request.resetOutput();
  return normalizeSerial(request);
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
