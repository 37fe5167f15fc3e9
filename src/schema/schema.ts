import { createHash } from "node:crypto";
import type { Column, StoredSchema, Table } from "./types.js";
import { ENGINE_VERSION } from "./types.js";

/** One change the normalizer made to the schema, reported in load info. */
export type SchemaChange =
  | { kind: "new_table"; table: string; parent?: string }
  | { kind: "new_column"; table: string; column: string; type: string; variant?: boolean };

/**
 * A versioned, evolving schema: tables with typed columns. Pure data plus bookkeeping; no I/O.
 *
 * @example
 * const s = Schema.empty("github");
 * s.addTable({ name: "issues", columns: {} });
 * s.addColumn("issues", { name: "id", type: "bigint" });
 * s.bumpVersion(); // version 1, new hash
 */
export class Schema {
  readonly name: string;
  #tables: Record<string, Table>;
  #version: number;
  #versionHash: string;
  #changes: SchemaChange[] = [];

  private constructor(stored: StoredSchema) {
    this.name = stored.name;
    this.#tables = structuredClone(stored.tables);
    this.#version = stored.version;
    this.#versionHash = stored.versionHash;
  }

  static empty(name: string): Schema {
    return new Schema({ name, version: 0, versionHash: "", engineVersion: ENGINE_VERSION, tables: {} });
  }

  static fromStored(stored: StoredSchema): Schema {
    return new Schema(stored);
  }

  get version(): number {
    return this.#version;
  }
  get versionHash(): string {
    return this.#versionHash;
  }
  get tables(): Readonly<Record<string, Table>> {
    return this.#tables;
  }
  /** Changes made since this object was created or loaded. */
  get changes(): readonly SchemaChange[] {
    return this.#changes;
  }

  getTable(name: string): Table | undefined {
    // Own tables only: "constructor" or "toString" are table names like any other.
    return Object.hasOwn(this.#tables, name) ? this.#tables[name] : undefined;
  }

  /** Root tables (no parent), in creation order. */
  rootTables(): Table[] {
    return Object.values(this.#tables).filter((t) => t.parent === undefined);
  }

  /** A table and all its descendants (child tables), parents first. */
  tableFamily(root: string): Table[] {
    const out: Table[] = [];
    const visit = (name: string) => {
      const t = this.#tables[name];
      if (!t) return;
      out.push(t);
      for (const child of Object.values(this.#tables)) if (child.parent === name) visit(child.name);
    };
    visit(root);
    return out;
  }

  /** The root ancestor of a table. */
  rootOf(name: string): Table | undefined {
    let t = this.#tables[name];
    while (t?.parent !== undefined) t = this.#tables[t.parent];
    return t;
  }

  addTable(table: Table): Table {
    if (this.getTable(table.name)) throw new Error(`table ${table.name} already exists`);
    this.#tables[table.name] = table;
    this.#changes.push(
      table.parent === undefined
        ? { kind: "new_table", table: table.name }
        : { kind: "new_table", table: table.name, parent: table.parent },
    );
    return table;
  }

  /** Updates table-level hints (write disposition, contract) without touching columns. */
  updateTableHints(name: string, hints: Partial<Omit<Table, "name" | "columns">>): void {
    const t = this.#tables[name];
    if (!t) return;
    for (const [k, v] of Object.entries(hints)) {
      if (v === undefined) continue;
      (t as unknown as Record<string, unknown>)[k] = v;
    }
  }

  addColumn(tableName: string, column: Column): Column {
    const t = this.#tables[tableName];
    if (!t) throw new Error(`table ${tableName} does not exist`);
    t.columns[column.name] = column;
    this.#changes.push({
      kind: "new_column",
      table: tableName,
      column: column.name,
      type: column.type,
      ...(column.variantOf ? { variant: true } : {}),
    });
    return column;
  }

  removeTables(names: string[]): void {
    for (const n of names) delete this.#tables[n];
  }

  /** Recomputes the content hash; bumps the version when the content changed. Returns true if it did. */
  bumpVersion(): boolean {
    const hash = Schema.hashTables(this.#tables);
    if (hash === this.#versionHash) return false;
    this.#versionHash = hash;
    this.#version += 1;
    return true;
  }

  toStored(): StoredSchema {
    return {
      name: this.name,
      version: this.#version,
      versionHash: this.#versionHash,
      engineVersion: ENGINE_VERSION,
      tables: structuredClone(this.#tables),
    };
  }

  static hashTables(tables: Record<string, Table>): string {
    return createHash("sha256").update(stableStringify(tables)).digest("base64url").slice(0, 22);
  }
}

/** JSON with sorted object keys, so equal content always hashes the same. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}

/**
 * A table's own column: `constructor` or `valueOf` are column names, not properties every object inherits.
 *
 * @example
 * columnOf({ name: "t", columns: {} }, "constructor") // undefined
 */
export function columnOf(table: Table, name: string): Column | undefined {
  return Object.hasOwn(table.columns, name) ? table.columns[name] : undefined;
}
