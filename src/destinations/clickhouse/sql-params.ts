import { ConfigError } from "../../util/errors.js";
import { quoteString } from "./clickhouse-types.js";
import type { ServerFeatures } from "./server-features.js";

/**
 * A JS value as a ClickHouse literal: strings quoted and escaped, numbers (NaN and infinities too), bigints,
 * booleans, Dates (as UTC timestamps), bytes (`unhex`), arrays, and other objects as their JSON text.
 *
 * @example
 * literal("it's", f) // "'it\\'s'"
 * literal(new Date(0), f) // "toDateTime64('1970-01-01 00:00:00.000', 3, 'UTC')"
 */
export function literal(v: unknown, f: ServerFeatures): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return quoteString(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    return String(v);
  }
  if (typeof v === "boolean") return f.boolType ? String(v) : v ? "1" : "0";
  if (v instanceof Date) {
    const text = v.toISOString().replace("T", " ").replace("Z", "");
    return f.dateTime64
      ? `toDateTime64(${quoteString(text)}, 3, 'UTC')`
      : `toDateTime(${quoteString(text.slice(0, 19))}, 'UTC')`;
  }
  if (v instanceof Uint8Array) return `unhex('${Buffer.from(v).toString("hex")}')`;
  if (Array.isArray(v)) return `[${v.map((x) => literal(x, f)).join(", ")}]`;
  return quoteString(JSON.stringify(v));
}

/**
 * Replaces `$1`, `$2`, ... in a query with the literals of `params` (as `dataset().sql(query, params)` takes them on
 * every destination), outside string literals, quoted identifiers and comments. Every server version runs the result;
 * servers before 19 have no query parameters of their own.
 *
 * @example
 * bindParams("select * from t where s = $1 and note = '$1'", ["x"], f)
 * // "select * from t where s = 'x' and note = '$1'"
 */
export function bindParams(sql: string, params: readonly unknown[], f: ServerFeatures): string {
  if (params.length === 0) return sql;
  let out = "";
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === "`") {
      const end = quotedEnd(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      out += sql.slice(i, end === -1 ? n : end);
      i = end === -1 ? n : end;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      out += sql.slice(i, end === -1 ? n : end + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "$" && /\d/.test(sql[i + 1] ?? "")) {
      let j = i + 1;
      while (j < n && /\d/.test(sql[j] as string)) j++;
      const k = Number(sql.slice(i + 1, j));
      if (k < 1 || k > params.length) {
        throw new ConfigError(`query parameter $${k} has no value (${params.length} given)`, {
          hint: "pass one value per $1, $2, ... in the params array",
        });
      }
      out += literal(params[k - 1], f);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past a quoted token starting at `i` (backslash escapes and doubled quotes inside). */
function quotedEnd(sql: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (c === "\\") j += 2;
    else if (c === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else j++;
  }
  return sql.length;
}
