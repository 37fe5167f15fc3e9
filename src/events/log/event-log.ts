import type { CapturedEvent } from "../event.js";

/** One record read back from the log: its event and where it sits. */
export interface LogEntry {
  partition: number;
  /** The record's offset in its partition (opaque; compare only within a partition). */
  offset: number;
  /** The offset of the record after it: what a consumer commits once this one is stored. */
  next: number;
  event: CapturedEvent;
}

/** Where a consumer is in each partition: the offset of the next record to read. */
export type LogPositions = Record<number, number>;

/** What `read` takes: at most `max` entries, only up to `until` (exclusive), only events of `token`. */
export interface ReadOptions {
  max: number;
  until?: LogPositions;
  token?: string;
}

/** Entries read, and where reading goes on (past the entries skipped for another token too). */
export interface ReadResult {
  entries: LogEntry[];
  next: LogPositions;
}

/**
 * The event log between capture and ingestion: append-only, partitioned by `token:distinct_id` so that one person's
 * events stay in order, durable before an append resolves. The embedded implementation keeps segment files on local
 * disk (`SegmentLog`); a Kafka topic fills the same role for fleets.
 *
 * @example
 * await log.append(events);                      // resolves once on disk: capture may acknowledge
 * const { entries, next } = await log.read(positions, { max: 2_000 }); // a consumer reads from its positions
 * await log.release(committedPositions);          // consumers stored everything before these
 */
export interface EventLog {
  /** Tells this log from another one (a new `--dir`): positions committed for another log mean nothing here. */
  readonly id: string;
  readonly partitions: number;
  /**
   * Appends events durably (group commit: concurrent appends share one fsync), all or none of a call. Events whose
   * uuid the log has seen within its dedup window are not appended again; the result says how many were. Rejects with
   * `LogUnavailableError` when the log cannot take writes.
   */
  append(events: CapturedEvent[]): Promise<{ appended: number; duplicates: number }>;
  /**
   * Durable entries from `positions` on, each partition in order (partitions take turns). Entries of other tokens
   * are skipped without being decoded.
   */
  read(positions: LogPositions, options: ReadOptions): Promise<ReadResult>;
  /** How many events of each token lie between two positions (read from record headers, not decoded). */
  tokens(from: LogPositions, until: LogPositions): Promise<Map<string, number>>;
  /** The first offset of each partition (where a consumer without a position starts). */
  start(): LogPositions;
  /** The end of the durable data of each partition (the next offset an append will get). */
  end(): LogPositions;
  /** Resolves when data beyond `positions` is durable in some partition (or the log closes); `signal` stops waiting. */
  waitForData(positions: LogPositions, signal?: AbortSignal): Promise<void>;
  /** Everything before `positions` is stored by every consumer: segments entirely before them may be deleted. */
  release(positions: LogPositions): Promise<void>;
  /** Bytes on disk and events not yet released, for metrics. */
  stats(): { bytes: number };
  close(): Promise<void>;
}

/** The log cannot take writes now (disk full, closing): capture answers 503 so that clients retry. */
export class LogUnavailableError extends Error {
  readonly code = "log_unavailable";
}
