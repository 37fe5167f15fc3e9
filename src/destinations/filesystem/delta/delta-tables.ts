import type { LoadJob, PackageLoadRequest, TableFamilyLoad } from "../../../load/load-client.js";
import type { ObjectStore } from "../../../storage/object-store.js";
import { DestinationError } from "../../../util/errors.js";
import { uniqueId } from "../../../util/hash.js";
import type { Logger } from "../../../util/log.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import type { FileCache } from "../file-cache.js";
import { isTransientStoreError } from "../transient.js";
import { DeltaPackageLoad } from "./delta-load.js";
import { type DeltaContext, DeltaTable } from "./delta-table.js";
import type { DeltaSnapshot } from "./snapshot.js";

/** Settings of the Delta tables of a filesystem destination. */
export interface DeltaSettings {
  /** Parquet compression of data files. */
  compression: string;
  /** Data files are cut at about this size (merge rewrites, optimize). */
  targetFileSize: number;
  /** A checkpoint every this many commits. */
  checkpointInterval: number;
}

/** What the Delta tables of one client are made of. */
export interface DeltaTablesParts {
  store: ObjectStore;
  files: FileCache;
  dataset: string;
  log: Logger;
  engine(): Promise<SqlConnection>;
  tempDir(): Promise<string>;
  settings: DeltaSettings;
}

/**
 * The Delta tables of one dataset, for one filesystem client: table handles (whose snapshots stay cached between
 * loads), loads of packages, and the files readers need. Before the first commit it checks once that the store's
 * conditional put really refuses to overwrite (a store that ignores `If-None-Match` would let two writers take one
 * version), and refuses Delta writes to a store that does not.
 *
 * @example
 * const delta = new DeltaTables(parts);
 * const versions = await delta.load(req, families, (job) => { current = job; });
 */
export class DeltaTables {
  readonly #p: DeltaTablesParts;
  readonly #tables = new Map<string, DeltaTable>();
  readonly ctx: DeltaContext;
  #probe: Promise<void> | undefined;

  constructor(parts: DeltaTablesParts) {
    this.#p = parts;
    this.ctx = {
      store: parts.store,
      files: parts.files,
      engine: parts.engine,
      tempDir: parts.tempDir,
      log: parts.log,
      checkpointInterval: Math.max(1, Math.floor(parts.settings.checkpointInterval)),
      assertConditionalPut: () => this.#assertConditionalPut(),
    };
  }

  get settings(): DeltaSettings {
    return this.#p.settings;
  }

  table(name: string): DeltaTable {
    let t = this.#tables.get(name);
    if (!t) {
      t = new DeltaTable(this.ctx, this.#p.dataset, name);
      this.#tables.set(name, t);
    }
    return t;
  }

  #assertConditionalPut(): Promise<void> {
    this.#probe ??= (async () => {
      const store = this.#p.store;
      const key = `${this.#p.dataset}/_ferry_delta_probe/${uniqueId()}`;
      try {
        const first = await store.putIfAbsent!(key, "first");
        const second = await store.putIfAbsent!(key, "second");
        const body = (await store.get(key))?.toString("utf8");
        if (!first || second || body !== "first") {
          throw new DestinationError(
            `the store ${store.description} does not honour conditional writes: a put-if-absent of an existing object ${second ? "replaced it" : "failed"}`,
            {
              hint:
                "Delta commits need an atomic put-if-absent (S3 If-None-Match, GCS ifGenerationMatch=0, Azure " +
                "If-None-Match) so that concurrent writers never overwrite each other; use a store that supports " +
                "it (a current S3, R2 or MinIO), or plain files (no table_format)",
            },
          );
        }
      } finally {
        await store.delete([key]).catch(() => {});
      }
    })();
    this.#probe.catch(() => {
      this.#probe = undefined;
    });
    return this.#probe;
  }

  /**
   * Loads the Delta families of a package (see `DeltaPackageLoad`), then runs `finish` with each table's version
   * after the load (it writes ferry's state and marker). `current` hears which load file is in use (for failure
   * reports). A terminal failure, also one of `finish`, undoes this load's commits before it is thrown: as with plain
   * files, nothing of a failed package stays.
   */
  async load(
    req: PackageLoadRequest,
    families: readonly TableFamilyLoad[],
    current: (job: LoadJob | undefined) => void,
    finish: (versions: Record<string, number>) => Promise<void>,
  ): Promise<void> {
    const conn = await this.#p.engine();
    const load = new DeltaPackageLoad(
      {
        ctx: this.ctx,
        conn,
        dataset: this.#p.dataset,
        files: { compression: this.#p.settings.compression, targetFileSize: this.#p.settings.targetFileSize },
        table: (name) => this.table(name),
      },
      req,
    );
    try {
      for (const f of families) await load.prepare(f, current);
      await finish(await load.commit());
    } catch (err) {
      if (!isTransientStoreError(err)) {
        await load.undo().catch((e) => {
          this.#p.log.warn(`could not undo the Delta commits of load ${req.loadId}: ${e}`);
        });
      }
      throw err;
    } finally {
      await load.dispose();
    }
  }

  /** A table's newest snapshot, checked readable. */
  async snapshot(name: string): Promise<DeltaSnapshot> {
    const snap = await this.table(name).snapshot();
    snap.checkReadable(name);
    return snap;
  }

  /** Deletes a table's folder (data files and log). */
  async drop(name: string): Promise<void> {
    const root = this.table(name).root;
    const keys = (await this.#p.store.list(`${root}/`)).map((o) => o.key);
    // The log goes first: a half-deleted table must not look like a table with missing files.
    const isLog = (k: string) => k.startsWith(`${root}/_delta_log/`);
    await this.#p.store.delete(keys.filter(isLog));
    await this.#p.store.delete(keys.filter((k) => !isLog(k)));
    this.#tables.delete(name);
  }
}
