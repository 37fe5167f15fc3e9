import type { DataType } from "../../schema/types.js";

/**
 * One reflected column of a source table.
 *
 * @example
 * { name: "amount", nativeType: "numeric(12,2)", type: "decimal", precision: 12, scale: 2, nullable: true,
 *   known: true }
 */
export interface SqlColumn {
  /** The source's own column name (`"Unit Price"`). */
  name: string;
  /** The engine's own spelling of the type (`timestamp with time zone`, `tinyint(1)`), for messages. */
  nativeType: string;
  /** The ferry type the values load as. */
  type: DataType;
  precision?: number;
  scale?: number;
  nullable: boolean;
  /** False when ferry does not know the native type: the values load as text and the run warns. */
  known: boolean;
}

/**
 * One reflected table or view.
 *
 * @example
 * { schema: "public", name: "Order Items", isView: false, primaryKey: ["id"], columns: [...] }
 */
export interface SqlTableInfo {
  schema: string;
  name: string;
  isView: boolean;
  /** Primary key columns in key order (empty when the table has none, and for views). */
  primaryKey: string[];
  columns: SqlColumn[];
}

/** An incremental read: rows whose cursor is at or after `start` (and before `end`), ordered by the cursor. */
export interface SqlCursorRange {
  column: SqlColumn;
  /** Inclusive lower bound in ferry's form (ISO string, number, bigint...); none on a first run. */
  start?: unknown;
  /** Exclusive upper bound. */
  end?: unknown;
  /** Whether rows whose cursor is NULL are read (ferry's tracker then decides what to do with them). */
  includeNulls: boolean;
}

export interface SqlReadOptions {
  /** Rows per yielded page. */
  chunkSize: number;
  cursor?: SqlCursorRange;
}

/**
 * What the SQL source needs from a database engine: reflect tables, stream the rows of one table in pages, close.
 * Implementations live in `postgres/` and `mysql/`; `connectEngine(url)` picks one by URL scheme.
 *
 * @example
 * const engine = await connectEngine("postgres://u:p@127.0.0.1:5432/shop");
 * try {
 *   const [orders] = await engine.reflect({ schema: "public", includeViews: false });
 *   for await (const page of engine.readPages(orders!, { chunkSize: 10_000 })) {
 *     console.log(page.length);
 *   }
 * } finally {
 *   await engine.close();
 * }
 */
export interface SqlEngine {
  /** `host:port`, database and user, for messages (never the password). */
  readonly where: SqlLocation;
  /** The schema used when none is configured (`public`; the URL's database on MySQL). */
  readonly defaultSchema: string;
  /**
   * Every table (and view, when asked) of a schema, or only the named ones, sorted by name. Throws a ConfigError
   * when the schema does not exist.
   */
  reflect(options: { schema: string; includeViews: boolean; tables?: string[] }): Promise<SqlTableInfo[]>;
  /**
   * Streams the rows of a table (as this engine reflected it) as pages of at most `chunkSize` records, never the
   * whole table in memory. Record keys are `recordKey(column.name)`.
   */
  readPages(table: SqlTableInfo, options: SqlReadOptions): AsyncIterable<Record<string, unknown>[]>;
  /**
   * Optional bulk export: writes the whole table (as reflected) as typed CSV (`formats/typed-csv.ts`) without making
   * records, in one or more files (`pathFor(part)`), and returns them with their row counts; undefined when the
   * table holds values typed CSV cannot carry (the caller then reads pages).
   */
  exportTypedCsv?(
    table: SqlTableInfo,
    pathFor: (part: number) => string,
  ): Promise<TypedCsvPart[] | undefined>;
  close(): Promise<void>;
}

/** One file of a bulk export and how many rows it holds. */
export interface TypedCsvPart {
  path: string;
  rows: number;
}

/** Where a source database is, as told in messages. */
export interface SqlLocation {
  engine: string;
  host: string;
  port: number;
  database: string;
  user: string;
}

/**
 * The key a column's values have in yielded records. The source name is kept so ferry's naming applies
 * (`"Unit Price"` loads as `unit_price`), except that `.` would read as a nested path in column hints: it becomes
 * U+2024 (one dot leader), which ferry's naming folds back to `.`, so the loaded column name is the same.
 *
 * @example
 * recordKey("Unit Price") // "Unit Price"
 * recordKey("a.b")        // "a\u2024b"
 */
export function recordKey(column: string): string {
  return column.includes(".") ? column.replaceAll(".", "\u2024") : column;
}

/** Describes a location for messages: `postgres at 127.0.0.1:5432, database "shop", user "ferry"`. */
export function describeLocation(w: SqlLocation): string {
  return `${w.engine} at ${w.host}:${w.port}, database ${JSON.stringify(w.database)}, user ${JSON.stringify(w.user)}`;
}
