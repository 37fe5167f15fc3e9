import type { Column } from "../../schema/types.js";
import { duckdbDialect } from "../duckdb/duckdb-dialect.js";
import { loadFileSelectExpr, readLoadFilesSql } from "../duckdb/load-file-sql.js";
import type { SqlConnection } from "../sql/sql-connection.js";
import type { FileFormat } from "./options.js";

const q = duckdbDialect.quoteIdent;
const ISO = "'%Y-%m-%dT%H:%M:%S.%fZ'";

/**
 * How each column is written in JSONL and CSV files, so that they read back exactly with the same read_json
 * column spec the loader uses for load files: timestamps as ISO 8601 in UTC (`2024-01-02T03:04:05.123456Z`),
 * decimals as exact strings (JSONL), binary as base64, non-finite doubles as strings (JSON has no NaN).
 */
function textExpr(c: Column, format: "jsonl" | "csv"): string {
  const n = q(c.name);
  switch (c.type) {
    case "timestamp":
      return `strftime(${n}, ${ISO}) AS ${n}`;
    case "decimal":
      return format === "jsonl" ? `CAST(${n} AS VARCHAR) AS ${n}` : n;
    case "double":
      return format === "jsonl"
        ? `CASE WHEN isfinite(${n}) THEN to_json(${n}) ELSE to_json(CAST(${n} AS VARCHAR)) END AS ${n}`
        : n;
    default:
      // Binary stays the base64 text of the load file.
      return n;
  }
}

function copyOptions(format: FileFormat, compression: string): string {
  switch (format) {
    case "parquet":
      // Row groups of 50k rows (DuckDB's default is 122880) keep the writer's buffers, and so memory, small.
      return `FORMAT parquet, COMPRESSION ${compression === "none" ? "uncompressed" : compression}, ROW_GROUP_SIZE 50000`;
    case "jsonl":
      return `FORMAT json${compression === "gzip" ? ", COMPRESSION gzip" : ""}`;
    case "csv":
      return `FORMAT csv, HEADER true${compression === "gzip" ? ", COMPRESSION gzip" : ""}`;
  }
}

/** What `convertLoadFile` writes. */
export interface ConvertRequest {
  /** The typed JSONL load file. */
  source: string;
  /** Upper bound of its longest line, when known. */
  maxLineBytes: number | undefined;
  /** The table's columns, in order: every column is written (NULL where the load file has no value). */
  columns: readonly Column[];
  format: FileFormat;
  compression: string;
  /** Local file to write. */
  target: string;
}

/**
 * Converts one load file into a Parquet, JSONL or CSV file with DuckDB, keeping each column's type: Parquet gets
 * logical types (TIMESTAMP with isAdjustedToUTC and microseconds, DECIMAL(p,s), DATE, TIME, BOOLEAN, BLOB for
 * binary, JSON strings). Returns the number of rows written.
 *
 * @example
 * const rows = await convertLoadFile(conn, { source: job.path, maxLineBytes: job.maxLineBytes, columns,
 *   format: "parquet", compression: "snappy", target: "/tmp/x.parquet" });
 */
export async function convertLoadFile(conn: SqlConnection, r: ConvertRequest): Promise<number> {
  const select = r.columns
    .map((c) => (r.format === "parquet" ? loadFileSelectExpr(c) : textExpr(c, r.format)))
    .join(", ");
  const sql =
    `COPY (SELECT ${select} FROM ${readLoadFilesSql(r.source, r.columns, r.maxLineBytes)}) ` +
    `TO ${duckdbDialect.quoteLiteral(r.target)} (${copyOptions(r.format, r.compression)})`;
  const rows = await conn.query(sql);
  return Number(rows[0]?.Count ?? 0);
}

/**
 * An upper bound of the longest line of a JSONL or CSV file written from a load file whose longest line is
 * `maxLineBytes`: values grow at most twice (ISO timestamps, escaped text), and every absent column adds its name
 * and a null. Readers size their buffers by it.
 *
 * @example
 * outputLineBound(1000, columns) // 2000 + the columns' names and nulls
 */
export function outputLineBound(
  maxLineBytes: number | undefined,
  columns: readonly Column[],
): number | undefined {
  if (maxLineBytes === undefined) return undefined;
  return 2 * maxLineBytes + columns.reduce((n, c) => n + Buffer.byteLength(c.name) * 2 + 16, 0) + 1024;
}
