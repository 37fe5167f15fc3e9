import type {
  ColumnHint,
  MergeStrategy,
  SchemaContractSetting,
  TableFormat,
  TableStorage,
  WriteDispositionName,
} from "../schema/types.js";

/**
 * Table-level hints a resource declares for its root table, carried in the package manifest from extract to
 * normalize (which shapes the schema by them) and on to load.
 *
 * @example
 * const hints: TableHints = { resource: "issues", writeDisposition: "merge", primaryKey: ["id"] };
 */
export interface TableHints {
  resource: string;
  writeDisposition: WriteDispositionName;
  mergeStrategy?: MergeStrategy;
  primaryKey?: string[];
  mergeKey?: string[];
  columns?: Record<string, ColumnHint>;
  schemaContract?: SchemaContractSetting;
  maxTableNesting?: number;
  /** `delta`: the destination stores the table (and its child tables) as a Delta table. */
  tableFormat?: TableFormat;
  storage?: TableStorage;
}
