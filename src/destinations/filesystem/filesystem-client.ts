import type { LoadJob, PackageLoadRequest, StoredStateRecord } from "../../load/load-client.js";
import { newLoadId } from "../../package/load-id.js";
import type { StoredSchema, Table } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { DestinationError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type {
  DestinationCapabilities,
  DestinationClient,
  QueryRow,
  TableMaintenance,
} from "../destination.js";
import { duckdbDialect } from "../duckdb/duckdb-dialect.js";
import { loadFailure } from "../load-failure.js";
import { type Catalog, readCatalog } from "./catalog.js";
import { DeltaMaintenance } from "./delta/delta-maintenance.js";
import { DeltaTables } from "./delta/delta-tables.js";
import type { LocalEngine } from "./engine.js";
import type { FileCache } from "./file-cache.js";
import { mergeRejection } from "./merge-rejection.js";
import type { ResolvedFilesystemOptions } from "./options.js";
import { columnsOf, PlainFiles, typeOnly } from "./plain-files.js";
import { type DropRecord, SYSTEM_DIRS, type TableLoadRecord } from "./system-files.js";
import { SystemStore } from "./system-store.js";
import { isTransientStoreError } from "./transient.js";
import { createDatasetViews, type DeltaSource } from "./views.js";

/** What a filesystem client is made of (see `filesystem()`). */
export interface FilesystemClientParts {
  store: ObjectStore;
  /** Close the store with the client (false for a store the user passed in). */
  ownsStore: boolean;
  options: ResolvedFilesystemOptions;
  capabilities: DestinationCapabilities;
  dataset: string;
  log: Logger;
  engine: LocalEngine;
  files: FileCache;
}

/**
 * Writes loads as files (Parquet, JSONL or CSV) or Delta tables into an object store, and reads them back through
 * DuckDB. A load's data files are uploaded first (and Delta tables committed), then its schema version and state,
 * and its `_ferry_loads` marker last: readers and `dataset()` only see loads with a marker. Plain file keys are
 * fixed per package, so a load interrupted before its marker rewrites the same keys when it runs again; Delta
 * commits carry the load id, so it does not commit twice.
 *
 * @example
 * const client = await filesystem({ url: "file:///data/lake" }).connect({ dataset: "gh", pipelineName: "gh", logger });
 * await client.sql("select count(*) as n from issues");
 */
export class FilesystemClient implements DestinationClient {
  readonly capabilities: DestinationCapabilities;
  readonly #p: FilesystemClientParts;
  readonly #system: SystemStore;
  readonly #plain: PlainFiles;
  #viewsReady = false;
  /** Threads of the engine: few while converting (memory), all while querying. */
  #threads: "convert" | "query" | undefined;
  /** The markers as last read (until this client loads or drops something). */
  #catalog: Promise<Catalog> | undefined;
  readonly #delta: DeltaTables;

  constructor(parts: FilesystemClientParts) {
    this.#p = parts;
    this.capabilities = parts.capabilities;
    this.#system = new SystemStore(parts.store, parts.dataset);
    const o = parts.options;
    this.#plain = new PlainFiles({
      store: parts.store,
      files: parts.files,
      dataset: parts.dataset,
      options: o,
      log: parts.log,
      engine: () => this.#engine("convert"),
      tempDir: () => parts.engine.tempDir(),
    });
    this.#delta = new DeltaTables({
      store: parts.store,
      files: parts.files,
      dataset: parts.dataset,
      log: parts.log,
      engine: () => this.#engine("convert"),
      tempDir: () => parts.engine.tempDir(),
      settings: {
        compression: o.format === "parquet" ? o.compression : "snappy",
        targetFileSize: o.targetFileSize,
        checkpointInterval: o.checkpointInterval,
      },
    });
  }

  /** Compaction and vacuum of the dataset's Delta tables. */
  get maintenance(): TableMaintenance {
    return new DeltaMaintenance({
      delta: this.#delta,
      dataset: this.#p.dataset,
      tables: async () => {
        const live = (await this.#readCatalog()).liveTables();
        return [...live].filter(([, t]) => t.format === "delta").map(([name]) => name);
      },
      engine: () => this.#engine("convert"),
      changed: () => this.#changed(),
    });
  }

  /** Whether a family is stored as Delta tables: its resource asked for it, or the destination's default. */
  #isDelta(root: Table): boolean {
    return (root.tableFormat ?? this.#p.options.tableFormat) === "delta";
  }

  get #store(): ObjectStore {
    return this.#p.store;
  }

  #readCatalog(): Promise<Catalog> {
    if (!this.#catalog) {
      const reading = readCatalog(this.#store, this.#p.files, this.#p.dataset);
      this.#catalog = reading;
      reading.catch(() => {
        if (this.#catalog === reading) this.#catalog = undefined;
      });
    }
    return this.#catalog;
  }

  #changed(): void {
    this.#viewsReady = false;
    this.#catalog = undefined;
  }

  async loadPackage(req: PackageLoadRequest): Promise<void> {
    const delta = req.families.filter((f) => this.#isDelta(f.root));
    const plain = req.families.filter((f) => !this.#isDelta(f.root));
    // Before any file is written: plain files cannot merge.
    for (const family of plain) {
      if (family.root.writeDisposition === "merge") throw mergeRejection(family.root.name, req.loadId);
    }
    const tables: Record<string, TableLoadRecord> = {};
    const replaced = new Set<string>();
    let current: LoadJob | undefined;
    const setCurrent = (job: LoadJob | undefined) => {
      current = job;
    };
    this.#changed();
    try {
      const catalog = await this.#readCatalog();
      for (const f of delta) for (const t of f.tables) catalog.assertFormat(t.name, "delta");
      for (const f of plain) for (const t of f.tables) catalog.assertFormat(t.name, "files");
      for (const family of plain) await this.#plain.writeFamily(family, req, tables, replaced, setCurrent);
      const finish = async () => {
        await this.#system.writeSchemaVersion(req.schema, req.loadId);
        const now = new Date().toISOString();
        await this.#system.writeState(req, now);
        // Last: from here on the load is complete for every reader.
        await this.#system.writeMarker(req, tables, now);
      };
      // Delta commits come last: whatever fails before them (a bad load file) leaves the tables untouched.
      if (delta.length === 0) await finish();
      else
        await this.#delta.load(req, delta, setCurrent, async (versions) => {
          for (const family of delta) {
            for (const t of family.tables.filter((x) => Object.keys(x.columns).length > 0)) {
              tables[t.name] = {
                disposition: family.root.writeDisposition ?? "append",
                columns: columnsOf(t).map(typeOnly),
                files: [],
                table_format: "delta",
                ...(versions[t.name] !== undefined ? { delta_version: versions[t.name] } : {}),
              };
            }
          }
          await finish();
        });
    } catch (err) {
      throw this.#wrap(err, req.loadId, current);
    } finally {
      this.#changed();
    }
    if (replaced.size > 0) await this.#plain.removeReplaced(replaced, req.loadId);
  }

  async #engine(purpose: "convert" | "query") {
    const conn = await this.#p.engine.connection();
    if (this.#threads !== purpose) {
      await conn.execute(
        purpose === "convert" ? `SET threads = ${this.#p.options.convertThreads}` : "RESET threads",
      );
      this.#threads = purpose;
    }
    return conn;
  }

  isLoadCompleted(loadId: string): Promise<boolean> {
    return this.#system.isLoadCompleted(loadId);
  }

  getStoredState(pipelineName: string): Promise<StoredStateRecord | undefined> {
    return this.#system.storedState(pipelineName);
  }

  getStoredSchema(schemaName: string): Promise<StoredSchema | undefined> {
    return this.#system.storedSchema(schemaName);
  }

  async #views(): Promise<void> {
    if (this.#viewsReady) return;
    const catalog = await this.#readCatalog();
    const deltaSource: DeltaSource = async (name) => {
      const snap = await this.#delta.snapshot(name);
      const files = [...snap.files.values()];
      const paths = await this.#p.files.paths(
        files.map((f) => ({ key: this.#delta.table(name).key(f.path), bytes: f.size })),
      );
      const present = new Set(snap.fields().map((f) => f.name));
      return { paths, present: paths.length > 0 ? await this.#columnsIn(paths) : present };
    };
    await createDatasetViews(
      await this.#engine("query"),
      this.#p.dataset,
      catalog,
      this.#p.files,
      this.#store,
      deltaSource,
    );
    this.#viewsReady = true;
  }

  /** Columns that any of these Parquet files has (Delta files written before a column existed lack it). */
  async #columnsIn(paths: string[]): Promise<Set<string>> {
    const list = paths.map((p) => duckdbDialect.quoteLiteral(p)).join(", ");
    const rows = await (await this.#engine("query")).query(
      `SELECT DISTINCT name FROM parquet_schema([${list}])`,
    );
    return new Set(rows.map((r) => String(r.name)));
  }

  async sql(query: string, params?: unknown[]): Promise<QueryRow[]> {
    await this.#views();
    return (await this.#engine("query")).query(query, params);
  }

  async readTable(name: string, options: { limit?: number; orderBy?: string } = {}): Promise<QueryRow[]> {
    const tables = await this.listTables();
    if (!tables.includes(name)) {
      throw new DestinationError(`table "${name}" does not exist in dataset "${this.#p.dataset}"`, {
        fields: { table: name },
        hint: tables.length > 0 ? `tables: ${tables.join(", ")}` : "nothing was loaded yet",
      });
    }
    const q = duckdbDialect.quoteIdent;
    const order = options.orderBy ? ` ORDER BY ${q(options.orderBy)}` : "";
    const limit = options.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.limit))}` : "";
    return this.sql(`SELECT * FROM ${q(this.#p.dataset)}.${q(name)}${order}${limit}`);
  }

  async listTables(): Promise<string[]> {
    const catalog = await this.#readCatalog();
    const names = [...catalog.liveTables()].filter(([, t]) => t.columns.length > 0).map(([name]) => name);
    if (catalog.markers.length > 0) names.push(SYSTEM_DIRS.loads, SYSTEM_DIRS.state, SYSTEM_DIRS.version);
    return names.sort();
  }

  /**
   * Drops tables: a drop record hides them from later reads (loads before it no longer count for them), then their
   * files are deleted. Dropping the system tables deletes ferry's files of the dataset (state, schemas, markers).
   */
  async dropTables(names: string[]): Promise<void> {
    const system = new Set<string>(Object.values(SYSTEM_DIRS));
    const data = names.filter((n) => !system.has(n));
    const catalog = await this.#readCatalog();
    this.#changed();
    if (data.length > 0) {
      const drop: DropRecord = { drop_id: newLoadId(), tables: data, dropped_at: new Date().toISOString() };
      await this.#store.put(this.#system.keys.drop(drop.drop_id), JSON.stringify(drop));
      await this.#store.delete(catalog.filesOf(new Set(data)).map((f) => f.key));
      const live = catalog.liveTables();
      for (const name of data) if (live.get(name)?.format === "delta") await this.#delta.drop(name);
    }
    const dirs = names.filter((n) => system.has(n));
    if (dirs.includes(SYSTEM_DIRS.loads)) dirs.push(SYSTEM_DIRS.drops);
    for (const d of dirs) {
      await this.#store.delete((await this.#store.list(this.#system.keys.dir(d))).map((o) => o.key));
    }
  }

  async close(): Promise<void> {
    await this.#p.engine.close();
    if (this.#p.ownsStore) await this.#store.close();
  }

  #wrap(err: unknown, loadId: string, job: LoadJob | undefined): unknown {
    return loadFailure(err, {
      loadId,
      job,
      transient: isTransientStoreError(err),
      hints: {
        transient:
          "the store was busy or unreachable; ferry retries, and the next run completes this package",
        terminal:
          "fix the cause (see the message), then run again: readers do not see this load until it completes",
      },
    });
  }
}
