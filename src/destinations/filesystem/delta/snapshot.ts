import type { ObjectStore } from "../../../storage/object-store.js";
import { DestinationError } from "../../../util/errors.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import { eachLimited, type FileCache } from "../file-cache.js";
import {
  type Action,
  type AddFile,
  type CommitInfo,
  type Metadata,
  type Protocol,
  parseCommit,
  parseLogName,
  type RemoveFile,
  type Txn,
} from "./actions.js";
import { type DeltaField, parseSchema } from "./delta-schema.js";

/** Reader features ferry understands (reader version 3); `vacuumProtocolCheck` only asks vacuum to check this. */
const READER_FEATURES: ReadonlySet<string> = new Set(["vacuumProtocolCheck"]);
/** Writer features ferry honours (writer version 7): appendOnly is checked, invariants are refused per column. */
const WRITER_FEATURES: ReadonlySet<string> = new Set(["appendOnly", "invariants", "vacuumProtocolCheck"]);

/**
 * A table's state at one version: protocol, metadata, live data files and tombstones, replayed from the newest
 * checkpoint and the commits after it (Delta's action reconciliation). `version` is -1 while the table has no log.
 *
 * @example
 * const snap = await readSnapshot(io, "lake/users");
 * for (const f of snap.files.values()) console.log(f.path, f.size);
 */
export class DeltaSnapshot {
  readonly root: string;
  version = -1;
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;
  readonly files = new Map<string, AddFile>();
  readonly tombstones = new Map<string, RemoveFile>();
  readonly txns = new Map<string, Txn>();
  /** commitInfo of the commits read from JSON (checkpoints keep none). */
  readonly commits = new Map<number, CommitInfo>();

  constructor(root: string) {
    this.root = root;
  }

  get exists(): boolean {
    return this.version >= 0;
  }

  clone(): DeltaSnapshot {
    const s = new DeltaSnapshot(this.root);
    s.version = this.version;
    s.protocol = this.protocol;
    s.metadata = this.metadata;
    for (const [k, v] of this.files) s.files.set(k, v);
    for (const [k, v] of this.tombstones) s.tombstones.set(k, v);
    for (const [k, v] of this.txns) s.txns.set(k, v);
    for (const [k, v] of this.commits) s.commits.set(k, v);
    return s;
  }

  /** Applies the actions of one version (a commit, or a checkpoint's reconciled actions). */
  apply(version: number, actions: readonly Action[]): void {
    for (const a of actions) {
      if ("add" in a && a.add) {
        this.files.set(a.add.path, a.add);
        this.tombstones.delete(a.add.path);
      } else if ("remove" in a && a.remove) {
        this.files.delete(a.remove.path);
        this.tombstones.set(a.remove.path, a.remove);
      } else if ("metaData" in a && a.metaData) this.metadata = a.metaData;
      else if ("protocol" in a && a.protocol) this.protocol = a.protocol;
      else if ("txn" in a && a.txn) this.txns.set(a.txn.appId, a.txn);
      else if ("commitInfo" in a && a.commitInfo) this.commits.set(version, a.commitInfo);
    }
    this.version = version;
  }

  /** The table's schema fields (empty before the first commit). */
  fields(): DeltaField[] {
    return this.metadata ? parseSchema(this.metadata.schemaString) : [];
  }

  /** Total rows of the live files, from their statistics (undefined when a file has none). */
  rows(): number | undefined {
    let n = 0;
    for (const f of this.files.values()) {
      const r = f.stats ? (JSON.parse(f.stats) as { numRecords?: number }).numRecords : undefined;
      if (r === undefined) return undefined;
      n += r;
    }
    return n;
  }

  /** Throws unless ferry can read the table (protocol and features). */
  checkReadable(table: string): void {
    const p = this.protocol;
    if (!p) return;
    const unknown = (p.readerFeatures ?? []).filter((f) => !READER_FEATURES.has(f));
    if (p.minReaderVersion > 3 || p.minReaderVersion === 2 || unknown.length > 0) {
      throw new DestinationError(
        `Delta table "${table}" needs a reader ferry is not (reader version ${p.minReaderVersion}${unknown.length ? `, features ${unknown.join(", ")}` : ""})`,
        {
          fields: { table },
          hint: "the table was written by another engine with features ferry does not implement (column mapping, deletion vectors ...); read it with that engine, or load into another table",
        },
      );
    }
    for (const f of this.files.values()) {
      if (f.deletionVector)
        throw new DestinationError(`Delta table "${table}" has deletion vectors, which ferry cannot read`, {
          fields: { table },
          hint: "rewrite the table without deletion vectors (e.g. OPTIMIZE in Spark with purge), or load into another table",
        });
      if (/^[a-z][a-z0-9+.-]*:/i.test(f.path))
        throw new DestinationError(`Delta table "${table}" names a data file by absolute URL (${f.path})`, {
          fields: { table },
          hint: "ferry reads tables whose data files live under the table's folder",
        });
    }
  }

  /** Throws unless ferry may write the table: readable, and no writer feature ferry does not honour. */
  checkWritable(table: string, change: "append" | "rewrite"): void {
    this.checkReadable(table);
    const p = this.protocol;
    if (!p) return;
    const unknown = (p.writerFeatures ?? []).filter((f) => !WRITER_FEATURES.has(f));
    if ((p.minWriterVersion > 2 && p.minWriterVersion < 7) || unknown.length > 0) {
      throw new DestinationError(
        `Delta table "${table}" needs a writer ferry is not (writer version ${p.minWriterVersion}${unknown.length ? `, features ${unknown.join(", ")}` : ""})`,
        {
          fields: { table },
          hint: "the table uses features ferry does not implement (check constraints, generated or identity columns, change data feed, column mapping ...); write it with the engine that made it, or load into another table",
        },
      );
    }
    const invariant = this.fields().find((f) => f.metadata?.["delta.invariants"] !== undefined);
    if (invariant) {
      throw new DestinationError(
        `column "${invariant.name}" of Delta table "${table}" has an invariant, which ferry does not check`,
        {
          fields: { table, column: invariant.name },
          hint: "remove the invariant, or load into another table",
        },
      );
    }
    if (change === "rewrite" && this.metadata?.configuration["delta.appendOnly"] === "true") {
      throw new DestinationError(
        `Delta table "${table}" is append-only (delta.appendOnly): replace and merge would change its rows`,
        {
          fields: { table },
          hint: 'use writeDisposition "append", or unset delta.appendOnly on the table',
        },
      );
    }
  }
}

/** What reading a log needs: the store, local copies of checkpoints, and DuckDB to read them. */
export interface LogIO {
  store: ObjectStore;
  files: FileCache;
  engine(): Promise<SqlConnection>;
}

/** The log files of a table by kind. */
export interface Listing {
  commits: Map<number, { key: string }>;
  checkpoints: Map<number, Array<{ key: string; size: number; part: number; parts: number }>>;
  latest: number;
}

/** Lists a table's log: its commits and checkpoints by version, and the newest version. */
export async function listLog(store: ObjectStore, root: string): Promise<Listing> {
  const dir = `${root}/_delta_log/`;
  const commits = new Map<number, { key: string }>();
  const checkpoints = new Map<number, Array<{ key: string; size: number; part: number; parts: number }>>();
  let latest = -1;
  for (const o of await store.list(dir)) {
    const name = o.key.slice(dir.length);
    if (name.includes("/")) continue;
    const f = parseLogName(name);
    if (f.kind === "commit") {
      commits.set(f.version, { key: o.key });
      latest = Math.max(latest, f.version);
    } else if (f.kind === "checkpoint") {
      const parts = checkpoints.get(f.version) ?? [];
      parts.push({ key: o.key, size: o.size, part: f.part, parts: f.parts });
      checkpoints.set(f.version, parts);
      latest = Math.max(latest, f.version);
    }
  }
  return { commits, checkpoints, latest };
}

/** The newest complete classic checkpoint at or before `version` (multi-part ones need all their parts). */
function newestCheckpoint(listing: Listing, version: number) {
  let best: { version: number; keys: Array<{ key: string; bytes: number }> } | undefined;
  for (const [v, parts] of listing.checkpoints) {
    if (v > version || (best && best.version >= v)) continue;
    const single = parts.find((p) => p.parts === 1);
    if (single) best = { version: v, keys: [{ key: single.key, bytes: single.size }] };
    else {
      const n = parts[0]!.parts;
      const seen = new Set(parts.filter((p) => p.parts === n).map((p) => p.part));
      if (seen.size === n)
        best = {
          version: v,
          keys: parts.filter((p) => p.parts === n).map((p) => ({ key: p.key, bytes: p.size })),
        };
    }
  }
  return best;
}

/** The actions of a checkpoint, read with DuckDB from its Parquet file(s). */
async function readCheckpoint(io: LogIO, keys: Array<{ key: string; bytes: number }>): Promise<Action[]> {
  const paths = await io.files.paths(keys);
  const conn = await io.engine();
  const list = paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(", ");
  const rows = await conn.query(
    `SELECT CAST(to_json(t) AS VARCHAR) AS j FROM read_parquet([${list}], union_by_name = true) t`,
  );
  const out: Action[] = [];
  for (const r of rows) {
    const row = JSON.parse(String(r.j)) as Record<string, unknown>;
    for (const kind of ["protocol", "metaData", "txn", "add", "remove"]) {
      const v = row[kind];
      if (v !== null && v !== undefined) out.push({ [kind]: v } as Action);
    }
  }
  return out;
}

/** Reads commit files (small JSON) concurrently; every one must exist. */
async function readCommits(
  store: ObjectStore,
  listing: Listing,
  from: number,
  to: number,
  root: string,
): Promise<Action[][]> {
  const versions = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const out: Action[][] = [];
  await eachLimited(versions, 8, async (v, i) => {
    const entry = listing.commits.get(v);
    const body = entry ? await store.get(entry.key) : undefined;
    if (!body) {
      throw new DestinationError(`the Delta log of "${root}" lacks version ${v}`, {
        hint: "the log is incomplete (files deleted by hand?); restore the missing commit, or drop the table",
      });
    }
    out[i] = parseCommit(body.toString("utf8"));
  });
  return out;
}

/**
 * The table's newest snapshot. With `cached` (an earlier snapshot of the same table), only the commits after it
 * are read; otherwise the newest checkpoint and the commits after it.
 *
 * @example
 * let snap = await readSnapshot(io, "lake/users");
 * snap = await readSnapshot(io, "lake/users", snap); // cheap: new commits only
 */
export async function readSnapshot(io: LogIO, root: string, cached?: DeltaSnapshot): Promise<DeltaSnapshot> {
  const listing = await listLog(io.store, root);
  if (listing.latest < 0) return new DeltaSnapshot(root);
  if (cached && cached.version <= listing.latest && cached.version >= 0) {
    let contiguous = true;
    for (let v = cached.version + 1; v <= listing.latest; v++)
      if (!listing.commits.has(v)) contiguous = false;
    if (contiguous) {
      if (cached.version === listing.latest) return cached;
      const s = cached.clone();
      const commits = await readCommits(io.store, listing, cached.version + 1, listing.latest, root);
      for (const [i, actions] of commits.entries()) s.apply(cached.version + 1 + i, actions);
      return s;
    }
  }
  const s = new DeltaSnapshot(root);
  const cp = newestCheckpoint(listing, listing.latest);
  if (cp) s.apply(cp.version, await readCheckpoint(io, cp.keys));
  const from = cp ? cp.version + 1 : 0;
  if (from <= listing.latest) {
    const commits = await readCommits(io.store, listing, from, listing.latest, root);
    for (const [i, actions] of commits.entries()) s.apply(from + i, actions);
  }
  return s;
}

/** One commit's actions, read by version (undefined when its file is gone, e.g. after log cleanup). */
export async function readCommit(
  store: ObjectStore,
  root: string,
  version: number,
): Promise<Action[] | undefined> {
  const body = await store.get(`${root}/_delta_log/${String(version).padStart(20, "0")}.json`);
  return body ? parseCommit(body.toString("utf8")) : undefined;
}
