import type { Column } from "../../schema/types.js";
import { duckdbColumnType, duckdbDialect } from "./duckdb-dialect.js";

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
