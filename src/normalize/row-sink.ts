/** A normalized row: column name -> value already coerced to the column's type. */
export type Row = Record<string, unknown>;

/** Where the normalizer sends rows (the load-file writer, or an array in tests). */
export interface RowSink {
  write(table: string, row: Row): void | Promise<void>;
}
