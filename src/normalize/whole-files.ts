import { copyFile, link, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { type CsvColumn, declaredRowsError, readTypedCsv } from "../formats/typed-csv.js";
import { fileSafe, type LoadFileIndex, mergeIndex } from "../package/load-files.js";
import type { TableHints } from "../package/table-hints.js";
import { DataError, errorMessage, isFerryError } from "../util/errors.js";
import { LoadFileWriter } from "./load-file-writer.js";
import { RelationalNormalizer } from "./rows/relational.js";
import type { NormalizeFilesOptions, NormalizeFilesResult } from "./types.js";

/** A file a source handed over whole: a typed CSV file of a package to normalize. */
export interface WholeFileInput {
  table: string;
  hints: TableHints;
  /** The file inside the package's `extracted/` folder. */
  path: string;
  format: "typed_csv";
  columns: CsvColumn[];
  rows: number;
}

/**
 * Adds a package's whole files to the result of normalizing its item files (the schema is evolved in place).
 * A typed CSV file whose columns the schema takes as they are becomes a load file as it is (a hard link, no per-row
 * work); the others are read back into records and normalized like any, so variants and contracts behave the same.
 */
export async function addWholeFiles(
  result: NormalizeFilesResult,
  opts: Omit<NormalizeFilesOptions, "inputs"> & { wholeFiles: WholeFileInput[] },
): Promise<NormalizeFilesResult> {
  if (opts.wholeFiles.length === 0) return result;
  const changesBefore = opts.schema.changes.length;
  const writer = new LoadFileWriter(opts.outDir, opts.schema, {
    prefix: "c",
    ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
  });
  const normalizer = new RelationalNormalizer({
    schema: opts.schema,
    loadId: opts.loadId,
    maxIdentifierLength: opts.maxIdentifierLength,
    sink: writer,
  });
  const linked: LoadFileIndex = { tables: {} };
  await mkdir(opts.outDir, { recursive: true });
  try {
    for (const [i, input] of opts.wholeFiles.entries()) {
      const root = normalizer.rootTable(input.table, input.hints);
      // Destinations read typed CSV with "\n" line ends: a file whose first line ends with "\r\n" is read back.
      const layout = (await startsWithCrlf(input.path))
        ? undefined
        : normalizer.typedCsvLayout(root, input.columns, input.rows);
      if (layout) {
        const name = `${fileSafe(input.table)}.csv${i}.csv`;
        await linkOrCopy(input.path, join(opts.outDir, name));
        const entry = linked.tables[root.table.name] ?? { files: [], rows: 0 };
        linked.tables[root.table.name] = entry;
        entry.files.push({ id: name, format: "typed_csv", layout, rows: input.rows });
        entry.rows += input.rows;
        continue;
      }
      writer.beginInput(i);
      let n = 0;
      for await (const rec of readRecords(input)) {
        const pending = normalizer.normalizeItem(rec, root);
        if (pending) await pending;
        n++;
      }
      if (n !== input.rows)
        throw declaredRowsError(input.table, n, input.rows, { files: 1, resource: input.hints.resource });
    }
  } catch (err) {
    await writer.abort();
    throw err;
  }
  normalizer.finish();
  const parsed = await writer.close();
  const stats = normalizer.stats;
  result.stats.discardedRows += stats.discardedRows;
  result.stats.discardedValues += stats.discardedValues;
  result.stats.skippedNullItems += stats.skippedNullItems;
  result.stats.warnings.push(...stats.warnings);
  for (const add of [linked, parsed]) mergeIndex(result.index, add);
  return { ...result, schemaChanges: [...result.schemaChanges, ...opts.schema.changes.slice(changesBefore)] };
}

/** Whether the file's first line ends with "\r\n" (destinations read typed CSV with "\n" line ends). */
async function startsWithCrlf(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    return nl > 0 && buf[nl - 1] === 13;
  } finally {
    await fh.close();
  }
}

/** Records of a typed CSV file, with a malformed file reported as the resource's data error. */
async function* readRecords(input: WholeFileInput): AsyncGenerator<Record<string, unknown>> {
  try {
    yield* readTypedCsv(input.path, input.columns);
  } catch (err) {
    if (isFerryError(err, "bad_data")) throw err;
    throw new DataError(`typed CSV file of table "${input.table}" cannot be read: ${errorMessage(err)}`, {
      fields: { table: input.table, resource: input.hints.resource },
      hint: "the resource wrote a file that is not typed CSV as its columns declare",
    });
  }
}

/** The extracted file stays for a re-run of normalize after a crash: the load file is a second name for it. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}
