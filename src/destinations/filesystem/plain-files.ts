import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { LoadJob, LoadJobOf, PackageLoadRequest, TableFamilyLoad } from "../../load/load-client.js";
import type { Column, Table } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { DestinationError, errorMessage } from "../../util/errors.js";
import { uniqueId } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import type { SqlConnection } from "../sql/sql-connection.js";
import { readCatalog } from "./catalog.js";
import { convertLoadFile, outputLineBound } from "./convert.js";
import type { FileCache } from "./file-cache.js";
import { type Layout, parseLayout } from "./layout.js";
import { fileExtension, type ResolvedFilesystemOptions } from "./options.js";
import type { DataFileRecord, TableLoadRecord } from "./system-files.js";

/** What writing plain files needs. */
export interface PlainFilesParts {
  store: ObjectStore;
  files: FileCache;
  dataset: string;
  options: ResolvedFilesystemOptions;
  log: Logger;
  engine(): Promise<SqlConnection>;
  tempDir(): Promise<string>;
}

export const columnsOf = (t: Table): Column[] => Object.values(t.columns);

/** What readers need of a column (markers stay small): name and type. */
export const typeOnly = (c: Column): Column => ({
  name: c.name,
  type: c.type,
  ...(c.precision !== undefined ? { precision: c.precision } : {}),
  ...(c.scale !== undefined ? { scale: c.scale } : {}),
});

/** A job's file id: its load file name without the table prefix and extension (`items.0001.jsonl` -> `0001`). */
export function fileIdOf(job: Pick<LoadJob, "id" | "table">): string {
  const base = job.id.replace(/\.jsonl$/, "");
  return base.startsWith(`${job.table}.`) ? base.slice(job.table.length + 1) : base;
}

/**
 * Tables as plain files (Parquet, JSONL, CSV): each load file converted by DuckDB into one data file at a key the
 * layout fixes per package (a retried load rewrites its own keys), recorded in the load's marker; after a replace,
 * the files of earlier loads are deleted.
 *
 * @example
 * const plain = new PlainFiles(parts);
 * await plain.writeFamily(family, req, tables, replaced, (job) => { current = job; });
 */
export class PlainFiles {
  readonly #p: PlainFilesParts;
  readonly #layout: Layout;

  constructor(parts: PlainFilesParts) {
    this.#p = parts;
    this.#layout = parseLayout(parts.options.layout);
  }

  /** Converts and uploads the load files of a family; records them in `tables` (and replaced tables). */
  async writeFamily(
    family: TableFamilyLoad,
    req: PackageLoadRequest,
    tables: Record<string, TableLoadRecord>,
    replaced: Set<string>,
    setCurrent: (job: LoadJob | undefined) => void,
  ): Promise<void> {
    const disposition = family.root.writeDisposition === "replace" ? "replace" : "append";
    const members = family.tables.filter((t) => Object.keys(t.columns).length > 0);
    for (const t of members) {
      tables[t.name] = { disposition, columns: columnsOf(t).map(typeOnly), files: [] };
      if (disposition === "replace") replaced.add(t.name);
    }
    for (const job of family.jobs) {
      const table = members.find((t) => t.name === job.table);
      if (!table) continue;
      setCurrent(job);
      await req.onJobStarted(job);
      if (job.format !== "jsonl") {
        throw new DestinationError(`this destination cannot load ${job.format} load files`, {
          hint: "it loads jsonl; the package was written for another destination",
        });
      }
      tables[table.name]!.files.push(await this.#writeJob(job, table, req.loadId));
      await req.onJobCompleted(job);
      setCurrent(undefined);
    }
  }

  async #writeJob(job: LoadJobOf<"jsonl">, table: Table, loadId: string): Promise<DataFileRecord> {
    const { format, compression } = this.#p.options;
    const ext = fileExtension(format, compression);
    const columns = columnsOf(table);
    const tmp = join(await this.#p.tempDir(), `${uniqueId()}.${ext}`);
    try {
      const rows = await convertLoadFile(await this.#p.engine(), {
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
      await this.#p.store.putFile(key, tmp);
      const bound = format === "parquet" ? undefined : outputLineBound(job.maxLineBytes, columns);
      return { key, rows, bytes, format, ...(bound !== undefined ? { max_line_bytes: bound } : {}) };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** After a replace completed: deletes the files earlier loads wrote into the replaced tables. */
  async removeReplaced(tables: Set<string>, loadId: string): Promise<void> {
    try {
      const catalog = await readCatalog(this.#p.store, this.#p.files, this.#p.dataset);
      const old = catalog.filesOf(tables, loadId).map((f) => f.key);
      if (old.length > 0) await this.#p.store.delete(old);
      this.#p.log.debug(`replace: removed ${old.length} file(s) of ${[...tables].join(", ")}`);
    } catch (err) {
      // The load is complete and readers already ignore these files; the next replace removes them.
      this.#p.log.warn(`could not remove replaced files of ${[...tables].join(", ")}: ${errorMessage(err)}`);
    }
  }
}
