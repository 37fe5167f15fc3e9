import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import { DestinationError } from "../../util/errors.js";
import { baseType, columnDefinition, qualified, quoteIdent } from "./clickhouse-types.js";
import type { ServerFeatures } from "./server-features.js";

/**
 * How many recent insert blocks a table remembers the deduplication tokens of (servers with
 * `insertDeduplication`): enough for the retries of one load while other loads insert into the table.
 */
export const DEDUPLICATION_WINDOW = 1000;

/** The engine and keys of a table (`ENGINE = ... [PARTITION BY ...] ORDER BY ...`). */
export interface TableEngine {
  engine: string;
  partitionBy?: string;
  orderBy: string;
}

const PARTITION_FUNCTIONS = { day: "toYYYYMMDD", month: "toYYYYMM", year: "toYear" } as const;

/**
 * The engine of a table from its `storage` hint (sort key, partitions, deduplication; see `TableStorage`), or
 * for merge tables sorted by their primary key, else unsorted. Key columns must never be NULL.
 *
 * @example
 * tableEngine(events).orderBy // "(toDate(`timestamp`), `event`, cityHash64(`distinct_id`), cityHash64(`uuid`))"
 */
export function tableEngine(table: Table): TableEngine {
  const s = table.storage;
  const column = (name: string, role: string): Column => {
    const c = table.columns[name];
    if (!c) {
      throw new DestinationError(
        `table "${table.name}" names "${name}" as its ${role}, but has no such column`,
        {
          fields: { table: table.name },
          hint: "name a column of the table (as normalized: snake_case) in the resource's `storage` option",
        },
      );
    }
    if (c.nullable !== false) {
      throw new DestinationError(
        `column "${name}" of table "${table.name}" is its ${role} and may be NULL, which ClickHouse keys cannot be`,
        {
          fields: { table: table.name, column: name },
          hint: `declare it not nullable: columns: { ${name}: { nullable: false } }`,
        },
      );
    }
    return c;
  };
  const sortBy = s?.sortBy?.map((part) => {
    if (typeof part === "string") return quoteIdent(column(part, "sort key").name);
    const c = column(part.column, "sort key");
    return `${part.transform === "date" ? "toDate" : "cityHash64"}(${quoteIdent(c.name)})`;
  });
  const pk = Object.values(table.columns).filter((c) => c.primaryKey);
  const byKey =
    table.writeDisposition === "merge" && pk.length > 0 && pk.every((c) => c.nullable === false)
      ? pk.map((c) => quoteIdent(c.name))
      : [];
  const keys = sortBy ?? byKey;
  const orderBy =
    keys.length === 0 ? "tuple()" : keys.length === 1 ? (keys[0] as string) : `(${keys.join(", ")})`;
  const partition = s?.partitionBy;
  const version = s?.deduplicate?.version;
  return {
    engine: version ? `ReplacingMergeTree(${quoteIdent(column(version, "version").name)})` : "MergeTree()",
    ...(partition
      ? {
          partitionBy: `${PARTITION_FUNCTIONS[partition.by]}(${quoteIdent(column(partition.column, "partition key").name)})`,
        }
      : {}),
    orderBy,
  };
}

function engineClause(e: TableEngine, f: ServerFeatures): string {
  const settings = f.insertDeduplication
    ? ` SETTINGS non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`
    : "";
  return `ENGINE = ${e.engine}${e.partitionBy ? ` PARTITION BY ${e.partitionBy}` : ""} ORDER BY ${e.orderBy}${settings}`;
}

/**
 * `CREATE TABLE IF NOT EXISTS` of a dataset table: its columns (see `columnDefinition`) and engine (see
 * `tableEngine`).
 *
 * @example
 * createTableSql("github", schema.tables.issues, features)
 */
export function createTableSql(database: string, table: Table, f: ServerFeatures): string {
  const cols = Object.values(table.columns).map((c) => columnDefinition(c, f));
  return `CREATE TABLE IF NOT EXISTS ${qualified(database, table.name)} (${cols.join(", ")}) ${engineClause(tableEngine(table), f)}`;
}

/**
 * `ALTER TABLE ... ADD COLUMN` for a new column of a dataset table (18.16 has no `IF NOT EXISTS` here: the
 * caller adds only columns the table lacks).
 *
 * @example
 * addColumnSql("github", "issues", { name: "title", type: "text" }, features)
 */
export function addColumnSql(database: string, table: string, column: Column, f: ServerFeatures): string {
  return `ALTER TABLE ${qualified(database, table)} ADD COLUMN ${columnDefinition(column, f)}`;
}

/**
 * DDL of the three system tables (contract names and columns), sorted for the lookups the destination makes.
 *
 * @example
 * for (const sql of systemTablesSql("github", features)) await conn.command(sql);
 */
export function systemTablesSql(database: string, f: ServerFeatures): string[] {
  const ts = baseType({ name: "ts", type: "timestamp" }, f);
  const engine = (orderBy: string) => engineClause({ engine: "MergeTree()", orderBy }, f);
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(database, SYSTEM_TABLES.loads)} (load_id String, schema_name Nullable(String), status Int64, inserted_at ${ts}, schema_version_hash Nullable(String)) ${engine("load_id")}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(database, SYSTEM_TABLES.version)} (version Int64, engine_version Int64, inserted_at ${ts}, schema_name String, version_hash String, schema String) ${engine("(schema_name, version)")}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(database, SYSTEM_TABLES.state)} (version Int64, engine_version Int64, pipeline_name String, state String, created_at ${ts}, version_hash Nullable(String), _ferry_load_id String) ${engine("(pipeline_name, _ferry_load_id)")}`,
  ];
}
