import { randomUUID } from "node:crypto";
import { type FileHandle, mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, errorMessage } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/fs.js";
import type { Logger } from "../../util/log.js";
import type { CapturedEvent } from "../event.js";
import {
  type EventLog,
  type LogEntry,
  type LogPositions,
  LogUnavailableError,
  type ReadOptions,
  type ReadResult,
} from "./event-log.js";
import { partitionOf } from "./partitioner.js";
import { decodeRecordAt, encodeRecord, recordSizeAt, recordTokenAt, recordUuidAt } from "./record-codec.js";
import { Segment, segmentBase, segmentName } from "./segment.js";
import { UuidWindow } from "./uuid-window.js";

export interface SegmentLogOptions {
  /** The log's folder (`<serve dir>/log`). */
  dir: string;
  /** Partitions of a new log (default 4); an existing log keeps the number it was made with. */
  partitions?: number;
  /** A segment file is closed and a new one started past this size (default 64 MB). */
  segmentBytes?: number;
  /** Loaded segments are kept this long (default 1 hour) ... */
  retentionMs?: number;
  /** ... unless the loaded segments take more than this (default 1 GiB). */
  retentionBytes?: number;
  /** How many of the most recent events' uuids are remembered to drop retried duplicates (default 1,000,000). */
  dedupWindow?: number;
  log: Logger;
}

type ResolvedOptions = Required<Omit<SegmentLogOptions, "log">> & { log: Logger };

interface Partition {
  readonly id: number;
  readonly dir: string;
  /** The uuids of the partition's newest events (a retry goes to the same partition as its original). */
  readonly window: UuidWindow;
  /** Oldest first; the last one takes appends. */
  segments: Segment[];
  writer: FileHandle;
  readers: Map<number, FileHandle>;
  /** Everything before this offset is stored by every consumer. */
  released: number;
}

interface PendingAppend {
  records: { partition: number; bytes: Buffer; uuid: string }[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The embedded event log: per partition, append-only segment files of checksummed records on local disk.
 * `append` resolves only after the records are written and fsynced, and concurrent appends share one fsync
 * (group commit). A torn tail (a crash in the middle of a write) is cut when the log opens. Segments are deleted
 * once every consumer stored their events and the retention passed, but the newest `dedupWindow` events always stay:
 * they rebuild the window of uuids that keeps a retried request from being appended twice.
 *
 * @example
 * const log = await SegmentLog.open({ dir: ".ferry/serve/log", log: logger });
 * await log.append(events); // durable now
 */
export class SegmentLog implements EventLog {
  readonly partitions: number;
  readonly #opts: ResolvedOptions;
  readonly #parts: Partition[];
  /** Set when a failed write could not be undone: appends are refused until a restart checks the files. */
  #broken: string | undefined;
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(opts: ResolvedOptions, id: string, parts: Partition[]) {
    this.#opts = opts;
    this.id = id;
    this.#parts = parts;
    this.partitions = parts.length;
  }

  readonly id: string;

  static async open(options: SegmentLogOptions): Promise<SegmentLog> {
    const opts = {
      partitions: 4,
      segmentBytes: 64 * 1024 * 1024,
      retentionMs: 3_600_000,
      retentionBytes: 1024 ** 3,
      dedupWindow: 1_000_000,
      ...options,
    };
    await mkdir(opts.dir, { recursive: true });
    const meta = await logMeta(opts.dir, opts.partitions);
    const perPartition = Math.ceil(opts.dedupWindow / meta.partitions);
    const parts: Partition[] = [];
    for (let id = 0; id < meta.partitions; id++) {
      const part = await openPartition(opts.dir, id, new UuidWindow(perPartition), opts.log);
      await rebuildWindow(part, perPartition);
      parts.push(part);
    }
    return new SegmentLog(opts, meta.id, parts);
  }

  async append(events: CapturedEvent[]): Promise<{ appended: number; duplicates: number }> {
    if (this.#closed) throw new LogUnavailableError("the event log is closed");
    if (this.#broken) throw new LogUnavailableError(this.#broken);
    const records: PendingAppend["records"] = [];
    for (const e of events) {
      const partition = partitionOf(e.token, e.distinct_id, this.partitions);
      if (!(this.#parts[partition] as Partition).window.add(e.uuid)) continue;
      records.push({ partition, bytes: encodeRecord(e), uuid: e.uuid });
    }
    const duplicates = events.length - records.length;
    if (records.length === 0) return { appended: 0, duplicates };
    await new Promise<void>((resolve, reject) => {
      this.#pending.push({ records, resolve, reject });
      this.#kick();
    });
    return { appended: records.length, duplicates };
  }

  #kick(): void {
    if (this.#flushing) return;
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#pending.length > 0) this.#kick();
    });
  }

  /** Writes what is pending, fsyncs once per partition touched, and settles every append of the group. */
  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0);
      try {
        await this.#writeGroup(group);
        for (const a of group) a.resolve();
        for (const wake of this.#waiters.splice(0)) wake();
      } catch (err) {
        // Undone (nothing of the group is on disk): a retry must be taken. Not undone: the records may be on disk
        // and the log refuses everything until a restart has checked its files.
        if (!this.#broken)
          for (const a of group)
            for (const r of a.records) (this.#parts[r.partition] as Partition).window.remove(r.uuid);
        const failure = new LogUnavailableError(`the event log cannot take writes: ${errorMessage(err)}`);
        for (const a of group) a.reject(failure);
        this.#opts.log.error(failure.message);
      }
    }
  }

  /**
   * Writes a group's records to their partitions and fsyncs them. All or nothing: when a write or an fsync fails,
   * every partition the group touched is cut back to where it was, so no part of the group is ever read back.
   */
  async #writeGroup(group: PendingAppend[]): Promise<void> {
    const byPartition = new Map<number, Buffer[]>();
    for (const a of group) {
      for (const r of a.records) {
        const list = byPartition.get(r.partition);
        if (list) list.push(r.bytes);
        else byPartition.set(r.partition, [r.bytes]);
      }
    }
    const writes: { part: Partition; seg: Segment; at: number; buffers: Buffer[] }[] = [];
    for (const [id, buffers] of byPartition) {
      const part = this.#parts[id] as Partition;
      let seg = part.segments.at(-1) as Segment;
      if (seg.bytes >= this.#opts.segmentBytes) seg = await this.#roll(part, seg);
      writes.push({ part, seg, at: seg.bytes, buffers });
    }
    const done = await Promise.allSettled(
      writes.map(async (w) => {
        await writeAll(w.part.writer, w.buffers, w.at);
        await w.part.writer.datasync();
      }),
    );
    const failed = done.find((d): d is PromiseRejectedResult => d.status === "rejected");
    if (failed) {
      const cuts = await Promise.allSettled(writes.map((w) => w.part.writer.truncate(w.at)));
      if (cuts.some((c) => c.status === "rejected"))
        this.#broken = `the event log could not undo a failed write; restart ferry serve (it checks the log's files when it starts): ${errorMessage(failed.reason)}`;
      throw failed.reason;
    }
    for (const w of writes)
      w.seg.appended(
        w.at,
        w.buffers.map((b) => b.length),
      );
  }

  /** Starts a new segment after a full one (the full one is synced already). */
  async #roll(part: Partition, full: Segment): Promise<Segment> {
    const next = new Segment(part.dir, full.end, 0, 0, Date.now(), []);
    const fh = await open(next.path, "w");
    await syncDir(part.dir);
    await part.writer.close();
    part.writer = fh;
    part.segments.push(next);
    return next;
  }

  async read(positions: LogPositions, options: ReadOptions): Promise<ReadResult> {
    const entries: LogEntry[] = [];
    const next: LogPositions = { ...positions };
    const share = Math.max(1, Math.ceil(options.max / this.partitions));
    for (const part of this.#parts) {
      const first = part.segments[0] as Segment;
      let offset = Math.max(positions[part.id] ?? first.base, first.base);
      const end = Math.min(
        (part.segments.at(-1) as Segment).end,
        options.until?.[part.id] ?? Number.POSITIVE_INFINITY,
      );
      const quota = Math.min(share, options.max - entries.length);
      const before = entries.length;
      while (offset < end && entries.length - before < quota) {
        const seg = part.segments.find((s) => offset >= s.base && offset < s.end) as Segment;
        offset += await this.#readSegment(
          part,
          seg,
          offset,
          Math.min(end, seg.end),
          quota - (entries.length - before),
          options.token,
          entries,
        );
      }
      next[part.id] = offset;
    }
    return { entries, next };
  }

  /**
   * Reads records of `seg` from `offset` up to `until` into `out` until `quota` entries (of `token`, when given) were
   * added; returns how many records it went past.
   */
  #readSegment(
    part: Partition,
    seg: Segment,
    offset: number,
    until: number,
    quota: number,
    token: string | undefined,
    out: LogEntry[],
  ): Promise<number> {
    let added = 0;
    let at = offset;
    return this.#visit(part, seg, offset, until, (buf, pos, size) => {
      if (token === undefined || recordTokenAt(buf, pos) === token) {
        out.push({ partition: part.id, offset: at, next: at + 1, event: decodeRecordAt(buf, pos, size) });
        added++;
      }
      at++;
      return added >= quota;
    });
  }

  /**
   * Calls `visit` for each record of `seg` from `offset` up to `until`, reading 1 MB at a time, until it returns true;
   * returns how many records it visited.
   */
  async #visit(
    part: Partition,
    seg: Segment,
    offset: number,
    until: number,
    visit: (buf: Buffer, pos: number, size: number) => boolean,
  ): Promise<number> {
    let fh = part.readers.get(seg.base);
    if (!fh) {
      fh = await open(seg.path, "r");
      part.readers.set(seg.base, fh);
    }
    let pos = await seg.positionOf(offset, fh);
    seg.remember(offset, pos);
    const want = until - offset;
    let n = 0;
    let done = false;
    while (n < want && !done) {
      const len = Math.min(seg.bytes - pos, 1 << 20);
      let buf = Buffer.allocUnsafe(len);
      buf = buf.subarray(0, (await fh.read(buf, 0, len, pos)).bytesRead);
      let rel = 0;
      let size = recordSizeAt(buf, rel);
      if (size === undefined) {
        // A record longer than the chunk: read it whole.
        const whole = Buffer.allocUnsafe(8 + buf.readUInt32LE(0));
        await fh.read(whole, 0, whole.length, pos);
        buf = whole;
        size = recordSizeAt(buf, 0);
        if (size === undefined) throw new Error(`event log ${seg.path}: record ${offset + n} is corrupt`);
      }
      while (size !== undefined && n < want && !done) {
        done = visit(buf, rel, size);
        n++;
        rel += size;
        size = recordSizeAt(buf, rel);
      }
      pos += rel;
    }
    seg.remember(offset + n, pos);
    return n;
  }

  async tokens(from: LogPositions, until: LogPositions): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const part of this.#parts) {
      let offset = Math.max(from[part.id] ?? 0, (part.segments[0] as Segment).base);
      const end = Math.min(until[part.id] ?? 0, (part.segments.at(-1) as Segment).end);
      while (offset < end) {
        const seg = part.segments.find((s) => offset >= s.base && offset < s.end) as Segment;
        offset += await this.#visit(part, seg, offset, Math.min(end, seg.end), (buf, at) => {
          const token = recordTokenAt(buf, at);
          counts.set(token, (counts.get(token) ?? 0) + 1);
          return false;
        });
      }
    }
    return counts;
  }

  start(): LogPositions {
    return Object.fromEntries(this.#parts.map((p) => [p.id, (p.segments[0] as Segment).base]));
  }

  end(): LogPositions {
    return Object.fromEntries(this.#parts.map((p) => [p.id, (p.segments.at(-1) as Segment).end]));
  }

  waitForData(positions: LogPositions, signal?: AbortSignal): Promise<void> {
    const ahead = () => this.#parts.some((p) => (p.segments.at(-1) as Segment).end > (positions[p.id] ?? 0));
    if (ahead() || this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        signal?.removeEventListener("abort", wake);
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  async release(positions: LogPositions): Promise<void> {
    const now = Date.now();
    for (const part of this.#parts) {
      part.released = Math.max(part.released, positions[part.id] ?? 0);
      // The newest segments holding the dedup window stay whatever happens.
      let protectedFrom = windowStart(part.segments, part.window.capacity);
      let loadedBytes = part.segments.filter((s) => s.end <= part.released).reduce((n, s) => n + s.bytes, 0);
      while (part.segments.length > 1) {
        const oldest = part.segments[0] as Segment;
        const deletable =
          protectedFrom > 0 &&
          oldest.end <= part.released &&
          (now - oldest.modifiedMs > this.#opts.retentionMs || loadedBytes > this.#opts.retentionBytes);
        if (!deletable) break;
        await part.readers.get(oldest.base)?.close();
        part.readers.delete(oldest.base);
        await rm(oldest.path, { force: true });
        part.segments.shift();
        protectedFrom--;
        loadedBytes -= oldest.bytes;
      }
    }
  }

  stats(): { bytes: number } {
    return { bytes: this.#parts.reduce((n, p) => n + p.segments.reduce((m, s) => m + s.bytes, 0), 0) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    for (const wake of this.#waiters.splice(0)) wake();
    for (const part of this.#parts) {
      await part.writer.close().catch(() => undefined);
      for (const fh of part.readers.values()) await fh.close().catch(() => undefined);
      part.readers.clear();
    }
  }
}

/** Adds the uuids of the partition's newest `records` events on disk to its window, oldest first. */
async function rebuildWindow(part: Partition, records: number): Promise<void> {
  for (const seg of part.segments.slice(windowStart(part.segments, records))) {
    if (seg.count === 0) continue;
    const buf = await readFile(seg.path);
    for (let pos = 0, n = 0; n < seg.count; n++) {
      const size = recordSizeAt(buf, pos);
      if (size === undefined) break;
      part.window.add(recordUuidAt(buf, pos, size));
      pos += size;
    }
  }
}

/** Writes the buffers at `at` in order, completing short writes. */
async function writeAll(fh: FileHandle, buffers: Buffer[], at: number): Promise<void> {
  let pos = at;
  // writev takes a bounded number of buffers at a time (IOV_MAX).
  for (let i = 0; i < buffers.length; i += 1024) {
    const chunk = buffers.slice(i, i + 1024);
    const total = chunk.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(chunk, pos);
    if (bytesWritten < total) {
      const rest = Buffer.concat(chunk).subarray(bytesWritten);
      for (let off = 0; off < rest.length; )
        off += (await fh.write(rest, off, rest.length - off, pos + bytesWritten + off)).bytesWritten;
    }
    pos += total;
  }
}

/** The index of the oldest segment among the newest ones that hold the last `records` records (0: all of them). */
function windowStart(segments: Segment[], records: number): number {
  let i = segments.length - 1;
  for (let n = (segments[i] as Segment).count; i > 0 && n < records; n += (segments[i] as Segment).count) i--;
  return i;
}

/**
 * The log's identity and partition count, from `log.json` (made with a new log): the id tells a consumer whether
 * positions it committed belong to this log; the partition count is fixed (changing it would break per-person order).
 */
async function logMeta(dir: string, requested: number): Promise<{ id: string; partitions: number }> {
  const meta = join(dir, "log.json");
  let stored: { partitions: number; id?: string } | undefined;
  try {
    stored = JSON.parse(await readFile(meta, "utf8")) as { partitions: number; id?: string };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (stored) {
    if (stored.partitions !== requested) {
      throw new ConfigError(
        `the event log in ${dir} has ${stored.partitions} partitions; ${requested} were asked for`,
        {
          hint: `keep partitions: ${stored.partitions}, or start with an empty --dir once the log is loaded`,
        },
      );
    }
    if (stored.id) return { id: stored.id, partitions: stored.partitions };
  } else if (!Number.isInteger(requested) || requested < 1 || requested > 256) {
    throw new ConfigError(`event log partitions must be 1..256, not ${requested}`);
  }
  const made = { partitions: requested, id: randomUUID() };
  await writeFileAtomic(meta, JSON.stringify(made));
  return made;
}

async function openPartition(root: string, id: number, window: UuidWindow, log: Logger): Promise<Partition> {
  const dir = join(root, `p${id}`);
  await mkdir(dir, { recursive: true });
  const bases = (await readdir(dir))
    .map(segmentBase)
    .filter((b): b is number => b !== undefined)
    .sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (const [i, base] of bases.entries()) {
    if (i === bases.length - 1) {
      const { segment, cutBytes } = await Segment.recover(dir, base);
      if (cutBytes > 0)
        log.warn(
          `event log partition ${id}: cut a torn tail of ${cutBytes} bytes (a write a crash interrupted; it was never acknowledged)`,
        );
      segments.push(segment);
    } else {
      const s = await stat(join(dir, segmentName(base)));
      segments.push(new Segment(dir, base, (bases[i + 1] as number) - base, s.size, s.mtimeMs));
    }
  }
  if (segments.length === 0) {
    const first = new Segment(dir, 0, 0, 0, Date.now(), []);
    await (await open(first.path, "w")).close();
    await syncDir(dir);
    segments.push(first);
  }
  const writer = await open((segments.at(-1) as Segment).path, "r+");
  return { id, dir, window, segments, writer, readers: new Map(), released: 0 };
}

/** Makes a new file's name durable (ext4 needs the directory synced too). */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
