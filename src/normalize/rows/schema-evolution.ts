import { alwaysVariant, CANNOT_COERCE, coerce } from "../../schema/infer.js";
import { identifierWithin, shortenIdentifier, variantColumnName } from "../../schema/naming.js";
import { columnOf, type Schema } from "../../schema/schema.js";
import type { Column, DataType } from "../../schema/types.js";
import { shortHash } from "../../util/hash.js";
import { frozenColumnError, frozenTableError } from "./contract-errors.js";
import type { Row } from "./row-sink.js";
import { DiscardRow, type TableCtx, type TableSlot } from "./table-context.js";

/** The counters schema evolution adds to: what a contract discarded. */
interface DiscardCounts {
  discardedRows: number;
  discardedValues: number;
}

/**
 * How the schema grows while rows are normalized: a value's column (new, or under a conflict-free name), variant
 * columns for values that do not fit their column, new tables and system columns, each under the table's contract
 * (evolve, freeze, discard_row, discard_value).
 */
export class SchemaEvolution {
  readonly #schema: Schema;
  readonly #maxLen: number;
  readonly #stats: DiscardCounts;
  readonly #rootIsNew: (rootName: string) => boolean;

  /** `rootIsNew`: whether the root table of that name was created in this normalization (its children evolve freely). */
  constructor(
    schema: Schema,
    maxLen: number,
    stats: DiscardCounts,
    rootIsNew: (rootName: string) => boolean,
  ) {
    this.#schema = schema;
    this.#maxLen = maxLen;
    this.#stats = stats;
    this.#rootIsNew = rootIsNew;
  }

  /** `name` under the destination's identifier limit. */
  columnName(name: string): string {
    return identifierWithin(name, this.#maxLen);
  }

  /**
   * Puts `value` (of inferred `type`) into the row under its column, making the column, a conflict-free name or a
   * variant column as needed. Returns the column when the value went into it as it is; with `slot`, remembers variant
   * columns that every value of the type goes to.
   */
  setValue(
    ctx: TableCtx,
    row: Row,
    rawName: string,
    origin: string,
    canonical: boolean,
    value: unknown,
    type: DataType,
    slot?: TableSlot,
  ): Column | undefined {
    // A bigint too wide even for a default decimal (38, 9) would fail the load: it is kept exactly, as text.
    if (
      type === "decimal" &&
      typeof value === "bigint" &&
      coerce(value, type, { name: rawName, type }) === CANNOT_COERCE
    ) {
      this.setValue(ctx, row, rawName, origin, canonical, value.toString(), "text");
      return undefined;
    }
    let name = this.columnName(rawName);
    let col = columnOf(ctx.table, name);
    // Two source keys that normalize to one name ("Name", "name"): the first keeps it, the other gets a hashed suffix.
    if (col !== undefined && !(col.origin !== undefined ? col.origin === origin : canonical)) {
      name = this.conflictName(name, origin);
      col = columnOf(ctx.table, name);
    }
    if (col === undefined) {
      col = this.#newColumn(ctx, name, origin, canonical && name === rawName, value, type);
      if (col === undefined) return undefined;
    }
    const coerced = coerce(value, type, col);
    if (coerced !== CANNOT_COERCE) {
      row[name] = coerced;
      return col;
    }
    const variant = this.#setVariant(ctx, row, col, value, type);
    if (slot !== undefined && variant !== undefined && alwaysVariant(type, col.type)) {
      slot.variants ??= {};
      slot.variants[type] = variant;
    }
    return undefined;
  }

  /** The name of a key whose normalized name another key already has. */
  conflictName(name: string, origin: string): string {
    return shortenIdentifier(`${name}_${shortHash(origin, 4)}`, this.#maxLen);
  }

  #newColumn(
    ctx: TableCtx,
    name: string,
    origin: string,
    originIsName: boolean,
    value: unknown,
    type: DataType,
  ): Column | undefined {
    if (!ctx.isNew && this.#schema.getTable(ctx.table.name) !== undefined) {
      const mode = ctx.contract.columns;
      if (mode !== "evolve" && !this.#contractAllows(mode, ctx, "columns", name, type, value))
        return undefined;
    }
    const column: Column = { name, type };
    if (!originIsName) column.origin = origin;
    return this.#schema.addColumn(ctx.table.name, column);
  }

  /** Puts `value` into `col`'s variant column for `type`; returns that column, or undefined if the contract drops it. */
  #setVariant(ctx: TableCtx, row: Row, col: Column, value: unknown, type: DataType): Column | undefined {
    const vname = shortenIdentifier(variantColumnName(col.name, type), this.#maxLen);
    let variant = columnOf(ctx.table, vname);
    if (variant === undefined) {
      const mode = ctx.contract.data_type;
      if (mode !== "evolve" && !this.#contractAllows(mode, ctx, "data_type", col.name, type, value, col.type))
        return undefined;
      variant = this.#schema.addColumn(ctx.table.name, { name: vname, type, variantOf: col.name });
    }
    row[vname] = value;
    return variant;
  }

  /** Applies freeze/discard modes; returns true when the value may be stored. */
  #contractAllows(
    mode: string,
    ctx: TableCtx,
    entity: "columns" | "data_type",
    column: string,
    type: DataType,
    value: unknown,
    existingType?: DataType,
  ): boolean {
    if (mode === "discard_value") {
      this.#stats.discardedValues++;
      return false;
    }
    if (mode === "discard_row") throw new DiscardRow();
    throw frozenColumnError(ctx.table.name, entity, column, type, value, existingType);
  }

  /** Adds a new table to the schema when its contract allows; false when the row is to be discarded. */
  allowNewTable(ctx: TableCtx, obj: Record<string, unknown>): boolean {
    // A child table of a table created in this run is part of the new table, like its columns.
    const childOfNew = ctx.table.parent !== undefined && this.#rootIsNew(ctx.rootName);
    if (ctx.contract.tables === "evolve" || childOfNew) {
      this.#schema.addTable(ctx.table);
      return true;
    }
    if (ctx.contract.tables === "discard_row" || ctx.contract.tables === "discard_value") {
      this.#stats.discardedRows++;
      return false;
    }
    throw frozenTableError(ctx.table.name, obj);
  }

  /** Adds a system column (`_ferry_id`...) to the table if it lacks it. */
  ensureSystemColumn(ctx: TableCtx, name: string, value: unknown): void {
    if (columnOf(ctx.table, name) !== undefined) return;
    const type: DataType = typeof value === "number" ? "bigint" : "text";
    // origin "" marks a system column: a data key named "_ferry_id" is treated as a conflicting key.
    this.#schema.addColumn(ctx.table.name, { name, type, nullable: false, origin: "" });
  }
}
