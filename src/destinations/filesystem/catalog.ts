import { compareLoadIds } from "../../package/load-id.js";
import type { Column } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { DestinationError } from "../../util/errors.js";
import { eachLimited, type FileCache } from "./file-cache.js";
import { type DataFileRecord, type DropRecord, type LoadMarker, systemKeys } from "./system-files.js";

/** A table as readers see it: its columns and the files of completed loads that make it up. */
export interface LiveTable {
  /** `delta`: a Delta table, whose files its log lists (`files` is empty). */
  format: "files" | "delta";
  columns: Column[];
  files: Array<DataFileRecord & { columns: string[] }>;
}

/**
 * The completed loads of a dataset (from their markers) and the tables they make up. A table's files are those of
 * completed loads since its last `replace` (that load's included) and since it was last dropped; files of loads
 * without a marker (in progress, or interrupted) are never part of it.
 *
 * @example
 * const catalog = await readCatalog(store, files, "github");
 * for (const [table, live] of catalog.liveTables()) console.log(table, live.files.length);
 */
export class Catalog {
  /** Completed loads, oldest first. */
  readonly markers: readonly LoadMarker[];
  readonly drops: readonly DropRecord[];

  constructor(markers: LoadMarker[], drops: DropRecord[]) {
    this.markers = [...markers].sort((a, b) => compareLoadIds(a.load_id, b.load_id));
    this.drops = [...drops].sort((a, b) => compareLoadIds(a.drop_id, b.drop_id));
  }

  get completed(): Set<string> {
    return new Set(this.markers.map((m) => m.load_id));
  }

  #lastDrop(): Map<string, string> {
    const out = new Map<string, string>();
    for (const d of this.drops) for (const t of d.tables) out.set(t, d.drop_id);
    return out;
  }

  #live: Map<string, LiveTable> | undefined;

  /** Tables and their current files, by name. */
  liveTables(): Map<string, LiveTable> {
    this.#live ??= this.#computeLive();
    return this.#live;
  }

  #computeLive(): Map<string, LiveTable> {
    const dropped = this.#lastDrop();
    const live = new Map<string, LiveTable>();
    for (const m of this.markers) {
      for (const [name, rec] of Object.entries(m.tables)) {
        const drop = dropped.get(name);
        if (drop !== undefined && compareLoadIds(m.load_id, drop) < 0) continue;
        const format = rec.table_format === "delta" ? "delta" : "files";
        let t = live.get(name);
        if (!t || t.format !== format || (format === "files" && rec.disposition === "replace")) {
          t = { format, columns: [], files: [] };
          live.set(name, t);
        }
        for (const c of rec.columns) if (!t.columns.some((x) => x.name === c.name)) t.columns.push(c);
        const names = rec.columns.map((c) => c.name);
        for (const f of rec.files) t.files.push({ ...f, columns: names });
      }
    }
    return live;
  }

  /**
   * Throws when a table would change format: plain files never become a Delta table in place, nor the other way
   * round (a plain table without files may).
   */
  assertFormat(table: string, want: LiveTable["format"]): void {
    const have = this.liveTables().get(table);
    if (!have || have.format === want || (have.format === "files" && have.files.length === 0)) return;
    throw new DestinationError(
      want === "delta"
        ? `table "${table}" holds plain files from earlier loads: it cannot become a Delta table in place`
        : `table "${table}" is a Delta table: plain files cannot be added to it`,
      {
        fields: { table },
        hint: "drop the table first (ferry pipeline <name> drop), or load into a table of another name",
      },
    );
  }

  /** Every file any completed load wrote into these tables (current or not). */
  filesOf(tables: ReadonlySet<string>, before?: string): DataFileRecord[] {
    const out: DataFileRecord[] = [];
    for (const m of this.markers) {
      if (before !== undefined && compareLoadIds(m.load_id, before) >= 0) continue;
      for (const [name, rec] of Object.entries(m.tables)) if (tables.has(name)) out.push(...rec.files);
    }
    return out;
  }
}

/** Reads the markers and drop records of a dataset. */
export async function readCatalog(store: ObjectStore, files: FileCache, dataset: string): Promise<Catalog> {
  const keys = systemKeys(dataset);
  const read = async <T>(prefix: string): Promise<T[]> => {
    const listed = (await store.list(prefix)).filter((o) => o.key.endsWith(".json"));
    const out: T[] = [];
    await eachLimited(listed, 16, async (o, i) => {
      const v = await files.json<T>(o.key);
      if (v !== undefined) out[i] = v;
    });
    return out.filter((v) => v !== undefined);
  };
  const markers = (await read<LoadMarker>(keys.loadsPrefix)).filter((m) => m.status === 0);
  const drops = await read<DropRecord>(keys.dropsPrefix);
  return new Catalog(markers, drops);
}
