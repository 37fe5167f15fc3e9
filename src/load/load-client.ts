import type { LoadFileFormatName } from "../formats/file-format.js";
import type { LoadFileEntry } from "../package/load-files.js";
import type { StoredSchema, Table } from "../schema/types.js";

/**
 * One load file of a package, loaded into one table. Keyed on its format: the entry's fields say what a loader of
 * that format needs (`maxLineBytes` of a JSONL file, the layout of a typed CSV file).
 */
export type LoadJob = LoadFileEntry & {
  table: string;
  /** Absolute path of the file while the job runs. */
  path: string;
};

/** The jobs of one format. */
export type LoadJobOf<F extends LoadFileFormatName> = Extract<LoadJob, { format: F }>;

/** All tables of one root table (a resource's table and its child tables) with their jobs. */
export interface TableFamilyLoad {
  root: Table;
  /** Parents first. Tables without jobs are listed too, so `replace` can empty them. */
  tables: Table[];
  jobs: LoadJob[];
}

export interface PackageLoadRequest {
  loadId: string;
  pipelineName: string;
  /** The schema after normalizing this package. */
  schema: StoredSchema;
  families: TableFamilyLoad[];
  /**
   * Jobs of an earlier attempt of this package had started (in this process, or in one that crashed). A destination
   * without transactions may hold some of its rows and removes them before loading it again.
   */
  resumed: boolean;
  /** Pipeline state to commit with the data. */
  state: { json: string; version: number; hash: string };
  onJobStarted(job: LoadJob): Promise<void>;
  onJobCompleted(job: LoadJob): Promise<void>;
}

export interface StoredStateRecord {
  state: string;
  version: number;
  loadId: string;
  createdAt: string;
}

/**
 * What the loader needs from a destination. Implementations commit a package's data, its state, schema
 * version and `_ferry_loads` row together (atomically where `supportsTransactions`), so a crash never leaves
 * data and state disagreeing, and loading the same package twice is detected by `isLoadCompleted`.
 */
export interface LoadClient {
  loadPackage(request: PackageLoadRequest): Promise<void>;
  isLoadCompleted(loadId: string): Promise<boolean>;
  getStoredState(pipelineName: string): Promise<StoredStateRecord | undefined>;
  getStoredSchema(schemaName: string): Promise<StoredSchema | undefined>;
  close(): Promise<void>;
}
