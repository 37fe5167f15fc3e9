import type { LogPositions } from "../log/event-log.js";

/** The later of two positions, partition by partition. */
export function latestPositions(a: LogPositions, b: LogPositions): LogPositions {
  const out: LogPositions = { ...a };
  for (const [p, v] of Object.entries(b)) out[Number(p)] = Math.max(out[Number(p)] ?? 0, v);
  return out;
}

/** Events between two sets of positions (partition by partition). */
export function eventsBetween(from: LogPositions, to: LogPositions): number {
  let n = 0;
  for (const [p, end] of Object.entries(to)) n += Math.max(0, end - (from[Number(p)] ?? 0));
  return n;
}

/** Where a batch of `take` events from `from` ends: each partition gets its share of `take` by how far behind it is. */
export function batchEnd(from: LogPositions, end: LogPositions, take: number): LogPositions {
  const total = eventsBetween(from, end);
  const share = total <= take ? 1 : take / total;
  const out: LogPositions = { ...from };
  for (const [p, e] of Object.entries(end)) {
    const start = from[Number(p)] ?? 0;
    out[Number(p)] = start + Math.ceil(Math.max(0, e - start) * share);
  }
  return out;
}
