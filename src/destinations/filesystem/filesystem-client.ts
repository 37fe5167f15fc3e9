import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { LoadJob, LoadJobOf, PackageLoadRequest, StoredStateRecord } from "../../load/load-client.js";
import { newLoadId } from "../../package/load-id.js";
import type { Column, StoredSchema, Table } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { DestinationError, errorMessage, isFerryError } from "../../util/errors.js";
import { uniqueId } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import type { DestinationCapabilities, DestinationClient, QueryRow } from "../destination.js";
import { duckdbDialect } from "../duckdb/duckdb-dialect.js";
import { loadFailure } from "../load-failure.js";
import { type Catalog, readCatalog } from "./catalog.js";
import { convertLoadFile, outputLineBound } from "./convert.js";
import type { LocalEngine } from "./engine.js";
import type { FileCache } from "./file-cache.js";
import { type Layout, parseLayout } from "./layout.js";
import { mergeRejection } from "./merge-rejection.js";
import { fileExtension, type ResolvedFilesystemOptions } from "./options.js";
import { type DataFileRecord, type DropRecord, SYSTEM_DIRS, type TableLoadRecord } from "./system-files.js";
import { SystemStore } from "./system-store.js";
import { createDatasetViews } from "./views.js";

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

/** Store errors worth another attempt: network trouble, throttling, server errors. */
function isTransientStoreError(err: unknown): boolean {
  if (isFerryError(err)) return err.transient;
  const code = (err as { code?: unknown })?.code;
  if (
    typeof code === "string" &&
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND)$/.test(code)
  )
    return true;
  const status = (err as { $metadata?: { httpStatusCode?: number }; statusCode?: number })?.$metadata
    ?.httpStatusCode;
  if (typeof status === "number" && (status >= 500 || status === 429)) return true;
  return /timed? ?out|throttl|slow ?down|socket hang up|temporar/i.test(errorMessage(err));
}

const columnsOf = (t: Table): Column[] => Object.values(t.columns);
/** What readers need of a column (markers stay small): name and type. */
const typeOnly = (c: Column): Column => ({
  name: c.name,
  type: c.type,
  ...(c.precision !== undefined ? { precision: c.precision } : {}),
  ...(c.scale !== undefined ? { scale: c.scale } : {}),
});

/**
 * Writes loads as files (Parquet, JSONL or CSV) into an object store, and reads them back through DuckDB. A load's
 * data files are uploaded first, then its schema version and state, and its `_ferry_loads` marker last: readers and
 * `dataset()` only see loads with a marker. File keys are fixed per package, so a load interrupted before its marker
 * rewrites the same keys when it runs again.
 *
 * @example
 * const client = await filesystem({ url: "file:///data/lake" }).connect({ dataset: "gh", pipelineName: "gh", logger });
 * await client.sql("select count(*) as n from issues");
 */
export class FilesystemClient implements DestinationClient {
  readonly capabilities: DestinationCapabilities;
  readonly #p: FilesystemClientParts;
  readonly #layout: Layout;
  readonly #system: SystemStore;
  #viewsReady = false;
  /** Threads of the engine: few while converting (memory), all while querying. */
  #threads: "convert" | "query" | undefined;
  /** The markers as last read (until this client loads or drops something). */
  #catalog: Promise<Catalog> | undefined;

  constructor(parts: FilesystemClientParts) {
    this.#p = parts;
    this.capabilities = parts.capabilities;
    this.#layout = parseLayout(parts.options.layout);
    this.#system = new SystemStore(parts.store, parts.dataset);
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
    // Before any file is written: plain files cannot merge.
    for (const family of req.families) {
      if (family.root.writeDisposition === "merge") throw mergeRejection(family.root.name, req.loadId);
    }
    const tables: Record<string, TableLoadRecord> = {};
    const replaced = new Set<string>();
    let current: LoadJob | undefined;
    this.#changed();
    try {
      for (const family of req.families) {
        const disposition = family.root.writeDisposition === "replace" ? "replace" : "append";
        const members = family.tables.filter((t) => Object.keys(t.columns).length > 0);
        for (const t of members) {
          tables[t.name] = { disposition, columns: columnsOf(t).map(typeOnly), files: [] };
          if (disposition === "replace") replaced.add(t.name);
        }
        for (const job of family.jobs) {
          const table = members.find((t) => t.name === job.table);
          if (!table) continue;
          current = job;
          await req.onJobStarted(job);
          if (job.format !== "jsonl") {
            throw new DestinationError(`this destination cannot load ${job.format} load files`, {
              hint: `it loads ${this.capabilities.supportedFileFormats.join(", ")}; the package was written for another destination`,
            });
          }
          tables[table.name]!.files.push(await this.#writeJob(job, table, req.loadId));
          await req.onJobCompleted(job);
          current = undefined;
        }
      }
      await this.#system.writeSchemaVersion(req.schema, req.loadId);
      const now = new Date().toISOString();
      await this.#system.writeState(req, now);
      // Last: from here on the load is complete for every reader.
      await this.#system.writeMarker(req, tables, now);
    } catch (err) {
      throw this.#wrap(err, req.loadId, current);
    } finally {
      this.#changed();
    }
    if (replaced.size > 0) await this.#removeReplaced(replaced, req.loadId);
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

  async #writeJob(job: LoadJobOf<"jsonl">, table: Table, loadId: string): Promise<DataFileRecord> {
    const { format, compression } = this.#p.options;
    const ext = fileExtension(format, compression);
    const columns = columnsOf(table);
    const tmp = join(await this.#p.engine.tempDir(), `${uniqueId()}.${ext}`);
    try {
      const rows = await convertLoadFile(await this.#engine("convert"), {
        source: job.path,
        maxLineBytes: job.maxLineBytes,
        columns,
        format,
        compression,
        target: tmp,
      });
      const bytes = (await stat(tmp)).size;
      const key = `${this.#p.dataset}/${this.#layout.render({
        dataset: this.#p.dataset,
        table: table.name,
        loadId,
        fileId: fileIdOf(job),
        ext,
      })}`;
      await this.#store.putFile(key, tmp);
      const bound = format === "parquet" ? undefined : outputLineBound(job.maxLineBytes, columns);
      return { key, rows, bytes, format, ...(bound !== undefined ? { max_line_bytes: bound } : {}) };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** After a replace completed: deletes the files earlier loads wrote into the replaced tables. */
  async #removeReplaced(tables: Set<string>, loadId: string): Promise<void> {
    try {
      const catalog = await readCatalog(this.#store, this.#p.files, this.#p.dataset);
      const old = catalog.filesOf(tables, loadId).map((f) => f.key);
      if (old.length > 0) await this.#store.delete(old);
      this.#p.log.debug(`replace: removed ${old.length} file(s) of ${[...tables].join(", ")}`);
    } catch (err) {
      // The load is complete and readers already ignore these files; the next replace removes them.
      this.#p.log.warn(`could not remove replaced files of ${[...tables].join(", ")}: ${errorMessage(err)}`);
    }
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
    await createDatasetViews(
      await this.#engine("query"),
      this.#p.dataset,
      catalog,
      this.#p.files,
      this.#store,
    );
    this.#viewsReady = true;
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

/** A job's file id: its load file name without the table prefix and extension (`items.0001.jsonl` -> `0001`). */
export function fileIdOf(job: Pick<LoadJob, "id" | "table">): string {
  const base = job.id.replace(/\.jsonl$/, "");
  return base.startsWith(`${job.table}.`) ? base.slice(job.table.length + 1) : base;
}
