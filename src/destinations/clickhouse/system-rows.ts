import type { ClickHouseConnection } from "./clickhouse-connection.js";
import { qualified, quoteIdent } from "./clickhouse-types.js";
import { clickhouseTimestamp, tsvField } from "./tsv-values.js";

/** A value of a system table row: text, a number, NULL, or a timestamp (ISO-8601). */
export type SystemValue = string | number | null | { timestamp: string };

/**
 * Inserts one row into a system table (`_ferry_loads`, `_ferry_version`, `_ferry_pipeline_state`): one block, so it
 * is there whole or not at all. Not deduplicated by the server: the caller checks it is not there yet.
 *
 * @example
 * await insertSystemRow(conn, "gh", "_ferry_loads", { load_id: id, schema_name: "gh", status: 0, inserted_at: { timestamp: now }, schema_version_hash: h });
 */
export async function insertSystemRow(
  conn: ClickHouseConnection,
  database: string,
  table: string,
  row: Record<string, SystemValue>,
): Promise<void> {
  const names = Object.keys(row);
  const fields = Object.values(row).map((v) => {
    if (v === null) return "\\N";
    if (typeof v === "number") return String(v);
    if (typeof v === "string") return tsvField(v);
    return clickhouseTimestamp(v.timestamp, conn.features.dateTime64);
  });
  const sql = `INSERT INTO ${qualified(database, table)} (${names.map(quoteIdent).join(", ")}) FORMAT TabSeparated`;
  await conn.insert(sql, [`${fields.join("\t")}\n`], {
    settings: { insert_deduplicate: 0 },
  });
}
