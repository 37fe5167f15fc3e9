import type { Resource } from "../../extract/resource.js";
import { type Source, source } from "../../extract/source.js";
import { normalizeIdentifier } from "../../schema/naming.js";
import { ConfigError } from "../../util/errors.js";
import { connectEngine } from "./connect-engine.js";
import { parseSqlUrl, type SqlUrl } from "./connection-url.js";
import { describeLocation, type SqlEngine, type SqlTableInfo } from "./engine.js";
import {
  checkChunkSize,
  checkIncremental,
  checkName,
  type SqlDatabaseOptions,
  type SqlTableOptions,
} from "./options.js";
import { tableResource } from "./table-resource.js";

/**
 * A source with one resource per table of a Postgres or MySQL/MariaDB schema. Tables are reflected now (columns,
 * exact types, primary keys); each resource streams its table in pages when the pipeline runs. Table names are
 * the source's own (`"Order Items"`); they load under ferry's naming (`order_items`).
 *
 * @example
 * import { sqlDatabase } from "ferry/sources/sql-database";
 * const shop = await sqlDatabase({
 *   url: "postgres://ferry:secret@127.0.0.1:5432/shop",
 *   tables: ["orders", "Order Items"],
 *   incremental: { orders: { cursor: "updated_at", initialValue: "2024-01-01T00:00:00Z" } },
 * });
 * await pipeline({ name: "shop", destination: "duckdb:shop.duckdb" }).run(shop);
 */
export async function sqlDatabase(options: SqlDatabaseOptions): Promise<Source> {
  const url = parseSqlUrl(options.url);
  const chunkSize = checkChunkSize(options.chunkSize);
  const wanted = options.tables?.map((t) => checkName("tables[]", t));
  const excluded = options.excludeTables?.map((t) => checkName("excludeTables[]", t)) ?? [];
  const incremental = options.incremental ?? {};
  const { engine, schema, all } = await reflectAll(url, options.schema);
  const includeViews = options.includeViews === true;
  const byName = new Map(all.map((t) => [t.name, t]));
  const explain = (name: string, what: string) => missingTable(engine, schema, all, name, what, includeViews);
  for (const name of wanted ?? []) {
    const t = byName.get(name);
    if (!t || (t.isView && !includeViews)) throw explain(name, "tables");
  }
  for (const name of excluded) if (!byName.has(name)) throw explain(name, "excludeTables");
  const selected = (wanted ?? all.filter((t) => includeViews || !t.isView).map((t) => t.name))
    .filter((n) => !excluded.includes(n))
    .map((n) => byName.get(n) as SqlTableInfo);
  for (const name of Object.keys(incremental)) {
    if (!selected.some((t) => t.name === name)) {
      throw new ConfigError(`sql_database: incremental names table "${name}", which is not loaded`, {
        hint: `incremental keys are source table names among: ${selected.map((t) => t.name).join(", ") || "(none)"}`,
      });
    }
  }
  checkDistinctNames(selected);
  const resources: Resource[] = selected.map((table) => {
    const inc = incremental[table.name];
    return tableResource({
      url,
      table,
      chunkSize,
      bulkExport: options.bulkExport !== false,
      ...(inc !== undefined ? { incremental: checkIncremental(table.name, inc) } : {}),
      ...(options.writeDisposition !== undefined ? { writeDisposition: options.writeDisposition } : {}),
    });
  });
  return source({ name: options.name ?? "sql_database", resources });
}

/**
 * A resource for one table (or view) of a Postgres or MySQL/MariaDB database, reflected now.
 *
 * @example
 * import { sqlTable } from "ferry/sources/sql-database";
 * const orders = await sqlTable({ url, table: "orders", incremental: { cursor: "id" } });
 * await p.run(orders);
 */
export async function sqlTable(options: SqlTableOptions): Promise<Resource> {
  const url = parseSqlUrl(options.url);
  const chunkSize = checkChunkSize(options.chunkSize);
  const name = checkName("table", options.table);
  const { engine, schema, all } = await reflectAll(url, options.schema);
  const table = all.find((t) => t.name === name);
  if (!table) throw missingTable(engine, schema, all, name, "table", true);
  const pk = options.primaryKey;
  return tableResource({
    url,
    table,
    chunkSize,
    bulkExport: options.bulkExport !== false,
    ...(options.incremental !== undefined
      ? { incremental: checkIncremental(name, options.incremental) }
      : {}),
    ...(options.writeDisposition !== undefined ? { writeDisposition: options.writeDisposition } : {}),
    ...(pk !== undefined
      ? { primaryKey: (Array.isArray(pk) ? pk : [pk]).map((k) => checkName("primaryKey", k)) }
      : {}),
  });
}

/**
 * Every table and view of the schema, read once over a connection closed right after: resources open their own
 * connections when they run. The engine is returned for its location (error messages).
 */
async function reflectAll(
  url: SqlUrl,
  schemaOption: string | undefined,
): Promise<{ engine: SqlEngine; schema: string; all: SqlTableInfo[] }> {
  const engine = await connectEngine(url);
  try {
    const schema = schemaOf(engine, schemaOption);
    return { engine, schema, all: await engine.reflect({ schema, includeViews: true }) };
  } finally {
    await engine.close();
  }
}

function schemaOf(engine: SqlEngine, schema: string | undefined): string {
  if (schema !== undefined) return checkName("schema", schema);
  if (!engine.defaultSchema) {
    throw new ConfigError(
      `sql_database: no schema given and the URL names no database (${describeLocation(engine.where)})`,
      {
        hint: "add the database to the URL (mysql://user:password@host:3306/database) or pass schema",
      },
    );
  }
  return engine.defaultSchema;
}

function missingTable(
  engine: SqlEngine,
  schema: string,
  all: SqlTableInfo[],
  name: string,
  option: string,
  includeViews: boolean,
): ConfigError {
  const view = all.find((t) => t.name === name && t.isView);
  const similar = all.filter((t) => t.name.toLowerCase() === name.toLowerCase()).map((t) => `"${t.name}"`);
  const names = all.filter((t) => includeViews || !t.isView).map((t) => t.name);
  const listed =
    names.length > 30 ? `${names.slice(0, 30).join(", ")}, ... (${names.length} in all)` : names.join(", ");
  const hint = view
    ? `"${name}" is a view: set includeViews (include_views in specs) to load views`
    : `${similar.length > 0 ? `did you mean ${similar.join(" or ")}? ` : ""}table names are case-sensitive, as the database spells them; tables there: ${listed || "(none)"}`;
  return new ConfigError(
    `sql_database: ${option} names "${name}", which is not a table in schema "${schema}" of ${describeLocation(engine.where)}`,
    { fields: { table: name, database: engine.where.database }, hint },
  );
}

/** Two source tables whose names normalize to one (`"Order Items"` and `order_items`) would load into one table. */
function checkDistinctNames(tables: SqlTableInfo[]): void {
  const seen = new Map<string, string>();
  for (const t of tables) {
    const normalized = normalizeIdentifier(t.name);
    const other = seen.get(normalized);
    if (other !== undefined) {
      throw new ConfigError(
        `sql_database: tables "${other}" and "${t.name}" would both load into table "${normalized}"`,
        {
          hint: "leave one of them out with excludeTables (exclude_tables in specs), or load it with its own sqlTable and a table name",
        },
      );
    }
    seen.set(normalized, t.name);
  }
}
