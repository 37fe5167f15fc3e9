/**
 * ClickHouse test servers read back for tests: a connection through the destination's own client, the `events` table
 * of `ferry serve` (collapsed with FINAL or as stored), a table's columns and engine.
 */
import { ClickHouseConnection } from "../../src/destinations/clickhouse/clickhouse-connection.js";
import { qualified, quoteString } from "../../src/destinations/clickhouse/clickhouse-types.js";
import { parseClickHouseUrl } from "../../src/destinations/clickhouse/clickhouse-url.js";
import type { QueryRow } from "../../src/index.js";
import { silentLogger } from "../../src/index.js";
import type { EventRow } from "./serve-tables.js";

/** Runs `fn` with a connection to the server at `url` (a `clickhouse://` URL), closed afterwards. */
export async function withClickHouse<T>(
  url: string,
  fn: (conn: ClickHouseConnection) => Promise<T>,
): Promise<T> {
  const conn = await ClickHouseConnection.open(parseClickHouseUrl(url), silentLogger);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/** Rows of a query on the server at `url`. */
export function clickhouseQuery(url: string, sql: string): Promise<QueryRow[]> {
  return withClickHouse(url, (c) => c.query(sql));
}

/** Rows in `<dataset>.<table>` (0 while the table does not exist); `final` collapses duplicates first. */
export async function clickhouseCount(
  url: string,
  dataset: string,
  table: string,
  final = false,
): Promise<number> {
  return withClickHouse(url, async (c) => {
    const exists = await c.query(
      `SELECT 1 AS x FROM system.tables WHERE database = ${quoteString(dataset)} AND name = ${quoteString(table)}`,
    );
    if (exists.length === 0) return 0;
    const [r] = await c.query(
      `SELECT count() AS n FROM ${qualified(dataset, table)}${final ? " FINAL" : ""}`,
    );
    return Number(r?.n);
  });
}

/** The `events` rows of a dataset (collapsed with FINAL unless `final` is false), as the serve tests compare them. */
export async function clickhouseEvents(
  url: string,
  dataset: string,
  o: { extra?: string[]; final?: boolean } = {},
): Promise<EventRow[]> {
  const more = (o.extra ?? []).map((c) => `, \`${c}\``).join("");
  const rows = await clickhouseQuery(
    url,
    `SELECT uuid, event, distinct_id, timestamp, created_at, properties, \`set\`, set_once, elements_chain, ip${more} ` +
      `FROM ${qualified(dataset, "events")}${o.final === false ? "" : " FINAL"} ORDER BY timestamp, uuid`,
  );
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));
  return rows.map((r) => ({
    ...r,
    uuid: String(r.uuid),
    event: String(r.event),
    distinct_id: String(r.distinct_id),
    timestamp: (r.timestamp as Date).toISOString(),
    created_at: (r.created_at as Date).toISOString(),
    properties: json(r.properties),
    set: json(r.set),
    set_once: json(r.set_once),
    elements_chain: (r.elements_chain as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
  }));
}

/** `[column, type]` of a table in column order (system.columns: every server version has it). */
export async function clickhouseColumns(
  url: string,
  dataset: string,
  table: string,
): Promise<Array<[string, string]>> {
  const rows = await clickhouseQuery(
    url,
    `SELECT name, type FROM system.columns WHERE database = ${quoteString(dataset)} AND table = ${quoteString(table)}`,
  );
  return rows.map((r) => [String(r.name), String(r.type)]);
}

/** A table's engine, partition key and sort key as the server reports them. */
export async function clickhouseEngine(
  url: string,
  dataset: string,
  table: string,
): Promise<{ engine: string; engine_full: string; partition_key: string; sorting_key: string }> {
  const [r] = await clickhouseQuery(
    url,
    `SELECT engine, engine_full, partition_key, sorting_key FROM system.tables WHERE database = ${quoteString(dataset)} AND name = ${quoteString(table)}`,
  );
  return {
    engine: String(r?.engine),
    engine_full: String(r?.engine_full),
    partition_key: String(r?.partition_key),
    sorting_key: String(r?.sorting_key),
  };
}
