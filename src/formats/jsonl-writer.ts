import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";

/** Lines are gathered as text up to this many UTF-16 code units before they are encoded. */
const TEXT_FLUSH_CHARS = 32 * 1024;

export interface WrittenFile {
  path: string;
  lines: number;
  /** Size in bytes, newlines included. */
  bytes: number;
  /** The longest line in UTF-8 bytes, newline included (readers size their buffers by it). */
  maxLineBytes: number;
}

/**
 * Appends lines to `<dir>/<prefix>.<n>.jsonl`, starting a new file when one passes `maxFileBytes`.
 * Lines are encoded straight into a byte buffer of `bufferBytes`; a full buffer is written out and awaited, so
 * memory stays bounded and no large joined string is ever built.
 */
export class RotatingJsonlWriter {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #maxFileBytes: number;
  readonly #bufferBytes: number;
  #fh: FileHandle | undefined;
  #current: WrittenFile | undefined;
  #buf: Buffer;
  #pos = 0;
  /** Lines not yet encoded into `#buf`. */
  #text = "";
  /** Filled buffers waiting to be written, in order, with how many of their bytes are used. */
  #full: Array<[Buffer, number]> = [];
  /** Written full-size buffers, reused: a steady stream of writes allocates no new memory. */
  #spare: Buffer[] = [];
  #seq = 0;
  readonly files: WrittenFile[] = [];

  readonly #onClose: ((file: WrittenFile) => void) | undefined;

  /** `onClose` hears of each file once it is complete (synced and closed). */
  constructor(
    dir: string,
    prefix: string,
    options: { maxFileBytes?: number; bufferBytes?: number; onClose?: (file: WrittenFile) => void } = {},
  ) {
    this.#dir = dir;
    this.#onClose = options.onClose;
    this.#prefix = prefix;
    this.#maxFileBytes = options.maxFileBytes ?? 128 * 1024 * 1024;
    this.#bufferBytes = options.bufferBytes ?? 1024 * 1024;
    // Buffers start small and double up to bufferBytes: a package may have hundreds of small tables.
    this.#buf = Buffer.allocUnsafe(0);
  }

  /**
   * Adds a line. Returns a promise only when the disk must be awaited (first file, full buffer, rotation), so the
   * common case costs no microtask.
   */
  write(line: string): Promise<void> | undefined {
    if (!this.#current) return this.#openNext().then(() => this.write(line));
    const cur = this.#current;
    // Exact sizes only for lines that may be the longest (a UTF-16 code unit is at most 3 UTF-8 bytes).
    if (line.length * 3 + 1 > cur.maxLineBytes) {
      const bytes = Buffer.byteLength(line, "utf8") + 1;
      if (bytes > cur.maxLineBytes) cur.maxLineBytes = bytes;
    }
    this.#text += `${line}\n`;
    cur.lines += 1;
    return this.#text.length < TEXT_FLUSH_CHARS ? undefined : this.#flushText(cur);
  }

  /** Encodes the gathered lines, then writes full buffers out (and rotates) when due. */
  #flushText(cur: WrittenFile): Promise<void> | undefined {
    this.#encodeText(cur);
    if (this.#full.length > 0 || cur.bytes >= this.#maxFileBytes) return this.#drain(cur);
    return undefined;
  }

  /** Encodes the lines gathered as text into the byte buffer: one encoding call per ~32 KB instead of per line. */
  #encodeText(cur: WrittenFile): void {
    const text = this.#text;
    if (text.length === 0) return;
    this.#text = "";
    const bound = text.length * 3;
    if (bound > this.#buf.length - this.#pos) this.#retire(bound);
    const n = this.#buf.write(text, this.#pos, "utf8");
    this.#pos += n;
    cur.bytes += n;
  }

  /**
   * Adds whole lines that are already bytes (ending with a newline); `lines` counts them. Like `write`, returns a
   * promise only when the disk must be awaited.
   */
  writeBytes(bytes: Uint8Array, lines: number): Promise<void> | undefined {
    if (!this.#current) return this.#openNext().then(() => this.writeBytes(bytes, lines));
    const cur = this.#current;
    // Lines written as text come first.
    this.#encodeText(cur);
    if (bytes.length > this.#buf.length - this.#pos) this.#retire(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    cur.lines += lines;
    cur.bytes += bytes.length;
    // Not measured per line: the batch's size bounds its longest line.
    if (bytes.length > cur.maxLineBytes) cur.maxLineBytes = bytes.length;
    if (this.#full.length > 0 || cur.bytes >= this.#maxFileBytes) return this.#drain(cur);
    return undefined;
  }

  /** Queues the current buffer (if it has data) and starts a new one with room for at least `room` bytes. */
  #retire(room: number): void {
    if (this.#pos > 0) this.#full.push([this.#buf, this.#pos]);
    const next = Math.min(this.#bufferBytes, Math.max(64 * 1024, this.#buf.length * 2));
    const spare = next === this.#bufferBytes && room <= next ? this.#spare.pop() : undefined;
    this.#buf = room === 0 ? Buffer.allocUnsafe(0) : (spare ?? Buffer.allocUnsafe(Math.max(next, room)));
    this.#pos = 0;
  }

  async #drain(cur: WrittenFile): Promise<void> {
    await this.#writeFull();
    if (cur.bytes >= this.#maxFileBytes) await this.#closeCurrent();
  }

  /** Closes the open file without flushing: for a write that failed (the caller discards the files). */
  async abort(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.#current = undefined;
    this.#full = [];
    this.#text = "";
    await fh?.close().catch(() => undefined);
  }

  async close(): Promise<WrittenFile[]> {
    await this.#closeCurrent();
    return this.files;
  }

  async #openNext(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const path = join(this.#dir, `${this.#prefix}.${String(this.#seq++).padStart(4, "0")}.jsonl`);
    this.#fh = await open(path, "w");
    this.#current = { path, lines: 0, bytes: 0, maxLineBytes: 0 };
    this.files.push(this.#current);
  }

  async #writeFull(): Promise<void> {
    const chunks = this.#full;
    this.#full = [];
    if (!this.#fh) return;
    for (const [buf, used] of chunks) {
      await this.#fh.write(buf, 0, used);
      if (buf.length === this.#bufferBytes && this.#spare.length < 2) this.#spare.push(buf);
    }
  }

  async #closeCurrent(): Promise<void> {
    if (!this.#fh) return;
    if (this.#current) this.#encodeText(this.#current);
    if (this.#pos > 0) this.#retire(0);
    await this.#writeFull();
    await this.#fh.sync();
    await this.#fh.close();
    const closed = this.#current;
    this.#fh = undefined;
    this.#current = undefined;
    if (closed) this.#onClose?.(closed);
  }
}
