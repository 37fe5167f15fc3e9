import { TYPED_CSV_MAX_RECORD_BYTES, type TypedCsvLayout } from "../../formats/typed-csv.js";
import type { Column } from "../../schema/types.js";
import { uniqueId } from "../../util/hash.js";
import { duckdbColumnType, duckdbDialect } from "./duckdb-dialect.js";

/**
 * The connection's temporary sequence that numbers typed CSV rows. A row's `_ferry_id` is a random 12-character
 * prefix per statement, `_` and the row's number (`k3X9aB2cD4eF_1841`): unique like a random id, and cheaper to make
 * than a random uuid per row (about 0.5 s less per 5M rows).
 */
export const ROW_ID_SEQUENCE = "ferry_row_ids";

/**
 * read_json's own type for a column of a typed JSONL load file: binary travels as base64 text and is decoded in the
 * SELECT; every other type is read as the column's DuckDB type.
 *
 * @example
 * loadFileReadType({ name: "raw", type: "binary" }) // "VARCHAR"
 */
export function loadFileReadType(c: Column): string {
  return c.type === "binary" ? "VARCHAR" : duckdbColumnType(c);
}

/**
 * read_json allocates buffers of twice its maximum object size: size them by the file's longest line instead of
 * a fixed maximum, so ordinary loads stay small and a 50 MB value still fits.
 *
 * @example
 * readJsonObjectSize(1000) // 16 MB, the floor
 */
export function readJsonObjectSize(maxLineBytes: number | undefined): number {
  const MB = 1024 * 1024;
  return Math.min(Math.max(16 * MB, (maxLineBytes ?? 256 * MB) + MB), 2047 * MB);
}

/** The SELECT expression that turns a read_json column into its column type (base64 binary -> BLOB), named as it. */
export function loadFileSelectExpr(c: Column): string {
  const q = duckdbDialect.quoteIdent(c.name);
  return c.type === "binary" ? `from_base64(${q}) AS ${q}` : q;
}

/**
 * `read_json(...)` of typed JSONL load files (or files written the same way) with an explicit column list: keys
 * missing from a line read as NULL, and a value that does not fit its type fails the read.
 *
 * @example
 * const from = readLoadFilesSql(["/p/items.0000.jsonl"], columns, job.maxLineBytes);
 * `SELECT ${columns.map(loadFileSelectExpr).join(", ")} FROM ${from}`
 */
export function readLoadFilesSql(
  paths: string | readonly string[],
  columns: readonly Column[],
  maxLineBytes: number | undefined,
): string {
  const lit = duckdbDialect.quoteLiteral;
  const files = typeof paths === "string" ? lit(paths) : `[${paths.map(lit).join(", ")}]`;
  const spec = columns.map((c) => `${lit(c.name)}: ${lit(loadFileReadType(c))}`).join(", ");
  return (
    `read_json(${files}, format = 'newline_delimited', columns = {${spec}}, ` +
    `maximum_object_size = ${readJsonObjectSize(maxLineBytes)}, ignore_errors = false)`
  );
}

/**
 * The longest record a typed CSV load file may hold (DuckDB's default is 2 MB, and a jsonb document can be longer).
 * Its read buffers are this size too (by default they are 16 times the line size, which a 160 MB memory limit
 * cannot hold); measured on 5M rows, this is as fast as the defaults.
 */
const CSV_MAX_LINE_BYTES = TYPED_CSV_MAX_RECORD_BYTES;

/**
 * The INSERT of typed CSV load files sharing one layout: DuckDB's parallel CSV reader with each column's own type
 * (binary as base64 text, json minified and checked by `json()`), the layout's constants as literals and a fresh
 * random id per row for its unique-id columns.
 *
 * @example
 * insertTypedCsvSql(["/p/orders.csv0.csv"], layout, tableColumns, '"ds"."orders"')
 */
export function insertTypedCsvSql(
  paths: readonly string[],
  layout: TypedCsvLayout,
  columns: readonly Column[],
  target: string,
): string {
  const lit = duckdbDialect.quoteLiteral;
  const q = duckdbDialect.quoteIdent;
  const fileColumns = layout.columns.map((name) => {
    const c = columns.find((col) => col.name === name);
    if (!c) throw new Error(`typed CSV column "${name}" is not a column of ${target}`);
    return c;
  });
  const spec = fileColumns.map((c, i) => `${lit(`c${i}`)}: ${lit(csvReadType(c))}`).join(", ");
  const values = [
    ...fileColumns.map((c, i) => csvSelectExpr(c, `c${i}`)),
    ...Object.values(layout.constants).map(lit),
    ...layout.uniqueIds.map(() => `${lit(`${uniqueId(12)}_`)} || nextval(${lit(ROW_ID_SEQUENCE)})::VARCHAR`),
  ];
  const names = [...layout.columns, ...Object.keys(layout.constants), ...layout.uniqueIds];
  return (
    `INSERT INTO ${target} (${names.map(q).join(", ")}) SELECT ${values.join(", ")} ` +
    `FROM read_csv([${paths.map(lit).join(", ")}], header = false, auto_detect = false, delim = ',', ` +
    `new_line = '\\n', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, ` +
    `max_line_size = ${CSV_MAX_LINE_BYTES}, buffer_size = ${CSV_MAX_LINE_BYTES}, columns = {${spec}})`
  );
}

/**
 * Read as text and converted in the SELECT: binary (base64), json (checked by json()), and timestamps, which
 * read_csv turns into NULL without an error when it cannot parse them as TIMESTAMPTZ (duckdb/duckdb#24820) where a
 * CAST fails as it should.
 */
const CSV_AS_TEXT: ReadonlySet<string> = new Set(["binary", "json", "timestamp"]);

function csvReadType(c: Column): string {
  return CSV_AS_TEXT.has(c.type) ? "VARCHAR" : duckdbColumnType(c);
}

function csvSelectExpr(c: Column, field: string): string {
  const f = duckdbDialect.quoteIdent(field);
  if (c.type === "binary") return `from_base64(${f})`;
  if (c.type === "json") return `json(${f})`;
  if (c.type === "timestamp") return `CAST(${f} AS ${duckdbColumnType(c)})`;
  return f;
}
