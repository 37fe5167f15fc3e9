import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { recordSizeAt } from "./record-codec.js";

/** A sparse index entry every this many records: finding a record's byte position scans at most this many. */
const INDEX_EVERY = 1024;

/** Read positions a segment remembers (a few readers, each at the start and end of its last read). */
const CURSORS = 8;

/** The name of the segment whose first record has offset `base`. */
export function segmentName(base: number): string {
  return `${String(base).padStart(20, "0")}.seg`;
}

/** The base offset a segment file name stands for, or undefined for other files. */
export function segmentBase(name: string): number | undefined {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * One segment file of a partition: records `base .. base + count - 1`, `bytes` of intact data. Keeps a sparse
 * index of record positions, built as records are appended or when the file is first scanned.
 */
export class Segment {
  readonly base: number;
  readonly path: string;
  count: number;
  bytes: number;
  /** When the last record was appended (ms), for retention. */
  modifiedMs: number;
  /** `index[k]` is the byte position of record `k * INDEX_EVERY`; undefined until the file was scanned. */
  #index: number[] | undefined;

  constructor(dir: string, base: number, count: number, bytes: number, modifiedMs: number, index?: number[]) {
    this.base = base;
    this.path = join(dir, segmentName(base));
    this.count = count;
    this.bytes = bytes;
    this.modifiedMs = modifiedMs;
    this.#index = index;
  }

  get end(): number {
    return this.base + this.count;
  }

  /** Notes records appended at `position` (their sizes in order). */
  appended(position: number, sizes: number[]): void {
    let pos = position;
    for (const size of sizes) {
      if (this.#index && this.count % INDEX_EVERY === 0) this.#index.push(pos);
      this.count++;
      pos += size;
    }
    this.bytes = pos;
    this.modifiedMs = Date.now();
  }

  /**
   * Byte positions of records reads started or stopped at, newest last: a batch reads the same range twice (its
   * tokens, then its events) and the next batch starts where the last stopped, so these are where reads start.
   */
  readonly #cursors = new Map<number, number>();

  /** Notes that record `offset` starts at byte `position` (a read started or stopped there). */
  remember(offset: number, position: number): void {
    this.#cursors.delete(offset);
    this.#cursors.set(offset, position);
    if (this.#cursors.size > CURSORS) this.#cursors.delete(this.#cursors.keys().next().value as number);
  }

  /** The byte position of record `offset` (which must be in this segment). */
  async positionOf(offset: number, fh: FileHandle): Promise<number> {
    const known = this.#cursors.get(offset);
    if (known !== undefined) return known;
    const index = this.#index ?? (await this.#scanIndex(fh));
    const k = Math.floor((offset - this.base) / INDEX_EVERY);
    let pos = index[k] ?? 0;
    const header = Buffer.allocUnsafe(8);
    for (let n = this.base + k * INDEX_EVERY; n < offset; n++) {
      await fh.read(header, 0, 8, pos);
      pos += 8 + header.readUInt32LE(0);
    }
    return pos;
  }

  async #scanIndex(fh: FileHandle): Promise<number[]> {
    const index: number[] = [];
    const header = Buffer.allocUnsafe(8);
    let pos = 0;
    for (let n = 0; n < this.count; n++) {
      if (n % INDEX_EVERY === 0) index.push(pos);
      await fh.read(header, 0, 8, pos);
      pos += 8 + header.readUInt32LE(0);
    }
    this.#index = index;
    return index;
  }

  /**
   * Opens the newest segment of a partition after a restart: keeps its intact records and cuts a torn tail (a record
   * cut short or failing its checksum, and everything after it).
   */
  static async recover(dir: string, base: number): Promise<{ segment: Segment; cutBytes: number }> {
    const path = join(dir, segmentName(base));
    const fh = await open(path, "r+");
    try {
      const { size, mtimeMs } = await fh.stat();
      const index: number[] = [];
      let count = 0;
      let pos = 0;
      let buf = Buffer.alloc(0);
      let bufStart = 0;
      for (;;) {
        if (count % INDEX_EVERY === 0) index.push(pos);
        let rel = pos - bufStart;
        let recordSize = recordSizeAt(buf, rel);
        if (recordSize === undefined && bufStart + buf.length < size) {
          // Read on from `pos`: at least the next record's declared length, and 1 MB at a time.
          const head = Buffer.allocUnsafe(8);
          const { bytesRead } = await fh.read(head, 0, 8, pos);
          const need = bytesRead === 8 ? 8 + head.readUInt32LE(0) : 8;
          const len = Math.min(Math.max(need, 1 << 20), size - pos);
          buf = Buffer.allocUnsafe(len);
          const r = await fh.read(buf, 0, len, pos);
          buf = buf.subarray(0, r.bytesRead);
          bufStart = pos;
          rel = 0;
          recordSize = recordSizeAt(buf, rel);
        }
        if (recordSize === undefined) {
          if (count % INDEX_EVERY === 0) index.pop();
          break;
        }
        pos += recordSize;
        count++;
      }
      if (pos < size) {
        await fh.truncate(pos);
        await fh.sync();
      }
      return { segment: new Segment(dir, base, count, pos, mtimeMs, index), cutBytes: size - pos };
    } finally {
      await fh.close();
    }
  }
}
