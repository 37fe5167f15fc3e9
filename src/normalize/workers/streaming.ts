import type { TableHints } from "../../package/table-hints.js";
import type { StoredSchema } from "../../schema/types.js";
import { runWorkers, type WorkerResult, type WorkerTeamOptions } from "./parallel.js";
import { UnitQueue } from "./unit-queue.js";

export interface StreamingNormalizeOptions {
  loadId: string;
  /** The package's normalize output folder (exists, empty). */
  outDir: string;
  /** The schema the package normalizes against. */
  baseSchema: StoredSchema;
  maxIdentifierLength: number;
  maxFileBytes?: number;
  workers: number;
  onProgress?: (table: string, items: number) => void;
}

/**
 * Normalizes a package's extracted files on worker threads while the package is still being extracted: each file
 * is queued as soon as the extractor closes it, so normalizing overlaps extracting instead of following it.
 *
 * The first file is normalized alone and its schema seeds the other workers (types are mostly settled by the first
 * records, so workers rarely disagree later). `finish()` gives the workers' results, which the normalize step
 * merges like those of `normalizeInWorkers`; if the workers disagree, or the schema changed meanwhile, the package
 * is normalized again from its files, which stay until the package is normalized.
 */
export class StreamingNormalize {
  readonly outDir: string;
  readonly baseSchema: StoredSchema;
  readonly loadId: string;
  readonly maxIdentifierLength: number;
  readonly #queue = new UnitQueue();
  readonly #controller = new AbortController();
  readonly #tables = new Map<string, TableHints>();
  readonly #result: Promise<WorkerResult[]>;
  #index = 0;

  /** Files queued so far. */
  get files(): number {
    return this.#index;
  }

  constructor(opts: StreamingNormalizeOptions) {
    this.outDir = opts.outDir;
    this.baseSchema = opts.baseSchema;
    this.loadId = opts.loadId;
    this.maxIdentifierLength = opts.maxIdentifierLength;
    this.#result = this.#run(opts);
    // Observed by finish() or abort(); until then a failure must not count as unhandled.
    this.#result.catch(() => undefined);
  }

  /** Queues an extracted file that is complete (closed). Files of one table must come in the order written. */
  add(table: string, hints: TableHints, file: string): void {
    if (!this.#tables.has(table)) this.#tables.set(table, hints);
    this.#queue.push({ index: this.#index++, table, hints, file });
  }

  /** No more files: resolves with every worker's result once all queued files are normalized. */
  finish(): Promise<WorkerResult[]> {
    this.#queue.close();
    return this.#result;
  }

  /** Stops the workers and waits for them to exit; their output is to be discarded. */
  async abort(): Promise<void> {
    this.#controller.abort(new Error("streaming normalize was stopped"));
    this.#queue.close();
    await this.#result.catch(() => undefined);
  }

  async #run(opts: StreamingNormalizeOptions): Promise<WorkerResult[]> {
    const first = await this.#queue.next();
    if (!first) return [];
    const progress = new Map<string, number>();
    const team = (prefix: string): WorkerTeamOptions => ({
      loadId: opts.loadId,
      outDir: opts.outDir,
      maxIdentifierLength: opts.maxIdentifierLength,
      ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
      tables: [...this.#tables].map(([table, hints]) => ({ table, hints })),
      prefix,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      progress,
      signal: this.#controller.signal,
    });
    const [seed] = await runWorkers(team("s"), UnitQueue.of([first]), 1, opts.baseSchema);
    if (!seed) return [];
    const second = await this.#queue.next();
    if (!second) return [seed];
    this.#queue.unshift(second);
    return [seed, ...(await runWorkers(team("w"), this.#queue, Math.max(1, opts.workers), seed.schema))];
  }
}
