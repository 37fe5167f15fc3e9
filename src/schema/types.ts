/** The portable data types of ferry. Destinations map them to their own column types. */
export const DATA_TYPES = [
  "text",
  "bigint",
  "double",
  "bool",
  "timestamp",
  "date",
  "time",
  "decimal",
  "json",
  "binary",
] as const;
export type DataType = (typeof DATA_TYPES)[number];

export type WriteDispositionName = "append" | "replace" | "merge";

/**
 * How a table is stored: `native` is the destination's own way (SQL tables, plain files); `delta` is a Delta Lake
 * table on a file destination (dlt's `table_format` hint).
 */
export const TABLE_FORMATS = ["native", "delta"] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];
export type MergeStrategy = "delete-insert" | "upsert";
export type WriteDisposition =
  | WriteDispositionName
  | { disposition: "merge"; strategy?: MergeStrategy }
  | { disposition: "append" | "replace" };

/** Column hints a resource can give (`columns: { amount: { type: "decimal", precision: 18, scale: 2 } }`). */
export interface ColumnHint {
  type?: DataType;
  nullable?: boolean;
  precision?: number;
  scale?: number;
  primaryKey?: boolean;
  mergeKey?: boolean;
  /** Rows whose value in this column is true (or, for non-bool columns, not null) are deleted on merge. */
  hardDelete?: boolean;
  /** On merge, duplicates by primary key keep the row with the highest ("desc") or lowest ("asc") value. */
  dedupSort?: "asc" | "desc";
}

export interface Column extends ColumnHint {
  name: string;
  type: DataType;
  /** The source key path this column was created from, when it differs from `name` (see naming conflicts). */
  origin?: string;
  /** For variant columns: the column whose values did not fit. */
  variantOf?: string;
}

export type ContractMode = "evolve" | "freeze" | "discard_row" | "discard_value";
export interface SchemaContract {
  tables?: ContractMode;
  columns?: ContractMode;
  data_type?: ContractMode;
}
export type SchemaContractSetting = ContractMode | SchemaContract;

/**
 * How a table's rows are laid out, for destinations whose tables are sorted, partitioned and deduplicated by key
 * (ClickHouse's MergeTree family); others ignore it. Applied when the table is created. Columns are named as
 * normalized (snake_case), and key columns must never be NULL (declare them `nullable: false`).
 *
 * @example
 * // PostHog's events: by month of `timestamp`; retried duplicates of one uuid collapse, the latest ingested kept.
 * const storage: TableStorage = {
 *   partitionBy: { column: "timestamp", by: "month" },
 *   sortBy: [{ column: "timestamp", transform: "date" }, "event", { column: "uuid", transform: "hash" }],
 *   deduplicate: { version: "created_at" },
 * };
 */
export interface TableStorage {
  /** Partitions by a date or timestamp column's month (or day, or year). */
  partitionBy?: { column: string; by: "day" | "month" | "year" };
  /** The sort key, in order: a column, the date of a timestamp column, or a 64-bit hash of a column. */
  sortBy?: Array<string | { column: string; transform: "date" | "hash" }>;
  /**
   * Rows with equal sort keys are one row: the one with the greatest `version` (a bigint, date or timestamp
   * column) is kept as the engine merges in the background, so reads that must not see duplicates yet use FINAL.
   */
  deduplicate?: { version: string };
}

export interface Table {
  name: string;
  /** Child tables name their parent table. */
  parent?: string;
  /** The resource that produced the table (root tables). */
  resource?: string;
  writeDisposition?: WriteDispositionName;
  mergeStrategy?: MergeStrategy;
  /** Set on root tables a resource asked to store as Delta tables (child tables follow their root). */
  tableFormat?: Exclude<TableFormat, "native">;
  schemaContract?: SchemaContract;
  /** Sort key, partitions and deduplication, for destinations that lay tables out by them (root tables). */
  storage?: TableStorage;
  /** Columns in creation order. */
  columns: Record<string, Column>;
}

export interface StoredSchema {
  name: string;
  version: number;
  versionHash: string;
  engineVersion: number;
  tables: Record<string, Table>;
}

export const SYSTEM_COLUMNS = {
  id: "_ferry_id",
  loadId: "_ferry_load_id",
  parentId: "_ferry_parent_id",
  listIdx: "_ferry_list_idx",
  rootId: "_ferry_root_id",
} as const;

export const SYSTEM_TABLES = {
  loads: "_ferry_loads",
  version: "_ferry_version",
  state: "_ferry_pipeline_state",
} as const;

export const ENGINE_VERSION = 1;

/** Resolves the union accepted by the `writeDisposition` option. */
export function resolveWriteDisposition(wd: WriteDisposition | undefined): {
  disposition: WriteDispositionName;
  strategy?: MergeStrategy;
} {
  if (wd === undefined) return { disposition: "append" };
  if (typeof wd === "string")
    return wd === "merge" ? { disposition: wd, strategy: "delete-insert" } : { disposition: wd };
  if (wd.disposition === "merge") return { disposition: "merge", strategy: wd.strategy ?? "delete-insert" };
  return { disposition: wd.disposition };
}
