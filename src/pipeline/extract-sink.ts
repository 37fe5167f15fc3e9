import { join } from "node:path";
import type { ExtractSink, TableHints } from "../extract/extractor.js";
import type { Item } from "../extract/resource.js";
import {
  CircularReferenceError,
  type EncodeReport,
  encodeItem,
  encodeJsonItem,
} from "../formats/item-codec.js";
import { RotatingJsonlWriter } from "../formats/jsonl-writer.js";
import { DataError } from "../util/errors.js";
import { shortHash } from "../util/hash.js";

const EXTRACT_FILE_BYTES = 16 * 1024 * 1024;

/** Writes extracted items of each table into a load package's `extracted/` folder. */
export class PackageExtractSink implements ExtractSink {
  readonly #dir: string;
  readonly #writers = new Map<string, RotatingJsonlWriter>();
  /** A table's write that is waiting for the disk: later writes to that table queue behind it. */
  readonly #pending = new Map<string, Promise<void>>();
  readonly tables: Record<string, TableHints> = {};
  readonly report: EncodeReport = { skipped: new Map() };

  constructor(extractedDir: string) {
    this.#dir = extractedDir;
  }

  declareTable(table: string, hints: TableHints): void {
    if (!this.tables[table]) this.tables[table] = hints;
  }

  write(table: string, item: Item, json = false): Promise<void> | undefined {
    // Resources extracting concurrently may write to one table (table functions): a writer takes one write at a
    // time while it flushes or rotates its file.
    const pending = this.#pending.get(table);
    if (pending) return pending.then(() => this.write(table, item, json));
    let line: string;
    try {
      line = json ? encodeJsonItem(item, this.report) : encodeItem(item, this.report);
    } catch (err) {
      if (err instanceof CircularReferenceError) {
        throw new DataError(`an item for table "${table}" has a circular reference: ${err.message}`, {
          fields: { table, resource: this.tables[table]?.resource },
          hint: "yield plain data: map the item to an object without cycles",
        });
      }
      throw err;
    }
    let w = this.#writers.get(table);
    if (!w) {
      const prefix = /^[a-z0-9_]{1,60}$/.test(table) ? table : `t_${shortHash(table, 10)}`;
      // Extracted files rotate small enough that a big table spreads over several files: normalize workers
      // take them one at a time.
      w = new RotatingJsonlWriter(this.#dir, prefix, { maxFileBytes: EXTRACT_FILE_BYTES });
      this.#writers.set(table, w);
    }
    const waiting = w.write(line);
    if (!waiting) return undefined;
    const tracked: Promise<void> = waiting.finally(() => {
      if (this.#pending.get(table) === tracked) this.#pending.delete(table);
    });
    this.#pending.set(table, tracked);
    return tracked;
  }

  /** Closes all files; returns file names per table. */
  async close(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const [table, w] of this.#writers) {
      const files = await w.close();
      out[table] = files.map((f) => f.path.slice(join(this.#dir, "x").length - 1));
    }
    return out;
  }

  warnings(): string[] {
    return [...this.report.skipped].map(
      ([key, type]) => `values of type ${type} (e.g. key "${key}") are not data and were not loaded`,
    );
  }
}
