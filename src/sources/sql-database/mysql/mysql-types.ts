import type { DataType } from "../../../schema/types.js";
import type { SqlColumn } from "../engine.js";
import type { ValueKind } from "../values.js";

/** How a MySQL column is selected: as is, spatial types as WKT text, unknown types cast to text. */
export type MysqlSelect = "plain" | "wkt" | "text";

/** How the value mysql2 returns becomes ferry's (`bits`: a BIT(n) buffer as an integer). */
export type MysqlKind = ValueKind | "bits";

/** A reflected MySQL/MariaDB column with what the reader needs. */
export interface MysqlColumn extends SqlColumn {
  kind: MysqlKind;
  select: MysqlSelect;
}

/** What information_schema.COLUMNS says about a column. */
export interface MysqlTypeFacts {
  /** DATA_TYPE, lower case: `int`, `varchar`, `decimal` ... */
  dataType: string;
  /** COLUMN_TYPE: `tinyint(1)`, `bigint(20) unsigned`, `enum('a','b')` ... */
  columnType: string;
  precision: number | undefined;
  scale: number | undefined;
  /** MariaDB stores JSON as longtext with a `json_valid()` check. */
  jsonCheck: boolean;
}

type Mapped = Pick<MysqlColumn, "type" | "precision" | "scale" | "kind" | "select" | "known">;

const m = (type: DataType, kind: MysqlKind, select: MysqlSelect = "plain"): Mapped => ({
  type,
  kind,
  select,
  known: true,
});

const INTS = new Set(["smallint", "mediumint", "int", "integer", "year"]);
const FLOATS = new Set(["float", "double", "real", "double precision"]);
const TEXTS = new Set([
  "char",
  "varchar",
  "tinytext",
  "text",
  "mediumtext",
  "longtext",
  "enum",
  "set",
  "uuid",
  "inet4",
  "inet6",
]);
const BINARIES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);
const SPATIAL = new Set([
  "geometry",
  "point",
  "linestring",
  "polygon",
  "multipoint",
  "multilinestring",
  "multipolygon",
  "geometrycollection",
  "geomcollection",
]);

/**
 * Maps a MySQL/MariaDB column type to ferry's: tinyint(1) and bit(1) are booleans, bigint unsigned is
 * decimal(20, 0) (it exceeds a signed 64-bit integer), decimal(p,s) keeps precision and scale (text beyond 38
 * digits), JSON (and MariaDB's json_valid longtext) is json, spatial types are WKT text.
 *
 * @example
 * mysqlType({ dataType: "tinyint", columnType: "tinyint(1)", precision: 3, scale: 0, jsonCheck: false })
 * // { type: "bool", kind: "bool", select: "plain", known: true }
 */
export function mysqlType(f: MysqlTypeFacts): Mapped {
  const t = f.dataType.toLowerCase();
  const colType = f.columnType.toLowerCase();
  const unsigned = colType.includes("unsigned");
  if (t === "tinyint") return colType.startsWith("tinyint(1)") ? m("bool", "bool") : m("bigint", "int");
  if (INTS.has(t)) return m("bigint", "int");
  if (t === "bigint")
    return unsigned ? { ...m("decimal", "text"), precision: 20, scale: 0 } : m("bigint", "int8");
  if (t === "decimal" || t === "numeric") {
    const precision = f.precision ?? 10;
    const scale = f.scale ?? 0;
    return precision > 38 ? m("text", "text") : { ...m("decimal", "text"), precision, scale };
  }
  if (FLOATS.has(t)) return m("double", "float");
  if (t === "bit") return colType === "bit(1)" ? m("bool", "bool") : m("bigint", "bits");
  if (t === "date") return m("date", "text");
  if (t === "datetime" || t === "timestamp") return m("timestamp", "timestamp");
  if (t === "time") return m("time", "text");
  if (t === "json" || (t === "longtext" && f.jsonCheck)) return m("json", "json");
  if (TEXTS.has(t)) return m("text", "text");
  if (BINARIES.has(t)) return m("binary", "binary");
  if (SPATIAL.has(t)) return m("text", "text", "wkt");
  return { ...m("text", "text", "text"), known: false };
}
