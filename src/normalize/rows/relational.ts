import type { CsvColumn, TypedCsvLayout } from "../../formats/typed-csv.js";
import type { TableHints } from "../../package/table-hints.js";
import { resolveContract } from "../../schema/contract.js";
import { inferType } from "../../schema/infer.js";
import { shortenIdentifier } from "../../schema/naming.js";
import { columnOf, type Schema } from "../../schema/schema.js";
import { type Column, SYSTEM_COLUMNS, type Table } from "../../schema/types.js";
import { DataError } from "../../util/errors.js";
import { derivedId, uniqueId } from "../../util/hash.js";
import { applyHint, hintedColumns } from "./column-hints.js";
import { keySlot, rootSlot } from "./key-slot.js";
import type { Row, RowSink } from "./row-sink.js";
import { SchemaEvolution } from "./schema-evolution.js";
import { DiscardRow, type TableCtx, type TableSlot } from "./table-context.js";

/** Nesting beyond this many levels (objects or lists) is stored as json, whatever the hints say. */
export const HARD_NESTING_LIMIT = 32;

const MAX_SLOTS_PER_OBJECT = 4096;

export interface NormalizerOptions {
  schema: Schema;
  loadId: string;
  maxIdentifierLength: number;
  sink: RowSink;
}

/** Counters a run reports so that nothing is dropped silently. */
export interface NormalizeStats {
  rows: Record<string, number>;
  discardedRows: number;
  discardedValues: number;
  skippedNullItems: number;
  warnings: string[];
}

/** A list found while flattening a row: its key's slot (child table name, source path) and its elements. */
type ChildList = [slot: TableSlot, list: unknown[]];

/**
 * Turns nested items into relational rows: objects flatten to `a__b` columns, lists become child tables
 * `<table>__<field>` linked by `_ferry_parent_id`/`_ferry_list_idx`; types are inferred, coerced, and the
 * schema evolves under the table's contract.
 */
export class RelationalNormalizer {
  readonly #schema: Schema;
  readonly #loadId: string;
  readonly #maxLen: number;
  readonly #sink: RowSink;
  readonly #ctx = new Map<string, TableCtx>();
  readonly #stats: NormalizeStats = {
    rows: {},
    discardedRows: 0,
    discardedValues: 0,
    skippedNullItems: 0,
    warnings: [],
  };
  readonly #evolution: SchemaEvolution;

  /** Counters so far; rows per table are counted on each table's state (a per-row object write is costly). */
  get stats(): NormalizeStats {
    const rows: Record<string, number> = {};
    for (const ctx of this.#ctx.values())
      if (ctx.rows > 0) rows[ctx.table.name] = (rows[ctx.table.name] ?? 0) + ctx.rows;
    this.#stats.rows = rows;
    return this.#stats;
  }

  constructor(opts: NormalizerOptions) {
    this.#schema = opts.schema;
    this.#loadId = opts.loadId;
    this.#maxLen = opts.maxIdentifierLength;
    this.#sink = opts.sink;
    this.#evolution = new SchemaEvolution(
      opts.schema,
      opts.maxIdentifierLength,
      this.#stats,
      (rootName) => this.#ctx.get(rootName)?.isNew === true,
    );
  }

  /** Prepares a root table from the resource's hints (creates it lazily on the first row). */
  rootTable(name: string, hints: TableHints): TableCtx {
    const cached = this.#ctx.get(name);
    if (cached) return cached;
    const contract = resolveContract(hints.schemaContract);
    const merge = hints.writeDisposition === "merge";
    // A resource's table name longer than the destination allows is shortened like any other identifier.
    const tableName = this.#evolution.columnName(name);
    const ctx: TableCtx = {
      table: this.#schema.getTable(tableName) ?? { name: tableName, columns: {} },
      contract,
      isNew: this.#schema.getTable(tableName) === undefined,
      nesting: 0,
      merge,
      upsertKey: merge && hints.mergeStrategy === "upsert" ? hints.primaryKey : undefined,
      rootName: name,
      maxNesting: Math.min(hints.maxTableNesting ?? HARD_NESTING_LIMIT, HARD_NESTING_LIMIT),
      slots: rootSlot(),
      rows: 0,
    };
    const tableHints: Partial<Table> = {
      resource: hints.resource,
      writeDisposition: hints.writeDisposition,
      ...(hints.mergeStrategy ? { mergeStrategy: hints.mergeStrategy } : {}),
      ...(hints.schemaContract !== undefined ? { schemaContract: contract } : {}),
      ...(hints.storage ? { storage: hints.storage } : {}),
    };
    Object.assign(ctx.table, tableHints);
    if (hints.tableFormat !== undefined && hints.tableFormat !== "native")
      ctx.table.tableFormat = hints.tableFormat;
    else delete ctx.table.tableFormat;
    this.#applyColumnHints(ctx, hints);
    this.#ctx.set(name, ctx);
    return ctx;
  }

  /**
   * Normalizes one extracted item into rows of `table` and its child tables. Returns a promise only when a load
   * file must be awaited (backpressure), so the common case costs no promise.
   */
  normalizeItem(item: unknown, root: TableCtx): Promise<void> | undefined {
    let obj: Record<string, unknown>;
    if (item === null || item === undefined) {
      this.#stats.skippedNullItems++;
      return undefined;
    }
    if (typeof item !== "object" || Array.isArray(item) || item instanceof Uint8Array) obj = { value: item };
    else obj = item as Record<string, unknown>;
    const id = root.upsertKey
      ? derivedId(root.table.name, ...root.upsertKey.map((k) => keyValue(obj, k)))
      : uniqueId();
    const sys: Row = { [SYSTEM_COLUMNS.id]: id, [SYSTEM_COLUMNS.loadId]: this.#loadId };
    return this.#processRow(root, obj, sys, id, id, 0);
  }

  /**
   * How a typed CSV file of `root` loads as it is, when nothing in it needs per-row work: the table is not merged,
   * the schema takes every column as it stands (a new column only where the contract lets columns evolve) and each
   * existing column already has the file's type. Adds what is missing to the schema and counts the rows. Returns
   * undefined, having changed nothing but a new table, when the file's records must go through `normalizeItem`
   * instead (variants, contracts and name conflicts then work as for any record).
   */
  typedCsvLayout(root: TableCtx, columns: readonly CsvColumn[], rows: number): TypedCsvLayout | undefined {
    if (root.merge || root.table.parent !== undefined) return undefined;
    const table = root.table;
    if (!root.inSchema && this.#schema.getTable(table.name) === undefined) {
      if (root.contract.tables !== "evolve") return undefined;
      this.#schema.addTable(table);
    }
    const evolves = root.isNew || root.contract.columns === "evolve";
    const names: string[] = [];
    const missing: Column[] = [];
    for (const c of columns) {
      const slot = keySlot(rootSlot(), c.name);
      const name = this.#evolution.columnName(slot.name);
      if (names.includes(name)) return undefined;
      const col = columnOf(table, name);
      if (col === undefined) {
        if (!evolves) return undefined;
        const column: Column = { name, type: c.type };
        if (c.precision !== undefined) column.precision = c.precision;
        if (c.scale !== undefined) column.scale = c.scale;
        if (!(slot.canonical && name === slot.name)) column.origin = slot.origin;
        missing.push(column);
      } else if (
        !(col.origin !== undefined ? col.origin === slot.origin : slot.canonical) ||
        !sameType(col, c)
      ) {
        return undefined;
      }
      names.push(name);
    }
    for (const column of missing) this.#schema.addColumn(table.name, column);
    this.#evolution.ensureSystemColumn(root, SYSTEM_COLUMNS.id, "");
    this.#evolution.ensureSystemColumn(root, SYSTEM_COLUMNS.loadId, "");
    root.inSchema = true;
    root.hasSystemColumns = true;
    root.rows += rows;
    return {
      columns: names,
      constants: { [SYSTEM_COLUMNS.loadId]: this.#loadId },
      uniqueIds: [SYSTEM_COLUMNS.id],
    };
  }

  #processRow(
    ctx: TableCtx,
    obj: Record<string, unknown>,
    sys: Row,
    rowId: string,
    rootId: string,
    depth: number,
  ): Promise<void> | undefined {
    if (!ctx.inSchema) {
      if (this.#schema.getTable(ctx.table.name) === undefined && !this.#evolution.allowNewTable(ctx, obj))
        return undefined;
      // Tables are never removed while normalizing: once in the schema, the check is done.
      ctx.inSchema = true;
    }
    const row: Row = sys;
    const lists: ChildList[] = [];
    try {
      if (!ctx.hasSystemColumns) {
        for (const [k, v] of Object.entries(sys)) this.#evolution.ensureSystemColumn(ctx, k, v);
        ctx.hasSystemColumns = true;
      }
      this.#flatten(ctx, row, obj, ctx.slots, depth, lists);
    } catch (err) {
      if (err instanceof DiscardRow) {
        this.#stats.discardedRows++;
        return undefined;
      }
      throw err;
    }
    const pending = this.#sink.write(ctx.table.name, row);
    ctx.rows++;
    if (lists.length === 0) return pending;
    if (pending) return pending.then(() => this.#processLists(ctx, lists, rowId, rootId, depth, 0, 0));
    return this.#processLists(ctx, lists, rowId, rootId, depth, 0, 0);
  }

  /** Rows of the child lists from list `li`, element `from` on; continues after an awaited write where it stopped. */
  #processLists(
    ctx: TableCtx,
    lists: ChildList[],
    parentId: string,
    rootId: string,
    depth: number,
    li: number,
    from: number,
  ): Promise<void> | undefined {
    for (let l = li; l < lists.length; l++) {
      const [slot, list] = lists[l] as ChildList;
      // The child table of a key is cached on its slot (the slot belongs to this parent table).
      const child = slot.childTable ?? this.#childTable(ctx, slot.name, slot.origin);
      slot.childTable = child;
      for (let i = l === li ? from : 0; i < list.length; i++) {
        const el = list[i];
        if (el === null || el === undefined) continue;
        const childId = derivedId(parentId, child.table.name, String(i));
        const childSys: Row = {
          [SYSTEM_COLUMNS.id]: childId,
          [SYSTEM_COLUMNS.parentId]: parentId,
          [SYSTEM_COLUMNS.listIdx]: i,
        };
        if (ctx.merge || child.merge) childSys[SYSTEM_COLUMNS.rootId] = rootId;
        let childObj: Record<string, unknown>;
        if (Array.isArray(el)) childObj = { value: el };
        else if (typeof el === "object" && !(el instanceof Uint8Array))
          childObj = el as Record<string, unknown>;
        else childObj = { value: el };
        const pending = this.#processRow(child, childObj, childSys, childId, rootId, depth + 1);
        if (pending) {
          return pending.then(() => this.#processLists(ctx, lists, parentId, rootId, depth, l, i + 1));
        }
      }
    }
    return undefined;
  }

  #flatten(
    ctx: TableCtx,
    row: Row,
    obj: Record<string, unknown>,
    parent: TableSlot,
    depth: number,
    lists: ChildList[],
  ): void {
    const slots = parent.nested ?? new Map<string, TableSlot>();
    parent.nested = slots;
    for (const key in obj) {
      const v = obj[key];
      if (v === null || v === undefined) continue;
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = keySlot(parent, key);
        // Data whose keys are ids (`{"u123": ...}`) would grow this without end: beyond a bound, slots are not kept.
        if (slots.size < MAX_SLOTS_PER_OBJECT) slots.set(key, slot);
      }
      if (typeof v === "object" && !(v instanceof Uint8Array)) {
        const tooDeep =
          ctx.nesting + (Array.isArray(v) ? 1 : 0) > ctx.maxNesting || depth >= HARD_NESTING_LIMIT;
        const asJson = tooDeep || this.#hintedJson(ctx, slot.name);
        if (!asJson) {
          if (Array.isArray(v)) {
            if (v.length > 0) lists.push([slot, v]);
          } else {
            this.#flatten(ctx, row, v as Record<string, unknown>, slot, depth + 1, lists);
          }
          continue;
        }
        this.#evolution.setValue(ctx, row, slot.name, slot.origin, slot.canonical, v, "json");
        continue;
      }
      const t = inferType(v);
      if (t === undefined) continue;
      // The common case: the key's column is known and the value already has its type (decimals need a range check).
      const known = slot.column;
      if (known !== undefined && known.type === t && t !== "decimal") {
        if (typeof v !== "string" || v.isWellFormed()) {
          row[known.name] = v;
          continue;
        }
      }
      // Next: a type this key's column never takes (a double under a bigint column) and whose variant is known.
      const variant = slot.variants?.[t];
      if (variant !== undefined && (typeof v !== "string" || v.isWellFormed())) {
        row[variant.name] = v;
        continue;
      }
      const placed = this.#evolution.setValue(
        ctx,
        row,
        slot.name,
        slot.origin,
        slot.canonical,
        typeof v === "string" && !v.isWellFormed() ? v.toWellFormed() : v,
        t,
        slot,
      );
      if (placed !== undefined && placed.type === t) slot.column = placed;
    }
  }

  #hintedJson(ctx: TableCtx, name: string): boolean {
    return columnOf(ctx.table, this.#evolution.columnName(name))?.type === "json";
  }

  #childTable(parent: TableCtx, name: string, origin: string): TableCtx {
    let tableName = shortenIdentifier(`${parent.table.name}__${name}`, this.#maxLen);
    const existing = this.#schema.getTable(tableName);
    const fullOrigin = `${parent.table.name}.${origin}`;
    if (existing?.parent !== undefined && existing.parent !== parent.table.name) {
      tableName = this.#evolution.conflictName(tableName, fullOrigin);
    }
    const cached = this.#ctx.get(tableName);
    if (cached) return cached;
    const table: Table = this.#schema.getTable(tableName) ?? {
      name: tableName,
      parent: parent.table.name,
      columns: {},
    };
    const ctx: TableCtx = {
      table,
      contract: parent.contract,
      isNew: parent.isNew || this.#schema.getTable(tableName) === undefined,
      nesting: parent.nesting + 1,
      merge: parent.merge,
      upsertKey: undefined,
      rootName: parent.rootName,
      maxNesting: parent.maxNesting,
      slots: rootSlot(),
      rows: 0,
    };
    this.#ctx.set(tableName, ctx);
    return ctx;
  }

  #applyColumnHints(ctx: TableCtx, hints: TableHints): void {
    const wanted = hintedColumns(hints, {
      columnName: (raw) => this.#evolution.columnName(raw),
      conflictName: (name, origin) => this.#evolution.conflictName(name, origin),
    });
    const later: Record<string, Partial<Column>> = {};
    for (const [name, hint] of wanted) {
      const col = columnOf(ctx.table, name);
      if (col) applyHint(col, hint);
      else if (
        hint.type !== undefined &&
        // A new table under a tables contract other than evolve is created (or rejected) by its first row.
        (this.#schema.getTable(ctx.table.name) !== undefined || ctx.contract.tables === "evolve")
      ) {
        // A typed hint creates its column up front: it is never "only null", and its type is known.
        if (this.#schema.getTable(ctx.table.name) === undefined) this.#schema.addTable(ctx.table);
        this.#schema.addColumn(ctx.table.name, { ...hint, name, type: hint.type });
      } else later[name] = hint;
    }
    if (Object.keys(later).length > 0) this.#pendingHints.set(ctx.table.name, later);
  }

  readonly #pendingHints = new Map<string, Record<string, Partial<Column>>>();

  /** Applies hints (primary key, merge key...) to columns that appeared during normalization. */
  finish(): void {
    for (const [tableName, hints] of this.#pendingHints) {
      const t = this.#schema.getTable(tableName);
      if (!t) continue;
      for (const [name, hint] of Object.entries(hints)) {
        const col = columnOf(t, name);
        if (col) applyHint(col, hint);
      }
    }
  }
}

/** A typed CSV column loads into `col` as it is: same type (and, for decimals, the same precision and scale). */
function sameType(col: Column, c: CsvColumn): boolean {
  if (col.type !== c.type) return false;
  return c.type !== "decimal" || (col.precision === c.precision && col.scale === c.scale);
}

function keyValue(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (v === undefined || v === null) {
    throw new DataError(`primary key "${key}" is missing in a record`, {
      fields: { column: key },
      hint: "every record of a merge resource needs its primary key",
    });
  }
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
