import { rename } from "node:fs/promises";
import { join } from "node:path";
import {
  CircularReferenceError,
  type EncodeReport,
  encodeItem,
  encodeJsonItem,
  MARKER,
} from "../formats/item-codec.js";
import { RotatingJsonlWriter, type WrittenFile } from "../formats/jsonl-writer.js";
import { fileSafe } from "../package/load-files.js";
import type { WholeFileEntry } from "../package/manifest.js";
import type { TableHints } from "../package/table-hints.js";
import { DataError, errorMessage } from "../util/errors.js";
import type { ExtractSink } from "./extractor.js";
import type { JsonLines } from "./json-lines.js";
import type { Item } from "./resource.js";
import type { TypedCsvFile } from "./typed-csv.js";

const EXTRACT_FILE_BYTES = 16 * 1024 * 1024;
const MARKER_BYTES = Buffer.from(MARKER, "utf8");

/** Writes extracted items of each table into a load package's `extracted/` folder. */
export class PackageExtractSink implements ExtractSink {
  readonly #dir: string;
  readonly #writers = new Map<string, RotatingJsonlWriter>();
  /** A table's write that is waiting for the disk: later writes to that table queue behind it. */
  readonly #pending = new Map<string, Promise<void>>();
  readonly tables: Record<string, TableHints> = {};
  /** Files handed over whole per table, moved into `extracted/`. */
  readonly wholeFiles: Record<string, WholeFileEntry[]> = {};
  readonly report: EncodeReport = { skipped: new Map() };

  readonly #onFile: ((table: string, hints: TableHints, path: string) => void) | undefined;

  /** `onFile` hears of each extracted file once it is complete (for normalizing while extraction goes on). */
  constructor(extractedDir: string, onFile?: (table: string, hints: TableHints, path: string) => void) {
    this.#dir = extractedDir;
    this.#onFile = onFile;
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
    return this.#track(table, this.#writer(table).write(line));
  }

  writeLines(table: string, lines: JsonLines): Promise<void> | undefined {
    const pending = this.#pending.get(table);
    if (pending) return pending.then(() => this.writeLines(table, lines));
    // A string starting with the marker character would be read back as an encoded value: such (rare) batches
    // are parsed and encoded record by record, which escapes it.
    if (
      Buffer.from(lines.bytes.buffer, lines.bytes.byteOffset, lines.bytes.byteLength).includes(MARKER_BYTES)
    )
      return this.#writeParsed(table, lines);
    return this.#track(table, this.#writer(table).writeBytes(lines.bytes, lines.lines));
  }

  async writeWholeFile(table: string, file: TypedCsvFile): Promise<void> {
    const entries = this.wholeFiles[table] ?? [];
    this.wholeFiles[table] = entries;
    const name = `${fileSafe(table)}.${String(entries.length).padStart(4, "0")}.csv`;
    await rename(file.path, join(this.#dir, name));
    entries.push({ file: name, format: "typed_csv", columns: [...file.columns], rows: file.rows });
  }

  async #writeParsed(table: string, lines: JsonLines): Promise<void> {
    let records: unknown[];
    try {
      records = lines.records();
    } catch (err) {
      throw new DataError(
        `jsonLines() for table "${table}" hold a line that is not JSON: ${errorMessage(err)}`,
        {
          fields: { table, resource: this.tables[table]?.resource },
          hint: "fix the input, or parse the lines in the resource and skip the bad ones",
        },
      );
    }
    for (const rec of records) {
      const pending = this.write(table, rec, true);
      if (pending) await pending;
    }
  }

  #writer(table: string): RotatingJsonlWriter {
    let w = this.#writers.get(table);
    if (!w) {
      const prefix = fileSafe(table);
      // Extracted files rotate small enough that a big table spreads over several files: normalize workers
      // take them one at a time.
      const onFile = this.#onFile;
      const hints = this.tables[table];
      w = new RotatingJsonlWriter(this.#dir, prefix, {
        maxFileBytes: EXTRACT_FILE_BYTES,
        ...(onFile && hints ? { onClose: (f: WrittenFile) => onFile(table, hints, f.path) } : {}),
      });
      this.#writers.set(table, w);
    }
    return w;
  }

  /** A write that waits for the disk holds later writes to its table until it is done. */
  #track(table: string, waiting: Promise<void> | undefined): Promise<void> | undefined {
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
