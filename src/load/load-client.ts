import type { TypedCsvLayout } from "../formats/typed-csv.js";
import type { StoredSchema, Table } from "../schema/types.js";

/** One load file of a package, loaded into one table. */
export interface LoadJob {
  /** File name inside the package (stable across retries). */
  id: string;
  table: string;
  /** Absolute path of the file while the job runs. */
  path: string;
  /** Upper bound of the longest line in bytes, when known (readers size their buffers by it). */
  maxLineBytes?: number;
  /** Set for a typed CSV file (else the file is typed JSONL). */
  typedCsv?: TypedCsvLayout;
  /** The records a typed CSV file declares: a destination that counts its inserts checks them. */
  rows?: number;
}

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
