import type { TableHints } from "../../package/table-hints.js";
import { normalizeIdentifier } from "../../schema/naming.js";
import type { Column } from "../../schema/types.js";

/**
 * The columns a resource's hints name (`columns`, `primaryKey`, `mergeKey`), by the column name the data's keys get:
 * dotted paths flatten like nested keys (`address.city` -> `address__city`), and two hinted keys that normalize to one
 * name keep apart as in the data (the first keeps the name, the other gets `conflictName`).
 *
 * @example
 * hintedColumns({ resource: "u", writeDisposition: "merge", primaryKey: ["id"] }, naming)
 * // Map { "id" => { primaryKey: true, nullable: false } }
 */
export function hintedColumns(
  hints: TableHints,
  naming: { columnName(raw: string): string; conflictName(name: string, origin: string): string },
): Map<string, Partial<Column>> {
  const wanted = new Map<string, Partial<Column>>();
  const add = (raw: string, hint: Partial<Column>) => {
    let name = naming.columnName(normalizePath(raw));
    const prev = wanted.get(name);
    if (prev && (prev.origin ?? name) !== (isSameOrigin(name, raw) ? name : raw))
      name = naming.conflictName(name, raw);
    wanted.set(name, { ...wanted.get(name), ...hint, ...(isSameOrigin(name, raw) ? {} : { origin: raw }) });
  };
  for (const [raw, hint] of Object.entries(hints.columns ?? {})) add(raw, hint);
  for (const k of hints.primaryKey ?? []) add(k, { primaryKey: true, nullable: false });
  for (const k of hints.mergeKey ?? []) add(k, { mergeKey: true });
  return wanted;
}

/** Puts a hint on an existing column; its type and origin stay what the data made them. */
export function applyHint(column: Column, hint: Partial<Column>): void {
  const { type: _type, origin: _origin, ...rest } = hint;
  Object.assign(column, rest);
}

function normalizePath(path: string): string {
  return path
    .split(".")
    .map((p) => normalizeIdentifier(p))
    .join("__");
}

function isSameOrigin(name: string, origin: string): boolean {
  return name === origin || name === origin.split(".").join("__");
}
