import type { LoadFileIndex } from "../../package/load-files.js";
import type { TableHints } from "../../package/table-hints.js";
import type { SchemaChange } from "../../schema/schema.js";
import type { StoredSchema } from "../../schema/types.js";
import type { NormalizeStats } from "../rows/relational.js";

/** One extracted file to normalize; `index` orders the package's files (merge "latest wins" follows it). */
export interface NormalizeUnit {
  index: number;
  table: string;
  hints: TableHints;
  file: string;
}

export type ToWorker =
  | {
      type: "init";
      baseSchema: StoredSchema;
      /** Every root table of the package with its hints: all workers shape their schema alike. */
      tables: { table: string; hints: TableHints }[];
      loadId: string;
      maxIdentifierLength: number;
      outDir: string;
      prefix: string;
      maxFileBytes?: number;
    }
  | { type: "unit"; unit: NormalizeUnit }
  | { type: "finish" };

export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
  fields?: Record<string, unknown>;
}

export type FromWorker =
  | { type: "ready" }
  | { type: "unit-done"; index: number; table: string; items: number }
  | {
      type: "result";
      schema: StoredSchema;
      changes: SchemaChange[];
      index: LoadFileIndex;
      stats: NormalizeStats;
    }
  | { type: "error"; error: SerializedError };
