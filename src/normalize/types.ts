import type { LoadFileIndex } from "../package/load-files.js";
import type { TableHints } from "../package/table-hints.js";
import type { Schema, SchemaChange } from "../schema/schema.js";
import type { Logger } from "../util/log.js";
import type { NormalizeStats } from "./rows/relational.js";

export type { NormalizeStats };

/** A root table's extracted item files, in the order they were written. */
export interface NormalizeInput {
  table: string;
  hints: TableHints;
  files: string[];
}

/** What every way of normalizing a package's item files needs. */
export interface NormalizeFilesOptions {
  inputs: NormalizeInput[];
  /** The schema the package normalizes against: evolved in place. */
  schema: Schema;
  loadId: string;
  /** Where load files go (exists). */
  outDir: string;
  maxIdentifierLength: number;
  maxFileBytes?: number;
  onProgress?: (table: string, items: number) => void;
  log?: Logger;
}

/** Load files written, counters, and the schema changes made. */
export interface NormalizeFilesResult {
  index: LoadFileIndex;
  stats: NormalizeStats;
  schemaChanges: SchemaChange[];
}
