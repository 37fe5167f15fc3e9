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

export function selectExpr(c: PgColumn): string {
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
