import type mysql from "mysql2";
import { recordKey, type SqlReadOptions, type SqlTableInfo } from "../engine.js";
import { cursorText, sqlTimestampToIso, toInt8 } from "../values.js";
import type { MysqlColumn, MysqlKind } from "./mysql-types.js";

/** Quotes a MySQL identifier: ``a`b`` -> ```a``b``` (backticks doubled). */
export function quoteMysql(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

type Convert = (v: unknown) => unknown;

const asText = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v));

/** From what mysql2 returns with MYSQL_VALUE_OPTIONS (numbers, strings, Buffers) to ferry's values. */
const CONVERTERS: Record<MysqlKind, Convert> = {
  text: asText,
  int: (v) => (typeof v === "number" ? v : Number(v)),
  int8: (v) => (typeof v === "number" ? v : toInt8(String(v))),
  float: (v) => (typeof v === "number" ? v : Number(v)),
  // tinyint(1) arrives as a number, bit(1) as a one-byte buffer.
  bool: (v) => (Buffer.isBuffer(v) ? v.some((b) => b !== 0) : Number(v) !== 0),
  json: (v) => JSON.parse(asText(v)),
  binary: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v))),
  timestamp: (v) => sqlTimestampToIso(asText(v), false),
  timestamptz: (v) => sqlTimestampToIso(asText(v), false),
  bits: (v) => {
    if (!Buffer.isBuffer(v)) return Number(v);
    let n = 0n;
    for (const b of v) n = (n << 8n) | BigInt(b);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  },
};

function selectExpr(c: MysqlColumn): string {
  const q = quoteMysql(c.name);
  if (c.select === "wkt") return `ST_AsText(${q})`;
  if (c.select === "text") return `CAST(${q} AS CHAR)`;
  return q;
}

/** The SELECT for a table with `?` placeholders for the cursor bounds, and their values. */
export function selectSql(table: SqlTableInfo, options: SqlReadOptions): { sql: string; values: string[] } {
  const cols = table.columns as MysqlColumn[];
  let sql = `SELECT ${cols.map(selectExpr).join(", ")} FROM ${quoteMysql(table.schema)}.${quoteMysql(table.name)}`;
  const values: string[] = [];
  const cursor = options.cursor;
  if (cursor) {
    const col = cursor.column as MysqlColumn;
    const kind = col.kind === "bits" ? "text" : col.kind;
    const q = quoteMysql(col.name);
    const conds: string[] = [];
    if (cursor.start !== undefined) {
      conds.push(`${q} >= ?`);
      values.push(cursorText(cursor.start, kind));
    }
    if (cursor.end !== undefined) {
      conds.push(`${q} < ?`);
      values.push(cursorText(cursor.end, kind));
    }
    if (conds.length > 0) {
      const range = conds.join(" AND ");
      sql += cursor.includeNulls ? ` WHERE (${range}) OR ${q} IS NULL` : ` WHERE ${range}`;
    } else if (!cursor.includeNulls) sql += ` WHERE ${q} IS NOT NULL`;
    sql += ` ORDER BY ${q}`;
  }
  return { sql, values };
}

/**
 * Streams a table with a streaming mysql2 query (rows as arrays) and yields pages of `chunkSize` records. The
 * stream pauses the connection while pages are processed, so memory stays bounded.
 */
export async function* readMysqlPages(
  conn: mysql.Connection,
  table: SqlTableInfo,
  options: SqlReadOptions,
): AsyncGenerator<Record<string, unknown>[]> {
  const cols = table.columns as MysqlColumn[];
  const keys = cols.map((c) => recordKey(c.name));
  const convert = cols.map((c) => CONVERTERS[c.kind]);
  const { sql, values } = selectSql(table, options);
  const stream = conn.query({ sql, values, rowsAsArray: true }).stream({ highWaterMark: 1000 });
  let page: Record<string, unknown>[] = [];
  try {
    for await (const raw of stream as AsyncIterable<unknown[]>) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const v = raw[i];
        row[keys[i] as string] = v === null || v === undefined ? null : (convert[i] as Convert)(v);
      }
      page.push(row);
      if (page.length >= options.chunkSize) {
        yield page;
        page = [];
      }
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  if (page.length > 0) yield page;
}
