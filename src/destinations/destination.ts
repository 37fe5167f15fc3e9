import type { LoadFileFormatName } from "../formats/file-format.js";
import type { LoadClient } from "../load/load-client.js";
import type { MergeStrategy } from "../schema/types.js";
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
}

/** A row returned by dataset queries: column name -> JS value. */
export type QueryRow = Record<string, unknown>;

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
