import type { CustomTypesConfig } from "pg";

type PgTypes = CustomTypesConfig["getTypeParser"];

/** Type oids whose text form ferry parses itself (see pg_type). */
const OID = {
  int8: 20,
  json: 114,
  jsonb: 3802,
  date: 1082,
  timestamp: 1114,
  numeric: 1700,
} as const;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/;

/**
 * Parses a bigint: a JS number when it is exact, a bigint beyond 2^53.
 *
 * @example
 * parseInt8("42") // 42
 * parseInt8("9007199254740993") // 9007199254740993n
 */
export function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/**
 * Parses a numeric like DuckDB's results do: a number when its digits fit a double exactly (15 significant
 * digits), the exact text otherwise.
 *
 * @example
 * parseNumeric("123.450") // 123.45
 * parseNumeric("12345678901234567890.123") // "12345678901234567890.123"
 */
export function parseNumeric(text: string): number | string {
  return text.replace(/^-?0*|\.|0+$/g, "").length <= 15 ? Number(text) : text;
}

/**
 * Result values the way every ferry destination returns them: bigint as number when safe (else bigint), numeric
 * as number when exact (else string), date and timestamp as Date (UTC), timestamptz as Date, json and jsonb as
 * their text, bytea as Buffer. Everything else keeps pg's default parsing.
 *
 * @example
 * new pg.Client({ connectionString, types: resultTypes(pg.types.getTypeParser) })
 */
export function resultTypes(defaults: PgTypes): CustomTypesConfig {
  const getTypeParser = ((oid: number, format?: "text" | "binary") => {
    if (format === "binary") return defaults(oid, format);
    switch (oid) {
      case OID.int8:
        return parseInt8;
      case OID.numeric:
        return parseNumeric;
      case OID.json:
      case OID.jsonb:
        return (text: string) => text;
      case OID.date:
        return (text: string) => (DATE_RE.test(text) ? new Date(`${text}T00:00:00Z`) : text);
      case OID.timestamp:
        return (text: string) => (TIMESTAMP_RE.test(text) ? new Date(`${text.replace(" ", "T")}Z`) : text);
      default:
        return defaults(oid, format);
    }
  }) as PgTypes;
  return { getTypeParser };
}
