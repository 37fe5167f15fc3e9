/** One difference between two JSON values: where, and the value before and after (undefined: absent). */
export interface JsonChange {
  path: string;
  before: unknown;
  after: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The differences between two JSON values, object keys followed in (arrays and scalars compared whole), in key order.
 *
 * @example
 * jsonChanges({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 }, d: true })
 * // [{ path: "b.c", before: 2, after: 3 }, { path: "d", before: undefined, after: true }]
 */
export function jsonChanges(before: unknown, after: unknown, path = ""): JsonChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => jsonChanges(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path, before, after }];
}

/** A change as a line: `+ path: value` (added), `- path: value` (removed), `~ path: before -> after`. */
export function formatChange(c: JsonChange): string {
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return s.length > 200 ? `${s.slice(0, 200)}...` : s;
  };
  if (c.before === undefined) return `+ ${c.path}: ${show(c.after)}`;
  if (c.after === undefined) return `- ${c.path}: ${show(c.before)}`;
  return `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`;
}
