import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import type { SqlDialect } from "./sql-dialect.js";

export function qualified(d: SqlDialect, dataset: string, table: string): string {
  return `${d.quoteIdent(dataset)}.${d.quoteIdent(table)}`;
}

export function createTableSql(
  d: SqlDialect,
  dataset: string,
  table: string,
  columns: Column[],
  temp = false,
): string {
  const cols = columns.map((c) => `${d.quoteIdent(c.name)} ${d.columnType(c)}`).join(", ");
  const name = temp ? d.quoteIdent(table) : qualified(d, dataset, table);
  return `CREATE ${temp ? "TEMP " : ""}TABLE ${name} (${cols})`;
}

export function addColumnSql(d: SqlDialect, dataset: string, table: string, column: Column): string {
  return `ALTER TABLE ${qualified(d, dataset, table)} ADD COLUMN ${d.quoteIdent(column.name)} ${d.columnType(column)}`;
}

/** DDL of the three system tables (contract names and columns). */
export function systemTablesSql(d: SqlDialect, dataset: string): string[] {
  const t = d.textType;
  const b = d.bigintType;
  const ts = d.timestampType;
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.loads)} (load_id ${t} NOT NULL, schema_name ${t}, status ${b} NOT NULL, inserted_at ${ts} NOT NULL, schema_version_hash ${t})`,
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.version)} (version ${b} NOT NULL, engine_version ${b} NOT NULL, inserted_at ${ts} NOT NULL, schema_name ${t} NOT NULL, version_hash ${t} NOT NULL, schema ${t} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${qualified(d, dataset, SYSTEM_TABLES.state)} (version ${b} NOT NULL, engine_version ${b} NOT NULL, pipeline_name ${t} NOT NULL, state ${t} NOT NULL, created_at ${ts} NOT NULL, version_hash ${t}, _ferry_load_id ${t} NOT NULL)`,
  ];
}

/** Columns of a table in creation order, system columns included. */
export function tableColumns(table: Table): Column[] {
  return Object.values(table.columns);
}
