import { uniqueId } from "../util/hash.js";

/**
 * A new load id. Load ids sort by creation time: `<epoch ms>.<random>`.
 *
 * @example
 * newLoadId() // "1733356800000.k3X9aB"
 */
export function newLoadId(now = Date.now()): string {
  return `${now}.${uniqueId(6)}`;
}

/**
 * Orders load ids by time first (numerically), then as text.
 *
 * @example
 * ["1700000000100.b", "999.a"].sort(compareLoadIds) // ["999.a", "1700000000100.b"]
 */
export function compareLoadIds(a: string, b: string): number {
  const ta = Number(a.split(".")[0]);
  const tb = Number(b.split(".")[0]);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}
