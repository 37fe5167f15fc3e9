import type { LoadJob, PackageLoadRequest, TableFamilyLoad } from "../../../load/load-client.js";
import type { Column, Table } from "../../../schema/types.js";
import { DestinationError } from "../../../util/errors.js";
import { readLoadFilesSql } from "../../duckdb/load-file-sql.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import type { Action, AddFile, FerryCommitInfo } from "./actions.js";
import { type DataFileOptions, writeDataFiles } from "./data-files.js";
import { fromLoadFileExpr } from "./delta-schema.js";
import {
  type CommitPlan,
  type Committed,
  type DeltaContext,
  type DeltaTable,
  removeOf,
  schemaActions,
} from "./delta-table.js";
import { FamilyMerge } from "./merge.js";

const cols = (t: Table): Column[] => Object.values(t.columns);

/** A family made ready to commit: its new data files uploaded (append, replace) or its rows staged (merge). */
type Prepared =
  | {
      kind: "write";
      mode: "append" | "replace";
      tables: Array<{ table: Table; adds: AddFile[]; done?: Committed }>;
    }
  | { kind: "merge"; root: Table; children: Table[]; merge: FamilyMerge };

/** What a Delta load needs besides the request. */
export interface DeltaLoadParts {
  ctx: DeltaContext;
  conn: SqlConnection;
  dataset: string;
  files: Omit<DataFileOptions, "label" | "dataChange">;
  /** The DeltaTable handles of the client (snapshots stay cached between loads). */
  table(name: string): DeltaTable;
}

/**
 * Loads the Delta families of one package in two phases: first every family's data is written (load files
 * converted to Parquet data files and uploaded; merge rows staged), then each table gets one commit (parents
 * first). Every commit carries the load id, so a run after a crash finds the commits the interrupted one made and
 * does not make them again; a load that fails for good has its commits undone (`undo`), so, as with plain files,
 * nothing of a failed package stays in the tables.
 *
 * @example
 * const load = new DeltaPackageLoad(parts, req);
 * for (const f of deltaFamilies) await load.prepare(f);
 * const versions = await load.commit();
 */
export class DeltaPackageLoad {
  readonly #p: DeltaLoadParts;
  readonly #req: PackageLoadRequest;
  readonly #prepared: Prepared[] = [];
  /** Tables this load committed to (in this attempt or found from an earlier one). */
  readonly #touched = new Set<string>();

  constructor(parts: DeltaLoadParts, req: PackageLoadRequest) {
    this.#p = parts;
    this.#req = req;
  }

  get #info(): FerryCommitInfo {
    return { loadId: this.#req.loadId, pipeline: this.#req.pipelineName };
  }

  #options(): DataFileOptions {
    return { ...this.#p.files, label: this.#req.loadId };
  }

  /** Writes (or stages) a family's data. `onJob` reports each load file as it is used. */
  async prepare(family: TableFamilyLoad, current: (job: LoadJob | undefined) => void): Promise<void> {
    const members = family.tables.filter((t) => cols(t).length > 0);
    const started = async (job: LoadJob) => {
      current(job);
      await this.#req.onJobStarted(job);
    };
    const completed = async (job: LoadJob) => {
      await this.#req.onJobCompleted(job);
      current(undefined);
    };
    if (family.root.writeDisposition === "merge") {
      const merge = new FamilyMerge(
        this.#p.ctx,
        this.#p.conn,
        family.root,
        members,
        family.root.mergeStrategy ?? "delete-insert",
        this.#options(),
      );
      this.#prepared.push({ kind: "merge", root: family.root, children: members.slice(1), merge });
      await merge.stage(family.jobs, started, completed);
      return;
    }
    const mode = family.root.writeDisposition === "replace" ? "replace" : "append";
    const tables: Array<{ table: Table; adds: AddFile[]; done?: Committed }> = [];
    this.#prepared.push({ kind: "write", mode, tables });
    for (const table of members) {
      const entry: { table: Table; adds: AddFile[]; done?: Committed } = { table, adds: [] };
      tables.push(entry);
      const jobs = family.jobs.filter((j) => j.table === table.name);
      // After a crash: a table this load already committed to is not written again.
      const done =
        jobs.length > 0 ? await this.#p.table(table.name).findLoadCommit(this.#req.loadId) : undefined;
      if (done) entry.done = done;
      for (const job of jobs) {
        await started(job);
        if (!done) entry.adds.push(...(await this.#convert(job, table)));
        await completed(job);
      }
    }
  }

  async #convert(job: LoadJob, table: Table): Promise<AddFile[]> {
    if (job.format !== "jsonl") {
      throw new DestinationError(`Delta tables cannot load ${job.format} load files`, {
        hint: "the package was written for another destination",
      });
    }
    const columns = cols(table);
    const select = `SELECT ${columns.map(fromLoadFileExpr).join(", ")} FROM ${readLoadFilesSql(job.path, columns, job.maxLineBytes)}`;
    return writeDataFiles(
      this.#p.ctx,
      this.#p.conn,
      this.#p.table(table.name),
      select,
      columns,
      this.#options(),
    );
  }

  /** Commits every prepared table (parents first); returns each table's version after this load. */
  async commit(): Promise<Record<string, number>> {
    const versions: Record<string, number> = {};
    for (const f of this.#prepared) {
      if (f.kind === "write") {
        for (const { table, adds, done } of f.tables) {
          const handle = this.#p.table(table.name);
          this.#touched.add(table.name);
          const c =
            done ??
            (await handle.findLoadCommit(this.#req.loadId)) ??
            (await this.#write(handle, table, f.mode, adds));
          versions[table.name] = c?.version ?? (await handle.snapshot()).version;
        }
        continue;
      }
      const rootHandle = this.#p.table(f.root.name);
      this.#touched.add(f.root.name);
      const root =
        (await rootHandle.findLoadCommit(this.#req.loadId)) ??
        (await rootHandle.commit(this.#info, (snap) => f.merge.planRoot(rootHandle, snap)));
      versions[f.root.name] = root?.version ?? (await rootHandle.snapshot()).version;
      await f.merge.rootIdsGone(rootHandle, root?.actions ?? []);
      for (const child of f.children) {
        const handle = this.#p.table(child.name);
        this.#touched.add(child.name);
        const c =
          (await handle.findLoadCommit(this.#req.loadId)) ??
          (await handle.commit(this.#info, (snap) => f.merge.planChild(child, handle, snap)));
        versions[child.name] = c?.version ?? (await handle.snapshot()).version;
      }
    }
    return versions;
  }

  #write(
    handle: DeltaTable,
    table: Table,
    mode: "append" | "replace",
    adds: AddFile[],
  ): Promise<Committed | undefined> {
    return handle.commit(this.#info, async (snap): Promise<CommitPlan | undefined> => {
      snap.checkWritable(table.name, mode === "replace" ? "rewrite" : "append");
      const schema = schemaActions(snap, cols(table), table.name);
      const now = Date.now();
      const removed = mode === "replace" ? [...snap.files.values()].map((f) => removeOf(f, now)) : [];
      if (
        schema.length === 0 &&
        adds.length === 0 &&
        (mode === "append" || (removed.length === 0 && snap.exists))
      )
        return undefined;
      return {
        actions: [...schema, ...removed, ...adds.map((add) => ({ add }))],
        operation: "WRITE",
        parameters: { mode: mode === "replace" ? "Overwrite" : "Append", readVersion: snap.version },
      };
    });
  }

  /**
   * Undoes every commit this load made (after a terminal failure): each one's added files are removed and its
   * removed files added back, in a new commit per table. Best effort for files other writers changed since.
   */
  async undo(): Promise<void> {
    for (const name of [...this.#touched].reverse()) {
      const handle = this.#p.table(name);
      const made = await handle.findLoadCommit(this.#req.loadId);
      if (!made) continue;
      await handle.commit({ ...this.#info, undoes: made.version }, async (snap) => {
        const now = Date.now();
        const actions: Action[] = [];
        for (const a of made.actions) {
          if ("add" in a && a.add && snap.files.has(a.add.path))
            actions.push(removeOf(snap.files.get(a.add.path)!, now));
          if ("remove" in a && a.remove && !snap.files.has(a.remove.path) && a.remove.size != null) {
            const r = a.remove;
            actions.push({
              add: {
                path: r.path,
                partitionValues: r.partitionValues ?? {},
                size: r.size ?? 0,
                modificationTime: now,
                dataChange: true,
                ...(r.stats ? { stats: r.stats } : {}),
              },
            });
          }
        }
        return actions.length > 0
          ? { actions, operation: "RESTORE", parameters: { undoneVersion: made.version } }
          : undefined;
      });
    }
  }

  /** Drops staging tables. */
  async dispose(): Promise<void> {
    for (const f of this.#prepared) if (f.kind === "merge") await f.merge.dispose();
  }
}
