import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { recordKey, type SqlReadOptions, type SqlTableInfo } from "../engine.js";
import { cursorText } from "../values.js";
import { CopyRowParser, LineSplitter } from "./copy-text.js";
import type { PgColumn } from "./pg-types.js";

/** Quotes a Postgres identifier: `Order "Items"` -> `"Order ""Items"""`. */
export function quotePg(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function selectExpr(c: PgColumn): string {
  const q = quotePg(c.name);
  switch (c.select) {
    case "array_json":
      return `array_to_json(${q})`;
    case "numeric":
      return `${q}::numeric`;
    case "text":
      return `${q}::text`;
    default:
      return q;
  }
}

/**
 * The COPY statement for a table. COPY takes no bind parameters, so cursor bounds are bound beforehand with
 * `set_config($1)` and read back with `current_setting()`, cast to the column's type: a value is never spliced
 * into SQL text.
 */
export function copySql(table: SqlTableInfo, options: SqlReadOptions): string {
  const cols = table.columns as PgColumn[];
  let sql = `SELECT ${cols.map(selectExpr).join(", ")} FROM ${quotePg(table.schema)}.${quotePg(table.name)}`;
  const cursor = options.cursor;
  if (cursor) {
    const col = cursor.column as PgColumn;
    const q = quotePg(col.name);
    const conds: string[] = [];
    if (cursor.start !== undefined)
      conds.push(`${q} >= current_setting('ferry.cursor_start')::${col.castType}`);
    if (cursor.end !== undefined) conds.push(`${q} < current_setting('ferry.cursor_end')::${col.castType}`);
    if (conds.length > 0) {
      const range = conds.join(" AND ");
      sql += cursor.includeNulls ? ` WHERE (${range}) OR ${q} IS NULL` : ` WHERE ${range}`;
    } else if (!cursor.includeNulls) sql += ` WHERE ${q} IS NOT NULL`;
    sql += ` ORDER BY ${q}`;
  }
  return `COPY (${sql}) TO STDOUT`;
}

/**
 * Streams a table through `COPY (SELECT ...) TO STDOUT` in text format and yields pages of `chunkSize` records.
 * The socket is read only as fast as pages are consumed (stream backpressure), so memory stays bounded.
 */
export async function* readPostgresPages(
  client: pg.Client,
  table: SqlTableInfo,
  options: SqlReadOptions,
): AsyncGenerator<Record<string, unknown>[]> {
  const cols = table.columns as PgColumn[];
  const cursor = options.cursor;
  if (cursor && (cursor.start !== undefined || cursor.end !== undefined)) {
    const kind = (cursor.column as PgColumn).kind;
    const start = cursor.start === undefined ? "" : cursorText(cursor.start, kind);
    const end = cursor.end === undefined ? "" : cursorText(cursor.end, kind);
    await client.query(
      "SELECT set_config('ferry.cursor_start', $1, false), set_config('ferry.cursor_end', $2, false)",
      [start, end],
    );
  }
  const parser = new CopyRowParser(
    cols.map((c) => recordKey(c.name)),
    cols.map((c) => c.kind),
  );
  const lines = new LineSplitter();
  const stream = client.query(copyTo(copySql(table, options)));
  let page: Record<string, unknown>[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const line of lines.push(chunk)) {
        page.push(parser.parse(line));
        if (page.length >= options.chunkSize) {
          yield page;
          page = [];
        }
      }
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  if (lines.hasRemainder) throw new Error("the COPY stream ended in the middle of a row");
  if (page.length > 0) yield page;
}

/** Marks a value typed CSV cannot carry: the COPY fails with it, and the table is read row by row instead. */
const OUT_OF_RANGE = "ferry:out-of-range";

/**
 * A column as typed CSV wants it (see `formats/typed-csv.ts`): binary as base64 without line breaks, timestamps in
 * UTC with `+00`, arrays as JSON. Values typed CSV cannot carry exactly (dates and timestamps before year 1, dates
 * after 9999, numeric NaN, infinities and digits beyond decimal(38, 9)) make the COPY fail with OUT_OF_RANGE in
 * the message (the cast of the marked text fails), and the table is read record by record.
 */
function csvSelectExpr(c: PgColumn): string {
  const q = quotePg(c.name);
  const fail = `(${q}::text || ' ${OUT_OF_RANGE}')::${c.castType}`;
  switch (c.kind) {
    case "binary":
      return `translate(encode(${q}, 'base64'), E'\\n', '')`;
    case "timestamp":
      return `(CASE WHEN isfinite(${q}) AND ${q} < '0001-01-01' THEN ${fail} ELSE ${q} END) AT TIME ZONE 'UTC'`;
    case "timestamptz":
      return `CASE WHEN isfinite(${q}) AND ${q} < '0001-01-01' THEN ${fail} ELSE ${q} END`;
    default:
      if (c.type === "decimal" && c.kind === "text") {
        // NaN and infinities (greater than any number in Postgres) and, for numeric without a declared scale,
        // values beyond ferry's decimal(38, 9), which would be rounded: the record path keeps them as text.
        const v = selectExpr(c);
        const unfit =
          c.precision === undefined ? `abs(${v}) >= 1e29 OR ${v} <> round(${v}, 9)` : `abs(${v}) > 1e38`;
        return `CASE WHEN ${unfit} THEN (${v}::text || ' ${OUT_OF_RANGE}')::numeric ELSE ${v} END`;
      }
      if (c.type === "date") {
        return `CASE WHEN isfinite(${q}) AND (${q} < '0001-01-01' OR ${q} > '9999-12-31') THEN ${fail} ELSE ${q} END`;
      }
      return selectExpr(c);
  }
}

/**
 * Writes a whole table as typed CSV to `path` through `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: the bytes go from
 * the socket to the file without becoming records. Returns the number of rows, or undefined (the file removed)
 * when the table holds a value typed CSV cannot carry.
 */
export async function exportPostgresCsv(
  client: pg.Client,
  table: SqlTableInfo,
  path: string,
): Promise<number | undefined> {
  const cols = table.columns as PgColumn[];
  const select = `SELECT ${cols.map(csvSelectExpr).join(", ")} FROM ${quotePg(table.schema)}.${quotePg(table.name)}`;
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv)`));
  try {
    await pipeline(stream, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    if (String((err as Error)?.message).includes(OUT_OF_RANGE)) return undefined;
    throw err;
  }
  // The row count arrives with COPY's completion message: a query queued behind it runs once that is read.
  await client.query("SELECT 1");
  return stream.rowCount;
}
