import type { TypedCsvLayout } from "../formats/typed-csv.js";
import { shortHash } from "../util/hash.js";

/**
 * Extra field of merge root rows (and their child rows) in JSONL load files: their arrival order, so "latest wins"
 * deduplication is exact. Never a schema column.
 */
export const SEQ_FIELD = "_ferry_seq";

/** A JSONL load file written by normalize. */
export interface JsonlFileEntry {
  /** File name inside the package's job folders (stable across retries). */
  id: string;
  format: "jsonl";
  /** Upper bound of the longest line in bytes, when known (readers size their buffers by it). */
  maxLineBytes?: number;
}

/** A typed CSV file a source handed over whole, loaded as it is. */
export interface TypedCsvFileEntry {
  id: string;
  format: "typed_csv";
  /** How the file's columns map onto the table. */
  layout: TypedCsvLayout;
  /** The records it declares: a destination that counts its inserts checks them (absent in packages of ferry 0.1's first releases). */
  rows?: number;
}

/** One load file of a package, keyed on its format (see `formats/file-format.ts`). */
export type LoadFileEntry = JsonlFileEntry | TypedCsvFileEntry;

/**
 * The load files of a normalized package, per table, and the rows they hold.
 *
 * @example
 * { tables: { issues: { rows: 2, files: [{ id: "issues.0000.jsonl", format: "jsonl", maxLineBytes: 812 }] } } }
 */
export interface LoadFileIndex {
  tables: Record<string, { rows: number; files: LoadFileEntry[] }>;
}

/** Adds `add`'s files and rows to `into`, table by table. */
export function mergeIndex(into: LoadFileIndex, add: LoadFileIndex): void {
  for (const [table, t] of Object.entries(add.tables)) {
    const have = into.tables[table];
    if (!have) {
      into.tables[table] = { rows: t.rows, files: [...t.files] };
      continue;
    }
    have.files.push(...t.files);
    have.rows += t.rows;
  }
}

/** The index as packages written before formats were keyed (files as names, details in maps by name). */
interface LegacyIndex {
  tables: Record<
    string,
    {
      files: (string | LoadFileEntry)[];
      rows: number;
      maxLineBytes?: Record<string, number>;
      typedCsv?: Record<string, TypedCsvLayout>;
      typedCsvRows?: Record<string, number>;
    }
  >;
}

/**
 * Reads an index as stored, also one written by an earlier version of ferry (a package left pending across an
 * upgrade), into the current shape.
 */
export function readLoadFileIndex(stored: LegacyIndex | LoadFileIndex): LoadFileIndex {
  const tables: LoadFileIndex["tables"] = {};
  for (const [table, t] of Object.entries(stored.tables as LegacyIndex["tables"])) {
    tables[table] = {
      rows: t.rows,
      files: t.files.map((f): LoadFileEntry => {
        if (typeof f !== "string") return f;
        const layout = t.typedCsv?.[f];
        const rows = t.typedCsvRows?.[f];
        if (layout) return { id: f, format: "typed_csv", layout, ...(rows !== undefined ? { rows } : {}) };
        const maxLineBytes = t.maxLineBytes?.[f];
        return { id: f, format: "jsonl", ...(maxLineBytes !== undefined ? { maxLineBytes } : {}) };
      }),
    };
  }
  return { tables };
}

/**
 * A table's name as used in file names: short and portable whatever the table is called.
 *
 * @example
 * fileSafe("orders") // "orders"
 * fileSafe("Größe") // "t_" + a 10-character hash
 */
export function fileSafe(table: string): string {
  return /^[a-z0-9_]{1,60}$/.test(table) ? table : `t_${shortHash(table, 10)}`;
}
