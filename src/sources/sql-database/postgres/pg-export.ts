import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { TYPED_CSV_MAX_RECORD_BYTES } from "../../../formats/typed-csv.js";
import type { SqlTableInfo, TypedCsvPart } from "../engine.js";
import { quotePg, selectExpr } from "./pg-read.js";
import type { PgColumn } from "./pg-types.js";

/** Marks a value typed CSV cannot carry: the COPY fails with it, and the table is read row by row instead. */
const OUT_OF_RANGE = "ferry:out-of-range";

/** Tables smaller than this (in 8 kB blocks: 32 MB) are exported by one COPY. */
const MIN_BLOCKS_TO_SPLIT = 4096;

/**
 * A column as typed CSV wants it (see `formats/typed-csv.ts`): binary as base64 without line breaks, timestamps in
 * UTC with `+00`, arrays as JSON. Values the record path keeps as text variants (dates and timestamps outside years
 * 1-9999 or infinite, time 24:00:00, numeric NaN, infinities and digits beyond decimal(38, 9)) make the COPY fail with OUT_OF_RANGE in
 * the message (the cast of the marked text fails), and the table is read record by record.
 */
function csvSelectExpr(c: PgColumn): string {
  const q = quotePg(c.name);
  const fail = `(${q}::text || ' ${OUT_OF_RANGE}')::${c.castType}`;
  switch (c.kind) {
    case "binary":
      return `translate(encode(${q}, 'base64'), E'\\n', '')`;
    case "timestamp":
      return `(CASE WHEN ${outsideYears(q)} THEN ${fail} ELSE ${q} END) AT TIME ZONE 'UTC'`;
    case "timestamptz":
      return `CASE WHEN ${outsideYears(q)} THEN ${fail} ELSE ${q} END`;
    default:
      if (c.type === "decimal" && c.kind === "text") {
        // NaN and infinities (greater than any number in Postgres) and, for numeric without a declared scale,
        // values beyond ferry's decimal(38, 9), which would be rounded: the record path keeps them as text.
        const v = selectExpr(c);
        const unfit =
          c.precision === undefined ? `abs(${v}) >= 1e29 OR ${v} <> round(${v}, 9)` : `abs(${v}) > 1e38`;
        return `CASE WHEN ${unfit} THEN (${v}::text || ' ${OUT_OF_RANGE}')::numeric ELSE ${v} END`;
      }
      if (c.type === "date") return `CASE WHEN ${outsideYears(q)} THEN ${fail} ELSE ${q} END`;
      // 24:00:00 is a Postgres time that the record path keeps as text.
      if (c.type === "time") return `CASE WHEN ${q} = '24:00:00' THEN ${fail} ELSE ${q} END`;
      return selectExpr(c);
  }
}

/** Stored values up to this size are taken as uncompressed, and their text as at most 6 times their size (escapes). */
const SMALL_STORED_BYTES = 1024;

/**
 * A WHERE condition that fails the COPY with OUT_OF_RANGE on a row whose CSV text could exceed what typed CSV
 * carries (`TYPED_CSV_MAX_RECORD_BYTES`): the table is then read record by record, where long values have no
 * limit. Binary counts 4/3 of its bytes (base64); text and json count their text, twice (quotes double in CSV),
 * measured only for values stored in more than 1 kB (the length of small ones is read from their header).
 * Undefined when every column has a bounded size.
 */
function recordSizeGuard(cols: PgColumn[]): string | undefined {
  const sizes: string[] = [];
  for (const c of cols) {
    const q = quotePg(c.name);
    if (c.type === "binary") sizes.push(`coalesce(octet_length(${q}), 0) * 4 / 3`);
    else if (c.type === "text" || c.type === "json")
      sizes.push(
        `coalesce(CASE WHEN pg_column_size(${q}) > ${SMALL_STORED_BYTES} THEN octet_length((${selectExpr(c)})::text) * 2 ` +
          `ELSE pg_column_size(${q}) * 6 END, 0)`,
      );
  }
  if (sizes.length === 0) return undefined;
  const total = `(${sizes.join(" + ")})::bigint`;
  // The row's size is part of the failing cast's text: the cast cannot be folded into a constant at plan time.
  return `(CASE WHEN ${total} > ${TYPED_CSV_MAX_RECORD_BYTES / 2} THEN (${total}::text || ' ${OUT_OF_RANGE}')::bigint ELSE 0 END) = 0`;
}

/** Infinities and years outside 1-9999: the record path keeps such values as text. */
function outsideYears(q: string): string {
  return `(NOT isfinite(${q}) OR ${q} < '0001-01-01' OR ${q} >= '10000-01-01')`;
}

/**
 * How many parts a table is exported in, and where they split (in blocks): a plain table of at least 32 MB on
 * Postgres 14 or later (TID range scans) is split in one part more than there are cores, at most 4 (on 2 cores,
 * 3 parts copied 5M rows in 4.3-5.2 s against 5.1-6.0 s for 2 parts); anything else is one part.
 */
async function splitPoints(client: pg.Client, table: SqlTableInfo): Promise<number[]> {
  const parts = Math.min(4, availableParallelism() + 1);
  if (table.isView) return [];
  const res = await client.query(
    `SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::bigint AS blocks,
       current_setting('server_version_num')::int AS version
     FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [`${quotePg(table.schema)}.${quotePg(table.name)}`],
  );
  const row = res.rows[0] as { relkind: string; blocks: string; version: string } | undefined;
  const blocks = Number(row?.blocks ?? 0);
  if (row?.relkind !== "r" || Number(row.version) < 140000 || blocks < MIN_BLOCKS_TO_SPLIT) return [];
  return Array.from({ length: parts - 1 }, (_, i) => Math.floor(((i + 1) * blocks) / parts));
}

/** One COPY into one file; its row count comes with COPY's completion message. */
async function copyPart(client: pg.Client, select: string, path: string): Promise<TypedCsvPart> {
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv)`));
  await pipeline(stream, createWriteStream(path));
  // A query queued behind the COPY runs once its completion (and row count) has been read.
  await client.query("SELECT 1");
  return { path, rows: stream.rowCount };
}

/**
 * Writes a whole table as typed CSV through `COPY (SELECT ...) TO STDOUT (FORMAT csv)`: the bytes go from the
 * socket to files without becoming records. A big table is split by block ranges and its parts are copied at once
 * over several connections that share one snapshot (`pg_export_snapshot`), so the parts are one consistent read.
 * Returns the files with their row counts, or undefined (files removed) when the table holds a value typed CSV
 * cannot carry.
 */
export async function exportPostgresCsv(
  client: pg.Client,
  openClient: () => Promise<pg.Client>,
  table: SqlTableInfo,
  pathFor: (part: number) => string,
): Promise<TypedCsvPart[] | undefined> {
  const cols = table.columns as PgColumn[];
  const guard = recordSizeGuard(cols);
  const from = `SELECT ${cols.map(csvSelectExpr).join(", ")} FROM ${quotePg(table.schema)}.${quotePg(table.name)}`;
  /** The SELECT of the rows meeting `conditions` (and the size guard). */
  const select = (...conditions: string[]): string => {
    const where = [...(guard ? [guard] : []), ...conditions];
    return where.length > 0 ? `${from} WHERE ${where.join(" AND ")}` : from;
  };
  const splits = await splitPoints(client, table);
  const paths = Array.from({ length: splits.length + 1 }, (_, i) => pathFor(i));
  try {
    if (splits.length === 0) return [await copyPart(client, select(), paths[0] as string)];
    return await copyParts(client, openClient, select, splits, paths);
  } catch (err) {
    await Promise.all(paths.map((p) => rm(p, { force: true })));
    if (String((err as Error)?.message).includes(OUT_OF_RANGE)) return undefined;
    throw err;
  }
}

async function copyParts(
  client: pg.Client,
  openClient: () => Promise<pg.Client>,
  select: (...conditions: string[]) => string,
  splits: number[],
  paths: string[],
): Promise<TypedCsvPart[]> {
  const ranges = [0, ...splits].map((from, i) => {
    const to = splits[i];
    const lower = from > 0 ? `ctid >= '(${from},0)'::tid` : "";
    const upper = to !== undefined ? `ctid < '(${to},0)'::tid` : "";
    return [lower, upper].filter(Boolean).join(" AND ");
  });
  const others: pg.Client[] = [];
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const snap = String((await client.query("SELECT pg_export_snapshot() AS s")).rows[0]?.s);
    if (!/^[0-9A-F-]+$/i.test(snap)) throw new Error(`unexpected snapshot id ${JSON.stringify(snap)}`);
    for (let i = 1; i < ranges.length; i++) {
      const other = await openClient();
      others.push(other);
      await other.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await other.query(`SET TRANSACTION SNAPSHOT '${snap}'`);
    }
    const conns = [client, ...others];
    const parts = await Promise.all(
      ranges.map((where, i) => copyPart(conns[i] as pg.Client, select(where), paths[i] as string)),
    );
    await client.query("COMMIT");
    return parts;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await Promise.all(others.map((o) => o.end().catch(() => undefined)));
  }
}
