/**
 * The actions of the Delta Lake transaction log (delta-io/delta PROTOCOL.md, "Actions"), as they appear in a
 * commit file `_delta_log/<version>.json` (one JSON object per line) and in checkpoints (one action per row).
 */

/** Reader and writer versions a client needs (table features from reader 3 / writer 7). */
export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[] | null;
  writerFeatures?: string[] | null;
}

/** The table's metadata: id, schema (`schemaString`), partitioning and properties. */
export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

/** A data file that is part of the table. `path` is relative to the table's root (a URI, percent-encoded). */
export interface AddFile {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** Per-file statistics as JSON text (`numRecords`, `minValues`, `maxValues`, `nullCount`). */
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: unknown;
}

/** A data file removed from the table; it stays as a tombstone (for vacuum) until its retention expires. */
export interface RemoveFile {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  deletionVector?: unknown;
}

/** An application's transaction id (idempotent writers). Kept and replayed, not written by ferry. */
export interface Txn {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

/** What ferry records of a load in the commits it makes (`commitInfo.ferry`). */
export interface FerryCommitInfo {
  loadId: string;
  pipeline: string;
  /** Set on a commit that undoes the commit of `loadId` at this version (a load that failed half-way). */
  undoes?: number;
}

/** Provenance of a commit: free-form; ferry adds its load (`ferry`) and a unique `txnId`. */
export interface CommitInfo {
  timestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  txnId?: string;
  ferry?: FerryCommitInfo;
  [other: string]: unknown;
}

/** One line of a commit file. Actions ferry does not know (cdc, domainMetadata ...) pass through as they are. */
export type Action =
  | { protocol: Protocol }
  | { metaData: Metadata }
  | { add: AddFile }
  | { remove: RemoveFile }
  | { txn: Txn }
  | { commitInfo: CommitInfo };

/** The log folder of a table (its root is a key prefix without a trailing slash). */
export const logDir = (tableRoot: string): string => `${tableRoot}/_delta_log/`;

const pad = (v: number) => String(v).padStart(20, "0");

/**
 * Keys of a table's log files.
 *
 * @example
 * logKeys("lake/users").commit(3) // "lake/users/_delta_log/00000000000000000003.json"
 */
export function logKeys(tableRoot: string) {
  const dir = logDir(tableRoot);
  return {
    dir,
    commit: (version: number) => `${dir}${pad(version)}.json`,
    checkpoint: (version: number) => `${dir}${pad(version)}.checkpoint.parquet`,
    lastCheckpoint: `${dir}_last_checkpoint`,
  };
}

/** What a file in `_delta_log/` is: a commit, a (part of a) classic checkpoint, or something else. */
export type LogFile =
  | { kind: "commit"; version: number }
  | { kind: "checkpoint"; version: number; part: number; parts: number }
  | { kind: "other" };

/** Reads a log file's name (the part after `_delta_log/`). */
export function parseLogName(name: string): LogFile {
  let m = /^(\d{20})\.json$/.exec(name);
  if (m) return { kind: "commit", version: Number(m[1]) };
  m = /^(\d{20})\.checkpoint\.parquet$/.exec(name);
  if (m) return { kind: "checkpoint", version: Number(m[1]), part: 1, parts: 1 };
  m = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/.exec(name);
  if (m) return { kind: "checkpoint", version: Number(m[1]), part: Number(m[2]), parts: Number(m[3]) };
  return { kind: "other" };
}

/** A commit file's body: one action per line. */
export function serializeCommit(actions: readonly Action[]): string {
  return `${actions.map((a) => JSON.stringify(a)).join("\n")}\n`;
}

/** Parses a commit file (empty lines ignored). */
export function parseCommit(body: string): Action[] {
  const out: Action[] = [];
  for (const line of body.split("\n")) if (line.trim() !== "") out.push(JSON.parse(line) as Action);
  return out;
}

/** The file a data path names, relative to the table root (paths in the log are percent-encoded URIs). */
export function decodeDataPath(path: string): string {
  return decodeURIComponent(path);
}
