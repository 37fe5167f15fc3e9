/**
 * A cursor kept in a resource's state together with the resources it was kept for (`ctx.selection`): a cursor that
 * feeds several tables (an export with side-loads, a parent with its line items) is only valid for the tables
 * that were loaded with it. When a later run loads a table the cursor did not cover, that run starts over.
 */

interface Stored<T> {
  value: T;
  covers: string[];
}

/**
 * The cursor stored under `key` when it covers every resource of `selection`; undefined when there is none or a
 * resource of this run was not loaded with it (the caller then starts from the beginning).
 *
 * @example
 * const since = coveredCursor<number>(ctx.state, "events", ctx.selection) ?? firstRun();
 */
export function coveredCursor<T>(
  state: Record<string, unknown>,
  key: string,
  selection: readonly string[],
): T | undefined {
  const stored = state[key] as Stored<T> | undefined;
  if (stored === undefined || stored === null || typeof stored !== "object" || !("value" in stored))
    return undefined;
  const covers = Array.isArray(stored.covers) ? stored.covers : [];
  return selection.every((r) => covers.includes(r)) ? stored.value : undefined;
}

/**
 * Stores the cursor reached by this run, valid for the resources it loaded (`ctx.selection`). State is committed
 * with the load, so a failed run leaves the previous cursor in place.
 *
 * @example
 * storeCursor(ctx.state, "events", { since: 1700000000, boundary: ["evt_1"] }, ctx.selection);
 */
export function storeCursor<T>(
  state: Record<string, unknown>,
  key: string,
  value: T,
  selection: readonly string[],
): void {
  const stored: Stored<T> = { value, covers: [...selection].sort() };
  state[key] = stored;
}
