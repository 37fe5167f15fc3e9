import { DEFAULT_DECIMAL } from "../../schema/infer.js";
import type { Column, DataType } from "../../schema/types.js";
import { quoteIdentAnsi, quoteLiteralAnsi, type SqlDialect } from "../sql/sql-dialect.js";

const TYPES: Record<Exclude<DataType, "decimal">, string> = {
  text: "VARCHAR",
  bigint: "BIGINT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  timestamp: "TIMESTAMPTZ",
  date: "DATE",
  time: "TIME",
  json: "JSON",
  binary: "BLOB",
};

export function duckdbColumnType(c: Column): string {
  if (c.type === "decimal") {
    const p = Math.min(c.precision ?? DEFAULT_DECIMAL.precision, 38);
    return `DECIMAL(${p},${Math.min(c.scale ?? DEFAULT_DECIMAL.scale, p)})`;
  }
  return TYPES[c.type];
}

export const duckdbDialect: SqlDialect = {
  quoteIdent: quoteIdentAnsi,
  quoteLiteral: quoteLiteralAnsi,
  columnType: duckdbColumnType,
  textType: "VARCHAR",
  bigintType: "BIGINT",
  timestampType: "TIMESTAMPTZ",
  // search_path is a list of identifiers: quote the name inside the string so any character survives.
  useDatasetSql: (dataset) => `SET search_path = ${quoteLiteralAnsi(quoteIdentAnsi(dataset))}`,
  // One join of the table with the staged rows (UPDATE then INSERT ... NOT EXISTS scan a large table two or three
  // times and hold more memory: a million-row table costs ~4x the time; docs/benchmarks.md, Push door).
  upsert: "merge",
};
