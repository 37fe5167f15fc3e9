import { ConfigError } from "../../../util/errors.js";
import { describeLocation, type SqlLocation, type SqlTableInfo } from "../engine.js";
import { type MysqlColumn, mysqlType } from "./mysql-types.js";

/** Runs one query and returns its rows as objects (the engine's promise wrapper). */
export type MysqlQuery = (sql: string, values: unknown[]) => Promise<Record<string, unknown>[]>;

const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v ?? ""));
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/**
 * Reads tables (and views), columns, types, nullability and primary keys of one database from
 * information_schema. MariaDB's JSON columns (longtext with a `json_valid()` check) are recognised as json.
 *
 * @example
 * const tables = await reflectMysql(query, where, { schema: "shop", includeViews: false });
 */
export async function reflectMysql(
  query: MysqlQuery,
  where: SqlLocation,
  options: { schema: string; includeViews: boolean; tables?: string[] },
): Promise<SqlTableInfo[]> {
  const schema = options.schema;
  const exists = await query("SELECT 1 AS x FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [
    schema,
  ]);
  if (exists.length === 0) {
    const all = await query(
      "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY 1",
      [],
    );
    throw new ConfigError(`database (schema) "${schema}" does not exist in ${describeLocation(where)}`, {
      fields: { schema, database: where.database },
      hint: `check the schema name (case-sensitive); databases there: ${all.map((r) => str(r.name)).join(", ")}`,
    });
  }
  const tableRows = await query(
    "SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
    [schema],
  );
  const wanted = options.tables ? new Set(options.tables) : undefined;
  const tables = new Map<string, SqlTableInfo>();
  for (const r of tableRows) {
    const name = str(r.name);
    const isView = str(r.type) === "VIEW";
    if (isView && !options.includeViews) continue;
    if (wanted && !wanted.has(name)) continue;
    tables.set(name, { schema, name, isView, primaryKey: [], columns: [] });
  }
  const jsonChecks = await jsonCheckedColumns(query, schema);
  const columns = await query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type,
       IS_NULLABLE AS nullable, NUMERIC_PRECISION AS p, NUMERIC_SCALE AS s
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [schema],
  );
  for (const r of columns) {
    const table = tables.get(str(r.t));
    if (!table) continue;
    const name = str(r.c);
    const mapped = mysqlType({
      dataType: str(r.data_type),
      columnType: str(r.column_type),
      precision: num(r.p),
      scale: num(r.s),
      jsonCheck: jsonChecks.has(`${table.name}\u0000${name}`),
    });
    const column: MysqlColumn = {
      name,
      nativeType: str(r.column_type),
      nullable: str(r.nullable) === "YES",
      ...mapped,
    };
    table.columns.push(column);
  }
  const keys = await query(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX`,
    [schema],
  );
  for (const r of keys) {
    const table = tables.get(str(r.t));
    if (table && !table.isView) table.primaryKey.push(str(r.c));
  }
  return [...tables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `table\0column` of MariaDB columns with a `json_valid(column)` check (MySQL has a real JSON type instead). */
async function jsonCheckedColumns(query: MysqlQuery, schema: string): Promise<Set<string>> {
  let rows: Record<string, unknown>[];
  try {
    rows = await query(
      "SELECT TABLE_NAME AS t, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?",
      [schema],
    );
  } catch {
    return new Set(); // MySQL: CHECK_CONSTRAINTS has no TABLE_NAME, and JSON is its own type there
  }
  const out = new Set<string>();
  for (const r of rows) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(str(r.clause).trim());
    if (match?.[1]) out.add(`${str(r.t)}\u0000${match[1].replaceAll("``", "`")}`);
  }
  return out;
}
