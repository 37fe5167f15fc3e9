import { setting } from "../../config/settings.js";
import { ConfigError } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";
import type {
  ConnectOptions,
  Destination,
  DestinationCapabilities,
  DestinationClient,
} from "../destination.js";
import { LocalEngine } from "./engine.js";
import { FileCache } from "./file-cache.js";
import { FilesystemClient } from "./filesystem-client.js";
import { openDestinationStore } from "./open-store.js";
import { destinationUrl, type FilesystemOptions, resolveFilesystemOptions } from "./options.js";

/** Delta tables merge both ways (copy-on-write of the files holding affected keys). */
const DELTA = Object.freeze({ mergeStrategies: ["delete-insert", "upsert"] as const });

/**
 * What file destinations can do: no transactions (a load is complete once its marker file exists), no merge into
 * plain files (they cannot update rows: `mergeStrategies` is empty, so pipelines reject merge before extracting),
 * Delta tables per resource (which merge), SQL through the embedded DuckDB over the files.
 */
export const filesystemCapabilities: DestinationCapabilities = Object.freeze({
  maxIdentifierLength: 120,
  supportsTransactions: false,
  supportsMerge: false,
  mergeStrategies: [] as const,
  preferredFileFormat: "jsonl" as const,
  supportedFileFormats: ["jsonl"] as const,
  supportsSql: true,
  tableFormats: Object.freeze({ delta: DELTA }),
});

/** A filesystem destination whose tables are Delta tables (`table_format: delta`): it merges. */
export const deltaCapabilities: DestinationCapabilities = Object.freeze({
  ...filesystemCapabilities,
  supportsMerge: true,
  mergeStrategies: DELTA.mergeStrategies,
});

function checkDataset(dataset: string): void {
  if (!dataset || dataset.includes("/") || dataset.includes("\\") || dataset === "." || dataset === "..") {
    throw new ConfigError(`dataset "${dataset}" cannot be a folder name in a file store`, {
      hint: "use a dataset name without '/', '\\' and other than '.' or '..'",
    });
  }
}

/**
 * Files in a folder or a bucket: Parquet (default), JSONL or CSV, one folder per dataset and per table, or Delta
 * Lake tables (`tableFormat: "delta"`). Readers see a load once its `<dataset>/_ferry_loads/<load_id>.json` marker
 * exists; `dataset()` queries the files with DuckDB.
 *
 * @example
 * pipeline({ name: "gh", destination: filesystem({ url: "file:///data/lake", format: "parquet" }) })
 * pipeline({ name: "gh", destination: "s3://lake/raw?format=jsonl&compression=gzip" })   // by URL
 * pipeline({ name: "gh", destination: "s3://lake/raw?table_format=delta" })               // Delta tables
 */
export function filesystem(options: FilesystemOptions): Destination {
  const resolved = resolveFilesystemOptions(options);
  for (const v of Object.values(options.credentials ?? {})) registerSecret(v);
  const where = resolved.location ?? options.store?.description ?? "store";
  const memoryLimit = options.memoryLimit ?? setting("duckdbMemoryLimit") ?? "256MB";
  const capabilities = resolved.tableFormat === "delta" ? deltaCapabilities : filesystemCapabilities;
  return {
    name: "filesystem",
    capabilities,
    description: `${resolved.localRoot ?? where} (${resolved.tableFormat === "delta" ? "delta" : resolved.format})`,
    url: destinationUrl(resolved) ?? where,
    async connect(opts: ConnectOptions): Promise<DestinationClient> {
      checkDataset(opts.dataset);
      const store = await openDestinationStore(resolved, options);
      return new FilesystemClient({
        store,
        ownsStore: !options.store,
        options: resolved,
        capabilities,
        dataset: opts.dataset,
        log: opts.logger,
        engine: new LocalEngine(memoryLimit),
        files: new FileCache(store, options.cacheDir),
      });
    },
  };
}
