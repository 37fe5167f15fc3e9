/**
 * What a ClickHouse server of a given version offers that the destination uses, as data. Where a server lacks a
 * feature the destination falls back (docs/clickhouse.md lists each fallback).
 *
 * @example
 * serverFeatures("18.16.1").dateTime64 // false: timestamps are DateTime('UTC'), whole seconds
 */
export interface ServerFeatures {
  /** The version as the server reports it (`SELECT version()`). */
  readonly version: string;
  /** `DateTime64(6, 'UTC')` for timestamps (20.1); else `DateTime('UTC')`, whole seconds. */
  readonly dateTime64: boolean;
  /** The `Bool` type (21.12); else `UInt8` (0 or 1). */
  readonly boolType: boolean;
  /** `Date32` for dates, 1900-2299 (21.9); else `Date`, 1970-2149. */
  readonly date32: boolean;
  /** `EXCHANGE TABLES` in Atomic databases (21.1): replace swaps a table atomically; else `RENAME`. */
  readonly exchangeTables: boolean;
  /** `DELETE FROM` (23.3): rows are gone at once; else `ALTER TABLE ... DELETE`, a mutation waited for. */
  readonly lightweightDelete: boolean;
  /**
   * `insert_deduplication_token` and `non_replicated_deduplication_window` (22.2): a batch retried after an unclear
   * failure is not inserted twice. Without them a failed batch fails its load attempt (whose retry first removes
   * what the attempt inserted).
   */
  readonly insertDeduplication: boolean;
  /** Decimal precision up to 76 (Decimal256, 23.1); else 38. */
  readonly maxDecimalPrecision: number;
}

/**
 * Major and minor of a version string (`26.7.2.1` -> [26, 7]); [0, 0] when it does not parse.
 *
 * @example
 * versionOf("18.16.1") // [18, 16]
 */
export function versionOf(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/**
 * The features of a server version.
 *
 * @example
 * serverFeatures("26.7.2.1").lightweightDelete // true
 */
export function serverFeatures(version: string): ServerFeatures {
  const [major, minor] = versionOf(version);
  const atLeast = (a: number, b: number) => major > a || (major === a && minor >= b);
  return Object.freeze({
    version: version.trim(),
    dateTime64: atLeast(20, 1),
    boolType: atLeast(21, 12),
    date32: atLeast(21, 9),
    exchangeTables: atLeast(21, 1),
    lightweightDelete: atLeast(23, 3),
    insertDeduplication: atLeast(22, 2),
    maxDecimalPrecision: atLeast(23, 1) ? 76 : 38,
  });
}
