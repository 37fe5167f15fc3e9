import { DEFAULT_DECIMAL } from "../../schema/infer.js";
import type { Column, DataType } from "../../schema/types.js";
import { quoteIdentAnsi, quoteLiteralAnsi, type SqlDialect } from "../sql/sql-dialect.js";

/**
 * Postgres' limit for identifiers (NAMEDATALEN - 1) in bytes; longer names would be cut silently.
 *
 * @example
 * shortenIdentifier(name, POSTGRES_MAX_IDENTIFIER)
 */
export const POSTGRES_MAX_IDENTIFIER = 63;

/** Postgres numeric allows up to 1000 digits. */
const MAX_NUMERIC_PRECISION = 1000;

const TYPES: Record<Exclude<DataType, "decimal">, string> = {
  text: "text",
  bigint: "bigint",
  double: "double precision",
  bool: "boolean",
  timestamp: "timestamptz",
  date: "date",
  time: "time",
  json: "jsonb",
  binary: "bytea",
};

/**
 * The Postgres column type of a ferry column.
 *
 * @example
 * postgresColumnType({ name: "amount", type: "decimal", precision: 18, scale: 2 }) // "numeric(18,2)"
 */
export function postgresColumnType(c: Column): string {
  if (c.type === "decimal") {
    const p = Math.min(c.precision ?? DEFAULT_DECIMAL.precision, MAX_NUMERIC_PRECISION);
    return `numeric(${p},${Math.min(c.scale ?? DEFAULT_DECIMAL.scale, p)})`;
  }
  return TYPES[c.type];
}

/**
 * How Postgres spells names and types; upserts are `INSERT ... ON CONFLICT` on a unique primary key index.
 *
 * @example
 * postgresDialect.useDatasetSql("github") // 'SET search_path TO "github"'
 */
export const postgresDialect: SqlDialect = {
  quoteIdent: quoteIdentAnsi,
  quoteLiteral: quoteLiteralAnsi,
  columnType: postgresColumnType,
  textType: "text",
  bigintType: "bigint",
  timestampType: "timestamptz",
  // An identifier, not a string: Postgres would take a string literal as one (quoted) schema name.
  useDatasetSql: (dataset) => `SET search_path TO ${quoteIdentAnsi(dataset)}`,
  upsert: "on-conflict",
};
