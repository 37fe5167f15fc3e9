import type { Column } from "../../../schema/types.js";
import { duckdbDialect } from "../../duckdb/duckdb-dialect.js";
import type { SqlConnection } from "../../sql/sql-connection.js";

const q = duckdbDialect.quoteIdent;
/** String bounds longer than this are cut (min) or left out (max), as Delta writers do with long text. */
const STRING_PREFIX = 32;

/** How a column's bounds are computed and written: as a JSON number, a string, or not at all. */
function boundKind(c: Column): "number" | "double" | "string" | "date" | "timestamp" | undefined {
  switch (c.type) {
    case "bigint":
    case "decimal":
      return "number";
    case "double":
      return "double";
    case "text":
    case "time":
      return "string";
    case "date":
      return "date";
    case "timestamp":
      return "timestamp";
    default:
      // bool, binary and json: only null counts (Delta writers keep no useful bounds for them).
      return undefined;
  }
}

function boundExprs(c: Column, i: number): string[] {
  const n = q(c.name);
  switch (boundKind(c)) {
    case "number":
      return [`CAST(min(${n}) AS VARCHAR) AS lo${i}`, `CAST(max(${n}) AS VARCHAR) AS hi${i}`];
    case "double":
      // JSON has no NaN or infinity: a file holding one gets no bounds for the column.
      return [
        `CASE WHEN bool_and(isfinite(${n})) THEN CAST(min(${n}) AS VARCHAR) END AS lo${i}`,
        `CASE WHEN bool_and(isfinite(${n})) THEN CAST(max(${n}) AS VARCHAR) END AS hi${i}`,
      ];
    case "string":
      return [`min(${n}) AS lo${i}`, `max(${n}) AS hi${i}`];
    case "date":
      return [`strftime(min(${n}), '%Y-%m-%d') AS lo${i}`, `strftime(max(${n}), '%Y-%m-%d') AS hi${i}`];
    case "timestamp":
      // Milliseconds, truncated (the protocol's rule for timestamp statistics).
      return [
        `strftime(min(${n}), '%Y-%m-%dT%H:%M:%S.%gZ') AS lo${i}`,
        `strftime(max(${n}), '%Y-%m-%dT%H:%M:%S.%gZ') AS hi${i}`,
      ];
    default:
      return [];
  }
}

/** A bound as JSON text, or undefined to leave it out. */
function boundJson(c: Column, v: unknown, side: "lo" | "hi"): string | undefined {
  if (v === null || v === undefined) return undefined;
  const kind = boundKind(c);
  const s = String(v);
  if (kind === "number" || kind === "double") return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s) ? s : undefined;
  if (kind === "string" && [...s].length > STRING_PREFIX) {
    // A prefix is still a lower bound; a cut maximum would not be an upper one.
    return side === "lo" ? JSON.stringify([...s].slice(0, STRING_PREFIX).join("")) : undefined;
  }
  return JSON.stringify(s);
}

/**
 * Per-file statistics of a Parquet data file (the protocol's "Per-file Statistics"): `numRecords`, `nullCount` of
 * every column, and `minValues`/`maxValues` where they are exact and JSON can hold them (numbers with all their
 * digits, dates, timestamps in milliseconds, text up to 32 characters). Readers skip files by them; ferry's merge
 * uses them to find the files that may hold a key. Returns the JSON text of the `stats` field and the row count.
 *
 * @example
 * const { stats, rows } = await fileStats(conn, "/tmp/part-1.parquet", columns);
 */
export async function fileStats(
  conn: SqlConnection,
  path: string,
  columns: readonly Column[],
): Promise<{ stats: string; rows: number }> {
  const exprs = ["count(*) AS n"];
  columns.forEach((c, i) => {
    exprs.push(`count(${q(c.name)}) AS nn${i}`, ...boundExprs(c, i));
  });
  const [row] = await conn.query(
    `SELECT ${exprs.join(", ")} FROM read_parquet(${duckdbDialect.quoteLiteral(path)})`,
  );
  const rows = Number(row?.n ?? 0);
  const lo: string[] = [];
  const hi: string[] = [];
  const nulls: string[] = [];
  columns.forEach((c, i) => {
    const key = JSON.stringify(c.name);
    nulls.push(`${key}:${rows - Number(row?.[`nn${i}`] ?? 0)}`);
    const l = boundJson(c, row?.[`lo${i}`], "lo");
    const h = boundJson(c, row?.[`hi${i}`], "hi");
    if (l !== undefined) lo.push(`${key}:${l}`);
    if (h !== undefined) hi.push(`${key}:${h}`);
  });
  const stats = `{"numRecords":${rows},"minValues":{${lo.join(",")}},"maxValues":{${hi.join(",")}},"nullCount":{${nulls.join(",")}}}`;
  return { stats, rows };
}
