import type { Column } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { duckdbColumnType, duckdbDialect } from "../duckdb/duckdb-dialect.js";
import { loadFileSelectExpr, readJsonObjectSize, readLoadFilesSql } from "../duckdb/load-file-sql.js";
import type { SqlConnection } from "../sql/sql-connection.js";
import type { Catalog, LiveTable } from "./catalog.js";
import { fromFileExpr } from "./delta/delta-schema.js";
import type { FileCache } from "./file-cache.js";
import type { FileFormat } from "./options.js";
import { SYSTEM_DIRS, systemKeys } from "./system-files.js";

const q = duckdbDialect.quoteIdent;
const lit = duckdbDialect.quoteLiteral;
const nullAs = (c: Column) => `CAST(NULL AS ${duckdbColumnType(c)}) AS ${q(c.name)}`;
const list = (paths: string[]) => `[${paths.map(lit).join(", ")}]`;

/** CSV files are read as text and cast to each column's type (binary is base64). */
function csvExpr(c: Column): string {
  if (c.type === "text") return q(c.name);
  if (c.type === "binary") return `from_base64(${q(c.name)}) AS ${q(c.name)}`;
  return `CAST(${q(c.name)} AS ${duckdbColumnType(c)}) AS ${q(c.name)}`;
}

/** One SELECT over the files of one format, projecting every column of the table (NULL where files lack it). */
function selectFiles(
  format: FileFormat,
  columns: Column[],
  present: Set<string>,
  paths: string[],
  maxLine: number,
) {
  if (format === "jsonl") {
    return `SELECT ${columns.map(loadFileSelectExpr).join(", ")} FROM ${readLoadFilesSql(paths, columns, maxLine)}`;
  }
  if (format === "parquet") {
    const exprs = columns.map((c) => (present.has(c.name) ? q(c.name) : nullAs(c)));
    return `SELECT ${exprs.join(", ")} FROM read_parquet(${list(paths)}, union_by_name = true)`;
  }
  const size = readJsonObjectSize(maxLine);
  const exprs = columns.map((c) => (present.has(c.name) ? csvExpr(c) : nullAs(c)));
  return (
    `SELECT ${exprs.join(", ")} FROM read_csv(${list(paths)}, header = true, all_varchar = true, ` +
    `union_by_name = true, allow_quoted_nulls = false, max_line_size = ${size}, buffer_size = ${2 * size})`
  );
}

/** Where a Delta table's current files are (local paths) and which columns they have. */
export type DeltaSource = (table: string) => Promise<{ paths: string[]; present: Set<string> }>;

/** The SELECT behind a Delta table's view: its snapshot's files, columns back in their ferry types. */
async function deltaSql(name: string, table: LiveTable, delta: DeltaSource): Promise<string> {
  const { paths, present } = await delta(name);
  if (paths.length === 0) return `SELECT ${table.columns.map(nullAs).join(", ")} WHERE false`;
  const exprs = table.columns.map((c) => (present.has(c.name) ? fromFileExpr(c) : nullAs(c)));
  return `SELECT ${exprs.join(", ")} FROM read_parquet(${list(paths)}, union_by_name = true)`;
}

/** The SELECT behind a table's view: its current files, grouped by format. */
async function tableSql(table: LiveTable, files: FileCache): Promise<string> {
  const parts: string[] = [];
  for (const format of ["parquet", "jsonl", "csv"] as const) {
    const group = table.files.filter((f) => f.format === format);
    if (group.length === 0) continue;
    const present = new Set(group.flatMap((f) => f.columns));
    const maxLine = Math.max(0, ...group.map((f) => f.max_line_bytes ?? 0));
    const paths = await files.paths(group);
    parts.push(selectFiles(format, table.columns, present, paths, maxLine || 1));
  }
  // A table replaced by an empty load has columns and no files.
  if (parts.length === 0) return `SELECT ${table.columns.map(nullAs).join(", ")} WHERE false`;
  return parts.join(" UNION ALL ");
}

const SYSTEM_COLUMNS = {
  state: {
    version: "BIGINT",
    engine_version: "BIGINT",
    pipeline_name: "VARCHAR",
    state: "JSON",
    created_at: "TIMESTAMPTZ",
    version_hash: "VARCHAR",
    _ferry_load_id: "VARCHAR",
  },
  version: {
    version: "BIGINT",
    engine_version: "BIGINT",
    inserted_at: "TIMESTAMPTZ",
    schema_name: "VARCHAR",
    version_hash: "VARCHAR",
    schema: "JSON",
    load_id: "VARCHAR",
  },
} as const;

/** `_ferry_pipeline_state` / `_ferry_version` over their files, completed loads only (JSON as text, as in SQL). */
async function systemViewSql(
  store: ObjectStore,
  files: FileCache,
  prefix: string,
  columns: Record<string, string>,
  loadIdColumn: string,
  hidden: string[],
  loads: string,
): Promise<string> {
  const listed = (await store.list(prefix)).filter((o) => o.key.endsWith(".json"));
  const names = Object.keys(columns).filter((c) => !hidden.includes(c));
  const exprs = names.map((c) => (columns[c] === "JSON" ? `CAST(${q(c)} AS VARCHAR) AS ${q(c)}` : q(c)));
  if (listed.length === 0) {
    return `SELECT ${names.map((c) => `CAST(NULL AS ${columns[c] === "JSON" ? "VARCHAR" : columns[c]}) AS ${q(c)}`).join(", ")} WHERE false`;
  }
  const paths = await files.paths(listed.map((o) => ({ key: o.key, bytes: o.size })));
  const spec = Object.entries(columns)
    .map(([k, v]) => `${lit(k)}: ${lit(v)}`)
    .join(", ");
  const maxSize = readJsonObjectSize(Math.max(...listed.map((o) => o.size)));
  return (
    `SELECT ${exprs.join(", ")} FROM read_json(${list(paths)}, format = 'auto', columns = {${spec}}, ` +
    `maximum_object_size = ${maxSize}) WHERE ${q(loadIdColumn)} IN (SELECT load_id FROM ${loads})`
  );
}

/**
 * Creates the dataset's schema in an in-memory DuckDB with one view per table over its current files (a Delta
 * table's: those of its newest snapshot), and the system tables `_ferry_loads`, `_ferry_pipeline_state` and `_ferry_version` of completed loads.
 *
 * @example
 * await createDatasetViews(conn, "github", catalog, files, store, deltaSource);
 * await conn.query('SELECT count(*) FROM "github"."issues"');
 */
export async function createDatasetViews(
  conn: SqlConnection,
  dataset: string,
  catalog: Catalog,
  files: FileCache,
  store: ObjectStore,
  delta: DeltaSource,
): Promise<void> {
  const ds = q(dataset);
  await conn.execute(`CREATE SCHEMA IF NOT EXISTS ${ds}`);
  // Views of an earlier read of this client go first (the schema itself may be DuckDB's own `main`).
  for (const r of await conn.query(
    "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = $1 AND table_catalog = current_database()",
    [dataset],
  )) {
    await conn.execute(`DROP ${r.table_type === "VIEW" ? "VIEW" : "TABLE"} ${ds}.${q(String(r.table_name))}`);
  }
  await conn.execute(`SET search_path = ${lit(ds)}`);
  for (const [name, table] of catalog.liveTables()) {
    if (table.columns.length === 0) continue;
    const select =
      table.format === "delta" ? await deltaSql(name, table, delta) : await tableSql(table, files);
    await conn.execute(`CREATE VIEW ${ds}.${q(name)} AS ${select}`);
  }
  if (catalog.markers.length === 0) return;
  await conn.execute(
    `CREATE TABLE ${ds}.${q(SYSTEM_DIRS.loads)} (load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL, schema_version_hash VARCHAR)`,
  );
  for (let i = 0; i < catalog.markers.length; i += 500) {
    const rows = catalog.markers
      .slice(i, i + 500)
      .map(
        (m) =>
          `(${lit(m.load_id)}, ${lit(m.schema_name)}, ${Number(m.status)}, ${lit(m.inserted_at)}, ${lit(m.schema_version_hash)})`,
      );
    await conn.execute(`INSERT INTO ${ds}.${q(SYSTEM_DIRS.loads)} VALUES ${rows.join(", ")}`);
  }
  const keys = systemKeys(dataset);
  const state = await systemViewSql(
    store,
    files,
    keys.dir(SYSTEM_DIRS.state),
    SYSTEM_COLUMNS.state,
    "_ferry_load_id",
    [],
    `${ds}.${q(SYSTEM_DIRS.loads)}`,
  );
  await conn.execute(`CREATE VIEW ${ds}.${q(SYSTEM_DIRS.state)} AS ${state}`);
  const version = await systemViewSql(
    store,
    files,
    keys.dir(SYSTEM_DIRS.version),
    SYSTEM_COLUMNS.version,
    "load_id",
    ["load_id"],
    `${ds}.${q(SYSTEM_DIRS.loads)}`,
  );
  await conn.execute(`CREATE VIEW ${ds}.${q(SYSTEM_DIRS.version)} AS ${version}`);
}
