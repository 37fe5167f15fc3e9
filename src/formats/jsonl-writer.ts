import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";

export interface WrittenFile {
  path: string;
  lines: number;
  bytes: number;
  /** Upper bound of the longest line in UTF-8 bytes (readers size their buffers by it). */
  maxLineBytes: number;
}

/**
 * Appends lines to `<dir>/<prefix>.<n>.jsonl`, starting a new file when one passes `maxFileBytes`.
 * Buffers in memory up to `bufferBytes` and awaits the disk, so memory stays bounded.
 */
export class RotatingJsonlWriter {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #maxFileBytes: number;
  readonly #bufferBytes: number;
  #fh: FileHandle | undefined;
  #current: WrittenFile | undefined;
  #buffer: string[] = [];
  #buffered = 0;
  #seq = 0;
  readonly files: WrittenFile[] = [];

  constructor(dir: string, prefix: string, options: { maxFileBytes?: number; bufferBytes?: number } = {}) {
    this.#dir = dir;
    this.#prefix = prefix;
    this.#maxFileBytes = options.maxFileBytes ?? 128 * 1024 * 1024;
    this.#bufferBytes = options.bufferBytes ?? 1024 * 1024;
  }

  get totalLines(): number {
    return this.files.reduce((n, f) => n + f.lines, 0) + (this.#current ? 0 : 0);
  }

  /**
   * Adds a line. Returns a promise only when the disk must be awaited (first file, full buffer, rotation), so the
   * common case costs no microtask.
   */
  write(line: string): Promise<void> | undefined {
    if (!this.#current) return this.#openNext().then(() => this.write(line));
    const cur = this.#current;
    this.#buffer.push(line, "\n");
    const size = line.length + 1;
    this.#buffered += size;
    cur.lines += 1;
    cur.bytes += size;
    if (size * 3 > cur.maxLineBytes) {
      // Counting bytes exactly costs a pass over the line: only long lines need it.
      cur.maxLineBytes = Math.max(cur.maxLineBytes, size > 65_536 ? Buffer.byteLength(line) + 1 : size * 3);
    }
    if (this.#buffered >= this.#bufferBytes || cur.bytes >= this.#maxFileBytes) return this.#drain(cur);
    return undefined;
  }

  async #drain(cur: WrittenFile): Promise<void> {
    if (this.#buffered >= this.#bufferBytes) await this.#flush();
    if (cur.bytes >= this.#maxFileBytes) await this.#closeCurrent();
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

  async #flush(): Promise<void> {
    if (this.#buffered === 0 || !this.#fh) return;
    const chunk = this.#buffer.join("");
    this.#buffer = [];
    this.#buffered = 0;
    await this.#fh.write(chunk);
  }

  async #closeCurrent(): Promise<void> {
    if (!this.#fh) return;
    await this.#flush();
    await this.#fh.sync();
    await this.#fh.close();
    this.#fh = undefined;
    this.#current = undefined;
  }
}
