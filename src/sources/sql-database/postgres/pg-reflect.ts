import type pg from "pg";
import { ConfigError } from "../../../util/errors.js";
import { describeLocation, type SqlLocation, type SqlTableInfo } from "../engine.js";
import { type PgColumn, pgType } from "./pg-types.js";

const TABLE_KINDS = ["r", "p", "f"];
const VIEW_KINDS = ["v", "m"];

// Partitions are read through their partitioned parent; domains are typed by their base type.
const COLUMNS_SQL = `
SELECT c.relname AS table_name, c.relkind::text AS relkind, a.attname AS column_name,
  (NOT a.attnotnull)::text AS nullable, format_type(a.atttypid, a.atttypmod) AS native_type,
  coalesce(bt.typname, t.typname) AS typname, coalesce(bt.typtype, t.typtype)::text AS typtype,
  coalesce(bt.typcategory, t.typcategory)::text AS typcategory,
  (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::text AS typmod
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE n.nspname = $1 AND c.relkind::text = ANY($2::text[]) AND NOT c.relispartition
  AND ($3::text[] IS NULL OR c.relname = ANY($3::text[]))
ORDER BY c.relname, a.attnum`;

const PRIMARY_KEYS_SQL = `
SELECT c.relname AS table_name, a.attname AS column_name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname = $1
ORDER BY c.relname, k.ord`;

type Row = Record<string, string>;

/**
 * Reads tables (and views), columns, types, nullability and primary keys of one schema from pg_catalog.
 *
 * @example
 * const tables = await reflectPostgres(client, where, { schema: "public", includeViews: false });
 */
export async function reflectPostgres(
  client: pg.Client,
  where: SqlLocation,
  options: { schema: string; includeViews: boolean; tables?: string[] },
): Promise<SqlTableInfo[]> {
  const exists = await client.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", [
    options.schema,
  ]);
  if (exists.rowCount === 0) {
    const all = await client.query<Row>(
      "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    );
    throw new ConfigError(`schema "${options.schema}" does not exist in ${describeLocation(where)}`, {
      fields: { schema: options.schema, database: where.database },
      hint: `check the schema name (case-sensitive); schemas there: ${all.rows.map((r) => r.nspname).join(", ")}`,
    });
  }
  const kinds = options.includeViews ? [...TABLE_KINDS, ...VIEW_KINDS] : TABLE_KINDS;
  const cols = await client.query<Row>(COLUMNS_SQL, [options.schema, kinds, options.tables ?? null]);
  const keys = await client.query<Row>(PRIMARY_KEYS_SQL, [options.schema]);
  const pks = new Map<string, string[]>();
  for (const r of keys.rows)
    pks.set(r.table_name as string, [...(pks.get(r.table_name as string) ?? []), r.column_name as string]);
  const tables = new Map<string, SqlTableInfo>();
  for (const r of cols.rows) {
    const name = r.table_name as string;
    let t = tables.get(name);
    if (!t) {
      const isView = VIEW_KINDS.includes(r.relkind as string);
      t = {
        schema: options.schema,
        name,
        isView,
        primaryKey: isView ? [] : (pks.get(name) ?? []),
        columns: [],
      };
      tables.set(name, t);
    }
    const facts = {
      typname: r.typname as string,
      typtype: r.typtype as string,
      typcategory: r.typcategory as string,
      typmod: Number(r.typmod),
    };
    const column: PgColumn = {
      name: r.column_name as string,
      nativeType: r.native_type as string,
      castType: r.native_type as string,
      nullable: r.nullable === "true",
      ...pgType(facts),
    };
    t.columns.push(column);
  }
  return [...tables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
