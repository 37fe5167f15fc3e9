import type { LoadFileFormatName } from "../formats/file-format.js";
import type { LoadClient } from "../load/load-client.js";
import type { MergeStrategy, TableFormat } from "../schema/types.js";
import type { Logger } from "../util/log.js";

/**
 * What a destination can do, as data. Core code and tests branch on these, never on a destination's name.
 */
export interface DestinationCapabilities {
  /** Maximum identifier length in bytes; longer names are shortened with a hash suffix. */
  maxIdentifierLength: number;
  /** Data, state and load record of a package commit in one transaction. */
  supportsTransactions: boolean;
  supportsMerge: boolean;
  mergeStrategies: readonly MergeStrategy[];
  /** The load-file format normalize writes for it. */
  preferredFileFormat: "jsonl";
  /**
   * Every load-file format it loads (see `formats/file-format.ts`). Sources may hand over files of the ones written
   * by sources (typed CSV) when the destination lists them, and they are then loaded as they are.
   */
  supportedFileFormats: readonly LoadFileFormatName[];
  /** `dataset().sql()` works. */
  supportsSql: boolean;
  /**
   * A load holds the destination for itself: no other process can open it meanwhile (DuckDB's file lock). A loader
   * that loads again and again (`ferry serve`) leaves a gap between loads for readers.
   */
  exclusiveWhileLoading?: boolean;
  /**
   * Table formats a resource may ask for (`tableFormat: "delta"`) besides the destination's own, with the merge
   * strategies each offers. File destinations offer `delta`; without an entry, the destination refuses the format.
   */
  tableFormats?: Readonly<Partial<Record<Exclude<TableFormat, "native">, TableFormatCapabilities>>>;
}

/** What a table format a destination offers per resource can do. */
export interface TableFormatCapabilities {
  mergeStrategies: readonly MergeStrategy[];
}

/** A row returned by dataset queries: column name -> JS value. */
export type QueryRow = Record<string, unknown>;

/** Which tables maintenance works on, and how. */
export interface OptimizeOptions {
  /** Tables to compact (default: every table of the dataset that has maintenance). */
  tables?: string[];
  /** Files smaller than this are compacted into files of about this size (bytes; default the destination's). */
  targetFileSize?: number;
}

export interface VacuumOptions {
  tables?: string[];
  /** Files removed from a table longer ago than this are deleted; default 168 (7 days). */
  retentionHours?: number;
  /** Allow a retention below the default (readers of older versions, or writers still running, may lose files). */
  force?: boolean;
  /** Only report what would be deleted. */
  dryRun?: boolean;
}

/** What maintenance did to one table. */
export interface MaintenanceResult {
  table: string;
  /** The table's version after it (a new commit for optimize; unchanged for vacuum). */
  version: number;
  filesRemoved: number;
  bytesRemoved: number;
  filesAdded: number;
  bytesAdded: number;
  dryRun?: boolean;
}

/**
 * Table maintenance a destination offers: for Delta tables, compaction of small files (`optimize`) and deletion of
 * files the table no longer uses (`vacuum`).
 *
 * @example
 * const results = await client.maintenance?.vacuum({ retentionHours: 168 });
 */
export interface TableMaintenance {
  /** The tables maintenance applies to (the dataset's Delta tables). */
  tables(): Promise<string[]>;
  optimize(options?: OptimizeOptions): Promise<MaintenanceResult[]>;
  vacuum(options?: VacuumOptions): Promise<MaintenanceResult[]>;
}

/** A connected destination: loads packages and gives access to the loaded data. */
export interface DestinationClient extends LoadClient {
  readonly capabilities: DestinationCapabilities;
  /** Runs a query with the dataset as the default schema. */
  sql(query: string, params?: unknown[]): Promise<QueryRow[]>;
  /** Reads rows of one dataset table. */
  readTable(name: string, options?: { limit?: number; orderBy?: string }): Promise<QueryRow[]>;
  /** Tables in the dataset. */
  listTables(): Promise<string[]>;
  /** Drops tables from the dataset (quoted, existence-checked). */
  dropTables(names: string[]): Promise<void>;
  /** Present when the destination's tables need maintenance (Delta tables on file destinations). */
  readonly maintenance?: TableMaintenance;
}

export interface ConnectOptions {
  dataset: string;
  pipelineName: string;
  logger: Logger;
}

/**
 * A destination chosen by URL (`duckdb:path.duckdb`, `postgres://...`). Creating one does no I/O.
 *
 * @example
 * const d = duckdb({ path: "gh.duckdb" });
 * const client = await d.connect({ dataset: "github", pipelineName: "gh", logger });
 */
export interface Destination {
  readonly name: string;
  readonly capabilities: DestinationCapabilities;
  /** Where the data goes, safe to print (no secrets). */
  readonly description: string;
  /** The URL that recreates this destination (secrets removed). */
  readonly url: string;
  connect(options: ConnectOptions): Promise<DestinationClient>;
}
