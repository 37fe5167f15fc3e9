import type { TableHints } from "../package/table-hints.js";
import { identifierWithin, normalizeIdentifier } from "../schema/naming.js";
import type { Table } from "../schema/types.js";
import { DataError } from "../util/errors.js";

/** The schema's tables by name (a Schema or its stored form). */
interface TableLookup {
  getTable(name: string): Table | undefined;
}

const hasColumn = (table: Table, raw: string, flag: "primaryKey" | "mergeKey") => {
  const name = raw
    .split(".")
    .map((p) => normalizeIdentifier(p))
    .join("__");
  return Object.values(table.columns).some((c) => c[flag] && (c.name === name || c.origin === raw));
};

/**
 * A merge needs its key columns: checks, after normalize and before any SQL, that each merge table of the package
 * has the columns its primary key and merge key name. A key the records lack would otherwise reach the destination
 * as a merge statement on no columns.
 *
 * @example
 * checkMergeKeys(schema, manifest.tables, { things: 3 }, 63) // throws DataError: table "things" merges on primary key "id", ...
 */
export function checkMergeKeys(
  schema: TableLookup,
  tables: Record<string, TableHints>,
  rows: Record<string, number>,
  maxIdentifierLength: number,
): void {
  for (const [name, hints] of Object.entries(tables)) {
    if (hints.writeDisposition !== "merge") continue;
    const table = schema.getTable(identifierWithin(name, maxIdentifierLength));
    // No rows in this package: nothing to merge (typed column hints may have made the table without any record).
    if (!table || !rows[table.name]) continue;
    for (const [flag, keys, option] of [
      ["primaryKey", hints.primaryKey ?? [], "primary key"],
      ["mergeKey", hints.mergeKey ?? [], "merge key"],
    ] as const) {
      const missing = keys.filter((k) => !hasColumn(table, k, flag));
      if (missing.length === 0) continue;
      const fields = Object.values(table.columns)
        .filter((c) => !c.name.startsWith("_ferry_") && !c.variantOf)
        .map((c) => c.origin ?? c.name);
      const quoted = missing.map((k) => `"${k}"`).join(", ");
      throw new DataError(
        `table "${table.name}" (resource "${hints.resource}") merges on ${option} ${quoted}, but its records have no ${missing.length > 1 ? "such fields" : `${quoted} field`}; the records have: ${fields.join(", ") || "no fields"}`,
        {
          fields: { table: table.name, resource: hints.resource, column: missing.join(",") },
          hint: `set the ${option} (${option === "primary key" ? "primary_key / primaryKey" : "merge_key / mergeKey"}) to fields the records have, or load with write disposition "append" or "replace"`,
        },
      );
    }
  }
}
