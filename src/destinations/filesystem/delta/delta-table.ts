import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Column } from "../../../schema/types.js";
import { DestinationError } from "../../../util/errors.js";
import type { Logger } from "../../../util/log.js";
import {
  type Action,
  type AddFile,
  type CommitInfo,
  type FerryCommitInfo,
  logKeys,
  type RemoveFile,
  serializeCommit,
} from "./actions.js";
import { writeCheckpoint } from "./checkpoint.js";
import { evolveSchema, schemaString } from "./delta-schema.js";
import { type DeltaSnapshot, type LogIO, readCommit, readSnapshot } from "./snapshot.js";

/** What Delta tables of one client share: the store, DuckDB, temp space and settings. */
export interface DeltaContext extends LogIO {
  tempDir(): Promise<string>;
  log: Logger;
  /** A checkpoint after every this many commits (Delta's `delta.checkpointInterval`, default 10). */
  checkpointInterval: number;
  /** Checks once that the store's conditional put works (see `DeltaTables`). */
  assertConditionalPut(): Promise<void>;
}

/** What a writer wants to commit, planned on one snapshot. */
export interface CommitPlan {
  /** add/remove/metaData/protocol actions (commitInfo is added when committing). */
  actions: Action[];
  /** Delta's operation name (`WRITE`, `MERGE`, `OPTIMIZE` ...) and its parameters, for the table's history. */
  operation: string;
  parameters: Record<string, unknown>;
  /** Data files this plan wrote that no other attempt reuses: deleted when the commit loses its version. */
  discardOnConflict?: string[];
}

/** A commit that landed. */
export interface Committed {
  version: number;
  actions: Action[];
}

/** The protocol ferry writes new tables with: readers 1, writers 2 (no table features needed). */
const PROTOCOL: Action = { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
const MAX_ATTEMPTS = 20;
/** How far back the log is searched for a load's commit: before its load id was made, with a clock margin. */
const CLOCK_MARGIN_MS = 60 * 60 * 1000;

const ENGINE = "ferry";

/**
 * One Delta table in a store (`<dataset>/<table>/` with its `_delta_log/`): its snapshot, kept current between
 * operations, and the commit protocol. A commit is a conditional put of the next version's log entry; a writer that
 * loses the race re-reads the log and plans again on the new version (up to 20 times), so no commit ever overwrites
 * another.
 *
 * @example
 * const t = new DeltaTable(ctx, "lake", "users");
 * await t.commit({ loadId, pipeline }, async (snap) => ({ actions: [...], operation: "WRITE", parameters: {} }));
 */
export class DeltaTable {
  readonly name: string;
  /** Key prefix of the table's folder (no trailing slash). */
  readonly root: string;
  readonly #ctx: DeltaContext;
  #snapshot: DeltaSnapshot | undefined;

  constructor(ctx: DeltaContext, dataset: string, name: string) {
    this.#ctx = ctx;
    this.name = name;
    this.root = `${dataset}/${name}`;
  }

  /** The newest snapshot (reads only the commits since the last call). */
  async snapshot(): Promise<DeltaSnapshot> {
    this.#snapshot = await readSnapshot(this.#ctx, this.root, this.#snapshot);
    return this.#snapshot;
  }

  /** The key of a data file (a path in the log) in the store. */
  key(path: string): string {
    return `${this.root}/${decodeURIComponent(path)}`;
  }

  /**
   * Plans and commits, planning again on the new snapshot whenever another writer took the version. `plan` returns
   * undefined when there is nothing to commit. Throws a transient `DestinationError` after 20 lost races.
   */
  async commit(
    ferry: FerryCommitInfo | undefined,
    plan: (snapshot: DeltaSnapshot) => Promise<CommitPlan | undefined>,
  ): Promise<Committed | undefined> {
    const store = this.#ctx.store;
    if (!store.putIfAbsent) {
      throw new DestinationError(
        `the store ${store.description} cannot write Delta tables: it has no conditional put (putIfAbsent)`,
        { hint: "implement putIfAbsent on the custom ObjectStore, or write plain files (no table_format)" },
      );
    }
    await this.#ctx.assertConditionalPut();
    const keys = logKeys(this.root);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const snap = await this.snapshot();
      const planned = await plan(snap);
      if (!planned) return undefined;
      const version = snap.version + 1;
      const info: CommitInfo = {
        timestamp: Date.now(),
        operation: planned.operation,
        operationParameters: planned.parameters,
        engineInfo: ENGINE,
        clientVersion: ENGINE,
        txnId: randomUUID(),
        ...(ferry ? { ferry } : {}),
      };
      const actions: Action[] = [{ commitInfo: info }, ...planned.actions];
      if (await store.putIfAbsent(keys.commit(version), serializeCommit(actions))) {
        const next = snap.clone();
        next.apply(version, actions);
        this.#snapshot = next;
        if (version > 0 && version % this.#ctx.checkpointInterval === 0) await this.#checkpoint(next);
        return { version, actions };
      }
      this.#ctx.log.debug(
        `Delta table ${this.name}: version ${version} was committed by another writer; planning again`,
      );
      if (planned.discardOnConflict?.length) await store.delete(planned.discardOnConflict).catch(() => {});
      await sleep(Math.min(2000, 25 * 2 ** Math.min(attempt, 6) * (0.5 + Math.random())));
    }
    throw new DestinationError(
      `could not commit to Delta table "${this.name}": other writers took the next version ${MAX_ATTEMPTS} times in a row`,
      {
        transient: true,
        fields: { table: this.name },
        hint: "other writers commit to this table continuously; ferry retries the load, and the next run completes it",
      },
    );
  }

  async #checkpoint(snapshot: DeltaSnapshot): Promise<void> {
    try {
      await writeCheckpoint(this.#ctx.store, await this.#ctx.engine(), await this.#ctx.tempDir(), snapshot);
    } catch (err) {
      // A checkpoint only speeds up readers; the commit stands without it.
      this.#ctx.log.warn(
        `Delta table ${this.name}: checkpoint of version ${snapshot.version} failed: ${err}`,
      );
    }
  }

  /**
   * The commit a load made to this table, if any: the log is read back from the newest version to the time the
   * load was created. A later commit that undid it (a load that failed half-way) counts as none.
   */
  async findLoadCommit(loadId: string): Promise<Committed | undefined> {
    const snap = await this.snapshot();
    const since = Number(loadId.split(".")[0]) - CLOCK_MARGIN_MS;
    for (let v = snap.version; v >= 0; v--) {
      let info = snap.commits.get(v);
      let actions: Action[] | undefined;
      if (!info) {
        actions = await readCommit(this.#ctx.store, this.root, v);
        if (!actions) return undefined;
        info = actions.find((a): a is { commitInfo: CommitInfo } => "commitInfo" in a)?.commitInfo;
      }
      if (info?.ferry?.loadId === loadId) {
        if (info.ferry.undoes !== undefined) return undefined;
        actions ??= await readCommit(this.#ctx.store, this.root, v);
        return actions ? { version: v, actions } : undefined;
      }
      if (Number.isFinite(since) && info?.timestamp !== undefined && info.timestamp < since) return undefined;
    }
    return undefined;
  }
}

/**
 * The protocol and metadata actions a commit needs to write `columns`: both for a new table, a metaData update when
 * columns are new to the table, none otherwise.
 *
 * @example
 * const actions = [...schemaActions(snap, columns, "users"), ...adds];
 */
export function schemaActions(snap: DeltaSnapshot, columns: readonly Column[], table: string): Action[] {
  const fields = evolveSchema(snap.fields(), columns, table);
  if (snap.exists && snap.metadata && !fields) return [];
  const meta = snap.metadata ?? {
    id: randomUUID(),
    name: null,
    description: null,
    format: { provider: "parquet", options: {} },
    schemaString: schemaString([]),
    partitionColumns: [],
    createdTime: Date.now(),
    configuration: {},
  };
  const out: Action[] = [];
  if (!snap.exists || !snap.protocol) out.push(PROTOCOL);
  out.push({ metaData: { ...meta, schemaString: schemaString(fields ?? snap.fields()) } });
  return out;
}

/** The remove action of a live file (with its size and statistics, so an undo can add it back). */
export function removeOf(f: AddFile, now: number, dataChange = true): Action {
  const remove: RemoveFile = {
    path: f.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
    ...(f.stats ? { stats: f.stats } : {}),
  };
  return { remove };
}
