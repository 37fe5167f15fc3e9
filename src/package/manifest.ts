import type { CsvColumn } from "../formats/typed-csv.js";
import type { SchemaChange } from "../schema/schema.js";
import type { LoadFileIndex } from "./load-files.js";
import type { TableHints } from "./table-hints.js";

/**
 * A file a source handed over whole (not items), kept in the package's `extracted/` folder until normalize decides
 * whether the destination can load it as it is.
 */
export interface WholeFileEntry {
  /** Its name inside `extracted/`. */
  file: string;
  /** A load-file format written by sources (see `formats/file-format.ts`). */
  format: "typed_csv";
  columns: CsvColumn[];
  /** How many records it holds. */
  rows: number;
}

/** Written when extraction finished: its presence is what makes a package "extracted". */
export interface PackageManifest {
  loadId: string;
  pipelineName: string;
  schemaName: string;
  createdAt: string;
  /** Root tables the extract declared, with the hints of their resource. */
  tables: Record<string, TableHints>;
  /** Extracted item files per table (names inside `extracted/`). */
  files: Record<string, string[]>;
  /** Files handed over whole, per table. */
  wholeFiles?: Record<string, WholeFileEntry[]>;
  items: Record<string, number>;
  warnings: string[];
}

/** Written by normalize next to the jobs. */
export interface NormalizeManifest {
  index: LoadFileIndex;
  /** The package's root tables as named in the schema (shortened to the destination's limit where needed). */
  roots?: string[];
  schemaChanges: SchemaChange[];
  warnings: string[];
  rows: Record<string, number>;
}

/** A manifest as stored, also by earlier versions (which kept typed CSV files under `typedCsv`). */
export function readPackageManifest(
  stored: PackageManifest & { typedCsv?: Record<string, Omit<WholeFileEntry, "format">[]> },
): PackageManifest {
  const { typedCsv, ...manifest } = stored;
  if (!typedCsv) return manifest;
  const wholeFiles: Record<string, WholeFileEntry[]> = {};
  for (const [table, entries] of Object.entries(typedCsv))
    wholeFiles[table] = entries.map((e) => ({ ...e, format: "typed_csv" }));
  return { ...manifest, wholeFiles };
}
