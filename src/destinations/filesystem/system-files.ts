import type { Column, StoredSchema } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import { shortHash } from "../../util/hash.js";
import type { FileFormat } from "./options.js";

/**
 * Folders of a dataset that hold ferry's own files, next to the table folders. `_ferry_drops` records dropped
 * tables (it has no SQL counterpart).
 */
export const SYSTEM_DIRS = { ...SYSTEM_TABLES, drops: "_ferry_drops" } as const;

/** One data file of a completed load, as recorded in its marker. */
export interface DataFileRecord {
  /** Key relative to the store's root. */
  key: string;
  rows: number;
  bytes: number;
  format: FileFormat;
  /** Upper bound of the longest line (JSONL, CSV): readers size their buffers by it. */
  max_line_bytes?: number;
}

/** What a load wrote into one table. */
export interface TableLoadRecord {
  /** `replace`: the table's files of earlier loads are no longer part of it. `merge`: Delta tables only. */
  disposition: "append" | "replace" | "merge";
  /** The columns of every file of this table in this load, in order. */
  columns: Column[];
  /** Plain files written (none for Delta tables, whose log lists their files). */
  files: DataFileRecord[];
  /** Set for a Delta table (`<dataset>/<table>/_delta_log/`). */
  table_format?: "delta";
  /** The Delta table's version after this load. */
  delta_version?: number;
}

/**
 * `_ferry_loads/<load_id>.json`, written last: a load whose marker exists is complete. Its fields are those of the
 * `_ferry_loads` table of SQL destinations, plus the files it wrote per table.
 */
export interface LoadMarker {
  load_id: string;
  schema_name: string;
  status: number;
  inserted_at: string;
  schema_version_hash: string;
  pipeline_name: string;
  tables: Record<string, TableLoadRecord>;
}

/** `_ferry_pipeline_state/<pipeline>/<load_id>.json`: the fields of the `_ferry_pipeline_state` table. */
export interface StateRecord {
  version: number;
  engine_version: number;
  pipeline_name: string;
  /** The pipeline state (an object; SQL destinations store its JSON text). */
  state: unknown;
  created_at: string;
  version_hash: string;
  _ferry_load_id: string;
}

/** `_ferry_version/<schema>/<version>.<hash>.json`: the fields of the `_ferry_version` table and the load that wrote it. */
export interface VersionRecord {
  version: number;
  engine_version: number;
  inserted_at: string;
  schema_name: string;
  version_hash: string;
  schema: StoredSchema;
  load_id: string;
}

/** `_ferry_drops/<id>.json`: tables dropped at that point; loads before it no longer count for them. */
export interface DropRecord {
  drop_id: string;
  tables: string[];
  dropped_at: string;
}

/** A name as one key segment: kept when it is plain, else a readable prefix and a hash (the file holds the name). */
function segment(name: string): string {
  return /^[\w.-]{1,100}$/.test(name) && name !== "." && name !== ".."
    ? name
    : `${name.replace(/[^\w-]/g, "_").slice(0, 40)}_${shortHash(name, 10)}`;
}

/**
 * Keys of the system files of a dataset.
 *
 * @example
 * const keys = systemKeys("github");
 * keys.marker("1700000000000.ab12cd") // "github/_ferry_loads/1700000000000.ab12cd.json"
 */
export function systemKeys(dataset: string) {
  const dir = (d: string) => `${dataset}/${d}/`;
  return {
    dir,
    loadsPrefix: dir(SYSTEM_DIRS.loads),
    dropsPrefix: dir(SYSTEM_DIRS.drops),
    marker: (loadId: string) => `${dir(SYSTEM_DIRS.loads)}${loadId}.json`,
    statePrefix: (pipeline: string) => `${dir(SYSTEM_DIRS.state)}${segment(pipeline)}/`,
    state: (pipeline: string, loadId: string) =>
      `${dir(SYSTEM_DIRS.state)}${segment(pipeline)}/${loadId}.json`,
    versionPrefix: (schema: string) => `${dir(SYSTEM_DIRS.version)}${segment(schema)}/`,
    version: (schema: string, version: number, hash: string) =>
      `${dir(SYSTEM_DIRS.version)}${segment(schema)}/${String(version).padStart(10, "0")}.${hash}.json`,
    drop: (id: string) => `${dir(SYSTEM_DIRS.drops)}${id}.json`,
  };
}

/** The load id of a marker, state or drop key (`.../<load_id>.json`). */
export function idOfKey(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1).replace(/\.json$/, "");
}
