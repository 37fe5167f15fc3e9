import type { CsvColumn } from "../formats/typed-csv.js";
import { brand, isKind } from "../util/brand.js";

/**
 * A complete CSV file of flat, typed records that a resource hands over whole, instead of records: ferry moves it
 * into the load package and, when the table's schema already agrees with its columns, the destination reads it as
 * it is (no per-row work in ferry at all). Otherwise ferry parses it into records while normalizing, with the same
 * result as if the resource had yielded them. The file's format is described in `formats/typed-csv.ts`; no record
 * may be longer than `TYPED_CSV_MAX_RECORD_BYTES` (16 MB), so yield rows with longer values as records.
 *
 * Only offered where nothing needs each record at extract: see `ResourceContext.typedCsv`.
 *
 * @example
 * yield new TypedCsvFile(join(ctx.typedCsv!.dir, "orders.csv"), [{ name: "id", type: "bigint" }], 1000);
 */
export class TypedCsvFile {
  /** The file, inside `ResourceContext.typedCsv.dir` (it is moved, not copied). */
  readonly path: string;
  readonly columns: readonly CsvColumn[];
  /** How many records it holds. */
  readonly rows: number;

  constructor(path: string, columns: readonly CsvColumn[], rows: number) {
    this.path = path;
    this.columns = columns;
    this.rows = rows;
  }
}
brand(TypedCsvFile, "typed_csv_file");

/** True for typed CSV files, also those made by another copy of the package. */
export const isTypedCsvFile = (x: unknown): x is TypedCsvFile => isKind(x, "typed_csv_file");

/** Where a resource may write typed CSV files: given only when it may yield them. */
export interface TypedCsvOffer {
  /** A folder for the resource's files, on the load package's disk (a crash discards it with the package). */
  readonly dir: string;
}
