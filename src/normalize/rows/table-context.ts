import type { ResolvedContract } from "../../schema/contract.js";
import type { Table } from "../../schema/types.js";
import type { KeySlot } from "./key-slot.js";

/** What the normalizer keeps per table while it normalizes: the table, its contract and what it learned of its keys. */
export interface TableCtx {
  table: Table;
  contract: ResolvedContract;
  /** Created during this normalization: the tables contract allowed it, so columns evolve freely. */
  isNew: boolean;
  nesting: number;
  merge: boolean;
  upsertKey: string[] | undefined;
  rootName: string;
  maxNesting: number;
  /** The table's system columns are in the schema (checked once per table, not per row). */
  hasSystemColumns?: boolean;
  /** The table is in the schema (checked per row until it is). */
  inSchema?: boolean;
  /** Rows written. */
  rows: number;
  /** What flattening learned about the table's keys (names, columns), so the next row reuses it. */
  slots: TableSlot;
}

/** A key slot whose lists lead to a child table's state. */
export type TableSlot = KeySlot<TableCtx>;

/** Thrown while a row is flattened when its table's contract (`discard_row`) drops the whole row. */
export class DiscardRow extends Error {}
