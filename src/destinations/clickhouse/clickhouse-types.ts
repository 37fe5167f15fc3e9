import { DEFAULT_DECIMAL } from "../../schema/infer.js";
import type { Column, DataType } from "../../schema/types.js";
import type { ServerFeatures } from "./server-features.js";

/**
 * A ClickHouse identifier in backquotes, backslashes and backquotes escaped: nothing from data can change the SQL
 * around it.
 *
 * @example
 * quoteIdent("my `t`") // "`my \\`t\\``"
 */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/**
 * A ClickHouse string literal: backslash, quote and NUL escaped.
 *
 * @example
 * quoteString("it's") // "'it\\'s'"
 */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === "\0" ? "\\0" : `\\${c}`))}'`;
}

/** `` `db`.`table` ``. */
export function qualified(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}

/**
 * The ferry type a column comment records where the ClickHouse type alone does not say it: binary, json and time
 * are `String`s, bool is `UInt8` before 21.12. `dataset().table()` reads binary columns back as bytes and such bools
 * as booleans by it.
 */
export const TYPE_COMMENT_PREFIX = "ferry:";

/**
 * The ClickHouse type of a ferry column on a server, without `Nullable`.
 *
 * @example
 * baseType({ name: "ts", type: "timestamp" }, serverFeatures("24.8")) // "DateTime64(6, 'UTC')"
 * baseType({ name: "ts", type: "timestamp" }, serverFeatures("18.16.1")) // "DateTime('UTC')"
 */
export function baseType(c: Column, f: ServerFeatures): string {
  switch (c.type) {
    case "text":
    case "json":
    case "binary":
    case "time":
      return "String";
    case "bigint":
      return "Int64";
    case "double":
      return "Float64";
    case "bool":
      return f.boolType ? "Bool" : "UInt8";
    case "timestamp":
      return f.dateTime64 ? "DateTime64(6, 'UTC')" : "DateTime('UTC')";
    case "date":
      return f.date32 ? "Date32" : "Date";
    case "decimal": {
      const p = Math.min(c.precision ?? DEFAULT_DECIMAL.precision, f.maxDecimalPrecision);
      return `Decimal(${p}, ${Math.min(c.scale ?? DEFAULT_DECIMAL.scale, p)})`;
    }
  }
}

/** The comment of a column whose ClickHouse type does not say its ferry type (see `TYPE_COMMENT_PREFIX`). */
export function typeComment(c: Column, f: ServerFeatures): string | undefined {
  const ambiguous: DataType[] = ["binary", "json", "time", ...(f.boolType ? [] : (["bool"] as const))];
  return ambiguous.includes(c.type) ? `${TYPE_COMMENT_PREFIX}${c.type}` : undefined;
}

/**
 * A column's definition in `CREATE TABLE` / `ADD COLUMN`: `Nullable` unless the column is declared `nullable: false`
 * (then NULLs are refused when loading, as ClickHouse would store them as 0 or '').
 *
 * @example
 * columnDefinition({ name: "doc", type: "json" }, f) // "`doc` Nullable(String) COMMENT 'ferry:json'"
 */
export function columnDefinition(c: Column, f: ServerFeatures): string {
  const base = baseType(c, f);
  const comment = typeComment(c, f);
  return `${quoteIdent(c.name)} ${c.nullable === false ? base : `Nullable(${base})`}${comment ? ` COMMENT ${quoteString(comment)}` : ""}`;
}

/** Where a ClickHouse type keeps its values, for range checks of loaded values. */
export interface TimeRange {
  /** Smallest and largest value as text, comparable as strings with values in the load format. */
  min: string;
  max: string;
  /** How a user can store values beyond it. */
  type: string;
}

/**
 * The range of dates and timestamps a server stores: values beyond it are refused with an error (ClickHouse would
 * otherwise clamp or wrap them silently).
 *
 * @example
 * timeRange("timestamp", serverFeatures("18.16.1")).min // "1970-01-01 00:00:00"
 */
export function timeRange(type: "timestamp" | "date", f: ServerFeatures): TimeRange {
  if (type === "date") {
    return f.date32
      ? { min: "1900-01-01", max: "2299-12-31", type: "Date32" }
      : { min: "1970-01-01", max: "2149-06-06", type: "Date" };
  }
  return f.dateTime64
    ? { min: "1900-01-01 00:00:00", max: "2299-12-31 23:59:59.999999", type: "DateTime64" }
    : { min: "1970-01-01 00:00:00", max: "2106-02-07 06:28:15", type: "DateTime" };
}
