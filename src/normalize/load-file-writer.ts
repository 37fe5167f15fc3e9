import { RotatingJsonlWriter, type WrittenFile } from "../formats/jsonl-writer.js";
import { columnOf, type Schema } from "../schema/schema.js";
import type { DataType } from "../schema/types.js";
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

/**
 * Load files are JSON lines whose values are already in their column's type: the destination reads them with an
 * explicit column list (DuckDB's read_json, Postgres COPY ...). Binary is base64; non-finite doubles are strings.
 */
const ENCODERS: Record<DataType, Encoder> = {
  text: (v) => JSON.stringify(v),
  bigint: (v) => (typeof v === "bigint" ? v.toString() : String(v)),
  double: (v) => (Number.isFinite(v as number) ? String(v) : JSON.stringify(String(v))),
  bool: (v) => (v ? "true" : "false"),
  timestamp: (v) => JSON.stringify(v),
  date: (v) => JSON.stringify(v),
  time: (v) => JSON.stringify(v),
  decimal: (v) => JSON.stringify(String(v)),
  json: (v) => toJsonText(v),
  binary: (v) => JSON.stringify(Buffer.from(v as Uint8Array).toString("base64")),
};

export interface LoadFileIndex {
  /** Table -> load files (basenames) and row count. */
  tables: Record<string, { files: string[]; rows: number; maxLineBytes?: Record<string, number> }>;
}

/** Writes normalized rows into per-table, size-rotated JSONL load files. */
export class LoadFileWriter implements RowSink {
  readonly #dir: string;
  readonly #schema: Schema;
  readonly #writers = new Map<string, RotatingJsonlWriter>();
  readonly #rows = new Map<string, number>();
  /** Sequence number of the last row written to each merge root table. */
  readonly #rootSeq = new Map<string, number>();
  readonly #maxFileBytes: number | undefined;

  readonly #prefix: string;
  /** Per table: a column's `"name":` text and its value encoder, made once (column types never change). */
  readonly #fields = new Map<string, Map<string, Field>>();
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
    const t = this.#schema.getTable(table);
    let fields = this.#fields.get(table);
    if (!fields) {
      fields = new Map();
      this.#fields.set(table, fields);
    }
    let line = "{";
    for (const key in row) {
      const v = row[key];
      if (v === undefined || v === null) continue;
      let f = fields.get(key);
      if (!f) {
        const column = t !== undefined ? columnOf(t, key) : undefined;
        f = { name: `${JSON.stringify(key)}:`, encode: ENCODERS[column?.type ?? "text"] };
        // Cached only once the column exists: its type is final then.
        if (column) fields.set(key, f);
      }
      line += line.length === 1 ? f.name : `,${f.name}`;
      line += f.encode(v);
    }
    const n = (this.#rows.get(table) ?? 0) + 1;
    // Merge root rows carry their arrival order so "latest wins" deduplication is exact. Their child rows carry
    // the order of their root row: with upsert, duplicates of a key share ids, and only the winner's children load.
    if (t?.writeDisposition === "merge" && t.parent === undefined) {
      const seq = this.#seqBase + n;
      line += `,"${SEQ_FIELD}":${seq}`;
      this.#rootSeq.set(table, seq);
    } else if (t?.parent !== undefined) {
      const root = this.#mergeRootOf(table);
      const seq = root === undefined ? undefined : this.#rootSeq.get(root);
      if (seq !== undefined) line += `,"${SEQ_FIELD}":${seq}`;
    }
    line += "}";
    let w = this.#writers.get(table);
    if (!w) {
      w = new RotatingJsonlWriter(
        this.#dir,
        fileSafe(table) + this.#prefix,
        this.#maxFileBytes ? { maxFileBytes: this.#maxFileBytes } : {},
      );
      this.#writers.set(table, w);
    }
    this.#rows.set(table, n);
    return w.write(line);
  }

  /** The merge root of a child table (cached: this runs for every child row). */
  #mergeRootOf(table: string): string | undefined {
    if (!this.#mergeRoots.has(table)) {
      const root = this.#schema.rootOf(table);
      this.#mergeRoots.set(table, root?.writeDisposition === "merge" ? root.name : undefined);
    }
    return this.#mergeRoots.get(table);
  }

  readonly #mergeRoots = new Map<string, string | undefined>();

  async close(): Promise<LoadFileIndex> {
    const tables: LoadFileIndex["tables"] = {};
    for (const [table, w] of this.#writers) {
      const files: WrittenFile[] = await w.close();
      tables[table] = {
        files: files.map((f) => f.path.slice(this.#dir.length + 1)),
        maxLineBytes: Object.fromEntries(
          files.map((f) => [f.path.slice(this.#dir.length + 1), f.maxLineBytes]),
        ),
        rows: this.#rows.get(table) ?? 0,
      };
    }
    return { tables };
  }
}

/** File names stay short and portable whatever the table is called. */
function fileSafe(table: string): string {
  return /^[a-z0-9_]{1,60}$/.test(table) ? table : `t_${shortHash(table, 10)}`;
}
