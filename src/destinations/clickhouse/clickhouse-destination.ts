import { setting } from "../../config/settings.js";
import { shortenIdentifier } from "../../schema/naming.js";
import { ConfigError } from "../../util/errors.js";
import type {
  ConnectOptions,
  Destination,
  DestinationCapabilities,
  DestinationClient,
} from "../destination.js";
import { ClickHouseClient } from "./clickhouse-client.js";
import { ClickHouseConnection } from "./clickhouse-connection.js";
import { parseClickHouseUrl } from "./clickhouse-url.js";
import { CLICKHOUSE_MAX_IDENTIFIER } from "./family-loads.js";

/**
 * What the ClickHouse destination can do: 64-byte identifiers, no transactions (a package commits in a crash-safe
 * order instead), both merge strategies (as delete-insert), SQL access.
 *
 * @example
 * clickhouseCapabilities.supportsTransactions // false
 */
export const clickhouseCapabilities: DestinationCapabilities = Object.freeze({
  maxIdentifierLength: CLICKHOUSE_MAX_IDENTIFIER,
  supportsTransactions: false,
  supportsMerge: true,
  mergeStrategies: ["delete-insert", "upsert"] as const,
  preferredFileFormat: "jsonl" as const,
  supportedFileFormats: ["jsonl"] as const,
  supportsSql: true,
});

/**
 * The database that holds a dataset's staging tables (replace and merge): `<dataset>_staging`, shortened when needed.
 *
 * @example
 * clickhouseStagingDatabase("github") // "github_staging"
 */
export function clickhouseStagingDatabase(dataset: string): string {
  return shortenIdentifier(`${dataset}_staging`, CLICKHOUSE_MAX_IDENTIFIER);
}

/**
 * Options of `clickhouse()`.
 *
 * @example
 * clickhouse({ url: "clickhouse://etl:pw@ch.internal:8123/default", insertBatchRows: 500_000 })
 */
export interface ClickHouseOptions {
  /**
   * `clickhouse://user:password@host:8123/database` (HTTP interface), `clickhouses://` for TLS (port 8443). Query
   * parameters are ClickHouse settings sent with every statement.
   */
  url: string;
  /** Rows per INSERT (default 200,000, or `FERRY_CLICKHOUSE_INSERT_BATCH_ROWS`). */
  insertBatchRows?: number;
}

/**
 * A ClickHouse server as destination, over its HTTP interface (`@clickhouse/client`, loaded only when a ClickHouse
 * destination connects). A dataset is a database; tables are MergeTree tables (`ReplacingMergeTree`, partitions and
 * sort keys where a resource's `storage` option asks for them). docs/clickhouse.md covers types per server version,
 * dispositions and guarantees.
 *
 * @example
 * pipeline({ name: "gh", destination: clickhouse({ url: "clickhouse://etl:pw@ch:8123/default" }) })
 * pipeline({ name: "gh", destination: "clickhouse://etl:pw@ch:8123/default" })   // the same, by URL
 */
export function clickhouse(options: ClickHouseOptions): Destination {
  const url = parseClickHouseUrl(options.url);
  const batchRows = options.insertBatchRows ?? setting("clickhouseInsertBatchRows");
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new ConfigError(`insertBatchRows must be a whole number >= 1 (got ${batchRows})`);
  }
  const host = new URL(url.endpoint).host;
  return {
    name: "clickhouse",
    capabilities: clickhouseCapabilities,
    description: `${url.secure ? "clickhouses" : "clickhouse"}://${url.username}@${host}/${url.database}`,
    url: url.safeUrl,
    async connect(opts: ConnectOptions): Promise<DestinationClient> {
      const ds = opts.dataset;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
      if (Buffer.byteLength(ds) > CLICKHOUSE_MAX_IDENTIFIER || /[\u0000-\u001f]/.test(ds) || ds === "") {
        throw new ConfigError(
          `dataset name "${ds}" cannot be a ClickHouse database: 1 to ${CLICKHOUSE_MAX_IDENTIFIER} bytes, no control characters`,
          { hint: "pass another `dataset` to pipeline()" },
        );
      }
      const conn = await ClickHouseConnection.open(url, opts.logger);
      return new ClickHouseClient({
        conn,
        openDataset: () => ClickHouseConnection.open(url, opts.logger, ds),
        capabilities: clickhouseCapabilities,
        dataset: ds,
        staging: clickhouseStagingDatabase(ds),
        batchRows,
        log: opts.logger,
      });
    },
  };
}
