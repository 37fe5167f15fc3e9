import { RotatingJsonlWriter, type WrittenFile } from "../formats/jsonl-writer.js";
import type { TypedCsvLayout } from "../formats/typed-csv.js";
import { columnOf, type Schema } from "../schema/schema.js";
import type { DataType, Table } from "../schema/types.js";
import { shortHash } from "../util/hash.js";
import type { Row, RowSink } from "./row-sink.js";

/** Extra field of merge root rows in load files (never a schema column). */
export const SEQ_FIELD = "_ferry_seq";

type Encoder = (v: unknown) => string;

interface Field {
  name: string;
  encode: Encoder;
}

/** JSON-safe text for json columns: bigints as numbers, binary as base64, non-finite numbers as null. */
export function toJsonText(value: unknown): string {
  return (
    JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
      const raw = this[key];
      if (typeof raw === "bigint") return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
      if (raw instanceof Uint8Array) return Buffer.from(raw).toString("base64");
      if (typeof raw === "string" && !raw.isWellFormed()) return raw.toWellFormed();
      return v;
    }) ?? "null"
  );
}

// Control characters are exactly what JSON must escape: the lint rule against them does not apply here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes U+0000-U+001F
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** JSON text of a string; most strings need no escaping, and testing for that is faster than escaping. */
function jsonString(v: unknown): string {
  if (typeof v !== "string") return JSON.stringify(v);
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
}

/**
 * Load files are JSON lines whose values are already in their column's type: the destination reads them with an
 * explicit column list (DuckDB's read_json, Postgres COPY ...). Binary is base64; non-finite doubles are strings.
 */
const ENCODERS: Record<DataType, Encoder> = {
  text: jsonString,
  bigint: (v) => (typeof v === "bigint" ? v.toString() : String(v)),
  double: (v) => (Number.isFinite(v as number) ? String(v) : JSON.stringify(String(v))),
  bool: (v) => (v ? "true" : "false"),
  timestamp: jsonString,
  date: jsonString,
  time: jsonString,
  decimal: (v) => JSON.stringify(String(v)),
  json: (v) => toJsonText(v),
  binary: (v) => JSON.stringify(Buffer.from(v as Uint8Array).toString("base64")),
};

/** What the writer keeps per table, looked up once per row. */
interface TableOut {
  table: Table | undefined;
  /** A column's `"name":` text and its value encoder, made once (column types never change). */
  fields: Map<string, Field>;
  rows: number;
  writer: RotatingJsonlWriter;
  /** Rows carry their merge order (`_ferry_seq`). */
  mergeRoot: boolean;
  /** The merge root table of a child table: its rows carry the sequence number of their root row. */
  root: TableOut | undefined;
  /** Sequence number of the last row written (merge root tables). */
  lastSeq?: number;
}

export interface LoadFileIndex {
  /** Table -> load files (basenames) and row count. */
  tables: Record<
    string,
    {
      files: string[];
      rows: number;
      maxLineBytes?: Record<string, number>;
      /** Files that are typed CSV (the others are typed JSONL), with how each maps onto the table. */
      typedCsv?: Record<string, TypedCsvLayout>;
      /** The records each typed CSV file declares: the load checks that it inserts exactly these. */
      typedCsvRows?: Record<string, number>;
    }
  >;
}

/** Adds `add`'s files and rows to `into`, table by table. */
export function mergeIndex(into: LoadFileIndex, add: LoadFileIndex): void {
  for (const [table, t] of Object.entries(add.tables)) {
    const have = into.tables[table];
    if (!have) {
      into.tables[table] = { ...t, files: [...t.files] };
      continue;
    }
    have.files.push(...t.files);
    have.rows += t.rows;
    if (t.maxLineBytes) have.maxLineBytes = { ...have.maxLineBytes, ...t.maxLineBytes };
    if (t.typedCsv) have.typedCsv = { ...have.typedCsv, ...t.typedCsv };
    if (t.typedCsvRows) have.typedCsvRows = { ...have.typedCsvRows, ...t.typedCsvRows };
  }
}

/** Writes normalized rows into per-table, size-rotated JSONL load files. */
export class LoadFileWriter implements RowSink {
  readonly #dir: string;
  readonly #schema: Schema;
  readonly #tables = new Map<string, TableOut>();
  readonly #maxFileBytes: number | undefined;

  readonly #prefix: string;
  /** Added to merge sequence numbers: input files of a package number their rows in file order. */
  #seqBase = 0;

  /** `prefix` keeps file names apart when several writers (workers) share a folder. */
  constructor(dir: string, schema: Schema, options: { maxFileBytes?: number; prefix?: string } = {}) {
    this.#dir = dir;
    this.#schema = schema;
    this.#maxFileBytes = options.maxFileBytes;
    this.#prefix = options.prefix ? `.${options.prefix}` : "";
  }

  /** Starts the rows of the input file with this index: their merge order follows the files' order. */
  beginInput(index: number): void {
    this.#seqBase = index * 2 ** 32;
  }

  write(table: string, row: Row): Promise<void> | undefined {
    const out = this.#tables.get(table) ?? this.#openTable(table);
    const fields = out.fields;
    let line = "{";
    for (const key in row) {
      const v = row[key];
      if (v === undefined || v === null) continue;
      let f = fields.get(key);
      if (!f) {
        const column = out.table !== undefined ? columnOf(out.table, key) : undefined;
        f = { name: `${JSON.stringify(key)}:`, encode: ENCODERS[column?.type ?? "text"] };
        // Cached only once the column exists: its type is final then.
        if (column) fields.set(key, f);
      }
      line += line.length === 1 ? f.name : `,${f.name}`;
      line += f.encode(v);
    }
    const n = ++out.rows;
    // Merge root rows carry their arrival order so "latest wins" deduplication is exact. Their child rows carry
    // the order of their root row: with upsert, duplicates of a key share ids, and only the winner's children load.
    if (out.mergeRoot) {
      const seq = this.#seqBase + n;
      line += `,"${SEQ_FIELD}":${seq}`;
      out.lastSeq = seq;
    } else if (out.root !== undefined) {
      const seq = out.root.lastSeq;
      if (seq !== undefined) line += `,"${SEQ_FIELD}":${seq}`;
    }
    line += "}";
    return out.writer.write(line);
  }

  /** A table's output state, made on its first row (the table is in the schema by then). */
  #openTable(table: string): TableOut {
    const t = this.#schema.getTable(table);
    const rootTable = t?.parent !== undefined ? this.#schema.rootOf(table) : undefined;
    const out: TableOut = {
      table: t,
      fields: new Map(),
      rows: 0,
      mergeRoot: t?.writeDisposition === "merge" && t.parent === undefined,
      root:
        rootTable?.writeDisposition === "merge"
          ? (this.#tables.get(rootTable.name) ?? this.#openTable(rootTable.name))
          : undefined,
      writer: new RotatingJsonlWriter(
        this.#dir,
        fileSafe(table) + this.#prefix,
        this.#maxFileBytes ? { maxFileBytes: this.#maxFileBytes } : {},
      ),
    };
    this.#tables.set(table, out);
    return out;
  }

  /** Closes every open file after a failure (their content is discarded with the normalize folder). */
  async abort(): Promise<void> {
    for (const out of this.#tables.values()) await out.writer.abort();
  }

  async close(): Promise<LoadFileIndex> {
    const tables: LoadFileIndex["tables"] = {};
    for (const [table, out] of this.#tables) {
      if (out.rows === 0) continue;
      const files: WrittenFile[] = await out.writer.close();
      tables[table] = {
        files: files.map((f) => f.path.slice(this.#dir.length + 1)),
        maxLineBytes: Object.fromEntries(
          files.map((f) => [f.path.slice(this.#dir.length + 1), f.maxLineBytes]),
        ),
        rows: out.rows,
      };
    }
    return { tables };
  }
}

/** File names stay short and portable whatever the table is called. */
export function fileSafe(table: string): string {
  return /^[a-z0-9_]{1,60}$/.test(table) ? table : `t_${shortHash(table, 10)}`;
}
