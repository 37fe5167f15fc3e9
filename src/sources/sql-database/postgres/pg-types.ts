import type { DataType } from "../../../schema/types.js";
import type { SqlColumn } from "../engine.js";
import type { ValueKind } from "../values.js";

/** How a Postgres column is selected in the COPY query. */
export type PgSelect = "plain" | "array_json" | "numeric" | "text";

/** A reflected Postgres column with what the reader needs. */
export interface PgColumn extends SqlColumn {
  kind: ValueKind;
  select: PgSelect;
  /** `format_type()` of the column: the type a cursor value is cast to. */
  castType: string;
}

/** What the catalog says about a column's type (of the base type, for domains). */
export interface PgTypeFacts {
  typname: string;
  /** pg_type.typtype: b base, e enum, d domain, c composite, r range, m multirange, p pseudo. */
  typtype: string;
  /** pg_type.typcategory: A array, ... */
  typcategory: string;
  typmod: number;
}

type Mapping = { type: DataType; kind: ValueKind; select?: PgSelect };

const BY_NAME: Record<string, Mapping> = {
  int2: { type: "bigint", kind: "int" },
  int4: { type: "bigint", kind: "int" },
  oid: { type: "bigint", kind: "int" },
  int8: { type: "bigint", kind: "int8" },
  float4: { type: "double", kind: "float" },
  float8: { type: "double", kind: "float" },
  bool: { type: "bool", kind: "bool" },
  date: { type: "date", kind: "text" },
  time: { type: "time", kind: "text" },
  timestamp: { type: "timestamp", kind: "timestamp" },
  timestamptz: { type: "timestamp", kind: "timestamptz" },
  json: { type: "json", kind: "json" },
  jsonb: { type: "json", kind: "json" },
  bytea: { type: "binary", kind: "binary" },
  money: { type: "decimal", kind: "text", select: "numeric" },
};

/** Types that load as text on purpose (no warning): their text form is the value. */
const TEXT_TYPES = new Set([
  "text",
  "varchar",
  "bpchar",
  "char",
  "name",
  "citext",
  "uuid",
  "inet",
  "cidr",
  "macaddr",
  "macaddr8",
  "xml",
  "bit",
  "varbit",
  "interval",
  "timetz",
]);

/**
 * Maps a Postgres type to ferry's. numeric(p,s) keeps precision and scale (a numeric wider than 38 digits, which
 * DuckDB cannot hold, loads as exact text); arrays load as json; enums, uuid, interval and other textual types as
 * text; anything else as text with `known: false` (the run warns).
 *
 * @example
 * pgType({ typname: "numeric", typtype: "b", typcategory: "N", typmod: ((12 << 16) | 2) + 4 })
 * // { type: "decimal", precision: 12, scale: 2, kind: "text", select: "plain", known: true }
 */
export function pgType(
  t: PgTypeFacts,
): Pick<PgColumn, "type" | "precision" | "scale" | "kind" | "select" | "known"> {
  if (t.typcategory === "A") return { type: "json", kind: "json", select: "array_json", known: true };
  if (t.typname === "numeric") return numeric(t.typmod);
  const m = BY_NAME[t.typname];
  if (m) return { type: m.type, kind: m.kind, select: m.select ?? "plain", known: true };
  if (t.typtype === "e" || TEXT_TYPES.has(t.typname))
    return { type: "text", kind: "text", select: "plain", known: true };
  return { type: "text", kind: "text", select: "text", known: false };
}

function numeric(
  typmod: number,
): Pick<PgColumn, "type" | "precision" | "scale" | "kind" | "select" | "known"> {
  const base = { kind: "text" as const, select: "plain" as const, known: true };
  if (typmod < 4) return { ...base, type: "decimal" }; // unconstrained: ferry's default decimal(38, 9)
  let precision = ((typmod - 4) >> 16) & 0xffff;
  // The scale is an 11-bit signed number since Postgres 15 (numeric(5, -2) rounds to hundreds).
  let scale = (typmod - 4) & 0x7ff;
  if (scale > 0x3ff) scale -= 0x800;
  if (scale < 0) {
    precision -= scale;
    scale = 0;
  }
  if (precision > 38 || scale > precision) return { ...base, type: "text" };
  return { ...base, type: "decimal", precision, scale };
}
