/**
 * Checks shared by the typed CSV tests: what kind of `_ferry_id` rows got (bulk or record), and whether a bulk load
 * and a record load of the same data agree on columns, schema and values. Scratch pipelines and dirs are removed by
 * `removeScratch` (call it from the test file's `after`).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pipeline } from "../../src/index.js";
import { type TempPipeline, tempPipeline } from "./tmp-pipeline.js";

/** Bulk rows get ids of a 12-character prefix, `_` and a row number; record rows get 14-character base62 ids. */
export const BULK_ID = "bulk";
export const RECORD_ID = "record";
const BULK_ID_SHAPE = "[0-9A-Za-z]{12}_[0-9]+";
export const RECORD_ID_SHAPE = "[0-9A-Za-z]{14}";
/** DuckDB SQL naming the kind of a row's `_ferry_id` (the id itself when it has neither shape). */
export const ID_KIND = `CASE WHEN regexp_full_match(_ferry_id, '${BULK_ID_SHAPE}') THEN '${BULK_ID}' WHEN regexp_full_match(_ferry_id, '${RECORD_ID_SHAPE}') THEN '${RECORD_ID}' ELSE _ferry_id END`;

/** A quoted SQL identifier. */
export const qi = (name: string) => `"${name.replaceAll('"', '""')}"`;

const temps: TempPipeline[] = [];
/** A DuckDB pipeline in its own temp dir, removed after the file. */
export function duck(name: string): TempPipeline {
  const t = tempPipeline(name);
  temps.push(t);
  return t;
}
const dirs: string[] = [];
/** A temp dir removed after the file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ferry-tcsv-"));
  dirs.push(dir);
  return dir;
}
/** Removes every pipeline and dir made by `duck` and `tempDir`. */
export function removeScratch(): void {
  for (const t of temps.splice(0)) t.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The kinds of `_ferry_id` in `table` (bulk, record), each once. */
export async function idKinds(p: Pipeline, table: string): Promise<string[]> {
  const rows = await p.dataset().sql(`SELECT DISTINCT ${ID_KIND} AS k FROM ${qi(table)} ORDER BY k`);
  return rows.map((r) => String(r.k));
}

/** Whether no two rows of `table` share a `_ferry_id`. */
export async function idsUnique(p: Pipeline, table: string): Promise<boolean> {
  const [row] = await p.dataset().sql(`SELECT count(DISTINCT _ferry_id) = count(*) AS ok FROM ${qi(table)}`);
  return row?.ok === true;
}

/** Every column but `_ferry_id` and `_ferry_load_id` as text (exact: microseconds, decimals, NaN), in row order. */
export function valuesOf(p: Pipeline, table: string, orderBy = "id"): Promise<Record<string, unknown>[]> {
  return p
    .dataset()
    .sql(
      `SELECT COLUMNS(c -> c NOT IN ('_ferry_id', '_ferry_load_id'))::VARCHAR FROM ${qi(table)} ORDER BY ${qi(orderBy)}`,
    );
}

/** `[name, type, nullable]` of a table's columns in order. */
export async function columnList(p: Pipeline, table: string): Promise<string[][]> {
  const rows = await p
    .dataset()
    .sql(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
      [p.datasetName, table],
    );
  return rows.map((r) => [String(r.column_name), String(r.data_type), String(r.is_nullable)]);
}

/** Tables of the pipeline's dataset other than ferry's own. */
export async function dataTables(p: Pipeline): Promise<string[]> {
  const rows = await p
    .dataset()
    .sql(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name NOT LIKE '\\_ferry%' ESCAPE '\\' ORDER BY table_name",
      [p.datasetName],
    );
  return rows.map((r) => String(r.table_name));
}

/** The bulk run and the record run of one table agree on columns, ferry's schema and every value. */
export async function assertSameLoad(bulk: Pipeline, records: Pipeline, table: string, orderBy = "id") {
  assert.deepEqual(await columnList(bulk, table), await columnList(records, table), `columns of ${table}`);
  assert.deepEqual(bulk.schema?.tables[table], records.schema?.tables[table], `schema of ${table}`);
  assert.deepEqual(
    await valuesOf(bulk, table, orderBy),
    await valuesOf(records, table, orderBy),
    `values of ${table}`,
  );
}
