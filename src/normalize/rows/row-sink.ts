/** A normalized row: column name -> value already coerced to the column's type. */
export type Row = Record<string, unknown>;

/** Where the normalizer sends rows (the load-file writer, or an array in tests). */
export interface RowSink {
  /** Returns a promise only when the caller must wait (backpressure). */
  write(table: string, row: Row): Promise<void> | undefined;
}
