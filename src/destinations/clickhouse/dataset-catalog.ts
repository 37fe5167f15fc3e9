import type { ClickHouseConnection } from "./clickhouse-connection.js";
import { quoteString } from "./clickhouse-types.js";

/**
 * What a dataset (a ClickHouse database) holds, as read from `system.columns` / `system.tables`.
 *
 * @example
 * const catalog = await readCatalog(conn, "github");
 * catalog.columns.get("issues")?.has("title")
 */
export interface DatasetCatalog {
  /** The database exists. */
  exists: boolean;
  /** `Atomic` databases can `EXCHANGE TABLES`. */
  atomic: boolean;
  /** Columns of each table, in their order. */
  columns: Map<string, Set<string>>;
  /** Tables that keep insert deduplication tokens (`non_replicated_deduplication_window`). */
  deduplicating: Set<string>;
}

/**
 * Reads what a database holds (nothing when it does not exist).
 *
 * @example
 * (await readCatalog(conn, "github")).exists // false before the first load
 */
export async function readCatalog(conn: ClickHouseConnection, database: string): Promise<DatasetCatalog> {
  const db = quoteString(database);
  const [info] = await conn.query(`SELECT engine FROM system.databases WHERE name = ${db}`);
  const catalog: DatasetCatalog = {
    exists: info !== undefined,
    atomic: info?.engine === "Atomic",
    columns: new Map(),
    deduplicating: new Set(),
  };
  if (!info) return catalog;
  // In column order: system.columns lists a table's columns in their order (18.16 has no `position` to sort by).
  for (const r of await conn.query(`SELECT table, name FROM system.columns WHERE database = ${db}`)) {
    const t = String(r.table);
    const set = catalog.columns.get(t) ?? new Set<string>();
    catalog.columns.set(t, set);
    set.add(String(r.name));
  }
  for (const r of await conn.query(`SELECT name, engine_full FROM system.tables WHERE database = ${db}`)) {
    if (!catalog.columns.has(String(r.name))) catalog.columns.set(String(r.name), new Set());
    if (/non_replicated_deduplication_window\s*=\s*[1-9]/.test(String(r.engine_full)))
      catalog.deduplicating.add(String(r.name));
  }
  return catalog;
}
