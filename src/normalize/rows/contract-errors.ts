import type { DataType } from "../../schema/types.js";
import { SchemaContractError } from "../../util/errors.js";

/**
 * The error of a "freeze" contract that meets a new column, or a value that does not fit its column's type: names
 * the table, column, type and value, and the settings that would let it through.
 *
 * @example
 * throw frozenColumnError("users", "columns", "nickname", "text", "bob");
 */
export function frozenColumnError(
  table: string,
  entity: "columns" | "data_type",
  column: string,
  type: DataType,
  value: unknown,
  existingType?: DataType,
): SchemaContractError {
  const what =
    entity === "columns"
      ? `new column "${column}" of type ${type}`
      : `value of type ${type} for column "${column}" of type ${existingType}`;
  return new SchemaContractError(
    `schema contract "freeze" on ${entity} of table "${table}" rejects ${what} (value: ${preview(value)})`,
    {
      fields: { table, column, type },
      hint: `change the resource's schemaContract (${entity}: "evolve", "discard_row" or "discard_value") or fix the data`,
    },
  );
}

/** The error of a "freeze" contract on tables that meets a new table, with its first row. */
export function frozenTableError(table: string, firstRow: unknown): SchemaContractError {
  return new SchemaContractError(
    `schema contract "freeze" on tables rejects new table "${table}" (first row: ${preview(firstRow)})`,
    {
      fields: { table },
      hint: 'change the schemaContract (tables: "evolve" or "discard_row"), or load into an existing table',
    },
  );
}

/** A value as short JSON text for an error message. */
function preview(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}` : v)) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
