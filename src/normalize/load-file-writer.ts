import { JSONL_ENCODERS, type ValueEncoder } from "../formats/jsonl-values.js";
import { RotatingJsonlWriter, type WrittenFile } from "../formats/jsonl-writer.js";
import { fileSafe, type LoadFileIndex, SEQ_FIELD } from "../package/load-files.js";
import { columnOf, type Schema } from "../schema/schema.js";
import type { Table } from "../schema/types.js";
import type { Row, RowSink } from "./rows/row-sink.js";

interface Field {
  name: string;
  encode: ValueEncoder;
}

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
        f = { name: `${JSON.stringify(key)}:`, encode: JSONL_ENCODERS[column?.type ?? "text"] };
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
        rows: out.rows,
        files: files.map((f) => ({
          id: f.path.slice(this.#dir.length + 1),
          format: "jsonl",
          maxLineBytes: f.maxLineBytes,
        })),
      };
    }
    return { tables };
  }
}
