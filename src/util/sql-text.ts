/**
 * Text forms databases (and typed CSV files) send, turned into ferry's values without going through a float or a
 * JS Date.
 */

/** A 64-bit integer: a number while exact (|n| <= 2^53 - 1), a bigint beyond. */
export function toInt8(s: string): number | bigint {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

/**
 * `2024-01-05 12:30:00.123456` (no zone: taken as UTC) or `2024-01-05 12:30:00.123456+00` (a session in UTC) ->
 * `2024-01-05T12:30:00.123456Z`. Anything else (infinity, BC years, five-digit years, zero dates) is returned
 * unchanged and loads as text, exactly.
 */
export function sqlTimestampToIso(s: string, withZone: boolean): string {
  if (s.length < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 32) return s;
  const last = s.charCodeAt(s.length - 1);
  if (withZone) {
    if (!s.endsWith("+00")) return s;
    return `${s.slice(0, 10)}T${s.slice(11, -3)}Z`;
  }
  if (last < 48 || last > 57) return s; // " BC" and other suffixes
  return `${s.slice(0, 10)}T${s.slice(11)}Z`;
}
