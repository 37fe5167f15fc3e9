import { joinPath, normalizeIdentifier } from "../../schema/naming.js";
import type { Column, DataType } from "../../schema/types.js";

/**
 * What flattening knows about one key at one path of a table. Rows of a table mostly share their shape, so a key's
 * column name, origin and column are worked out on its first occurrence and reused for every later row.
 */
export interface KeySlot<T = unknown> {
  /** Column name before the destination's length limit (`payload__head`). */
  readonly name: string;
  /** The key's path in the source item (`payload.head`); "" for the root. */
  readonly origin: string;
  /** Every key on the path already is its normalized name. */
  readonly canonical: boolean;
  /** Slots of a nested object's keys. */
  nested?: Map<string, KeySlot<T>>;
  /** The column values of the key land in when their inferred type is the column's. */
  column?: Column;
  /** Variant columns by inferred type, for types the key's column never takes (doubles under a bigint column). */
  variants?: Partial<Record<DataType, Column>>;
  /** For a key holding lists: the normalizer's state of its child table (`T`). */
  childTable?: T;
}

/** The slot of a table's top level (the path above its keys). */
export function rootSlot<T>(): KeySlot<T> {
  return { name: "", origin: "", canonical: true };
}

/** The slot of `key` below `parent`. */
export function keySlot<T>(parent: KeySlot<T>, key: string): KeySlot<T> {
  const norm = normalizeIdentifier(key);
  return {
    name: joinPath(parent.name, norm),
    origin: parent.origin === "" ? key : `${parent.origin}.${key}`,
    canonical: parent.canonical && norm === key,
  };
}
