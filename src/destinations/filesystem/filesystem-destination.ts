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

/**
 * What file destinations can do: no transactions (a load is complete once its marker file exists), no merge (plain
 * files cannot update rows: `mergeStrategies` is empty, so pipelines reject merge before extracting), SQL through
 * the embedded DuckDB over the files.
 */
export const filesystemCapabilities: DestinationCapabilities = Object.freeze({
  maxIdentifierLength: 120,
  supportsTransactions: false,
  supportsMerge: false,
  mergeStrategies: [] as const,
  preferredFileFormat: "jsonl" as const,
  supportedFileFormats: ["jsonl"] as const,
  supportsSql: true,
});

function checkDataset(dataset: string): void {
  if (!dataset || dataset.includes("/") || dataset.includes("\\") || dataset === "." || dataset === "..") {
    throw new ConfigError(`dataset "${dataset}" cannot be a folder name in a file store`, {
      hint: "use a dataset name without '/', '\\' and other than '.' or '..'",
    });
  }
}

/**
 * Files in a folder or a bucket: Parquet (default), JSONL or CSV, one folder per dataset and per table. Readers see
 * a load once its `<dataset>/_ferry_loads/<load_id>.json` marker exists; `dataset()` queries the files with DuckDB.
 *
 * @example
 * pipeline({ name: "gh", destination: filesystem({ url: "file:///data/lake", format: "parquet" }) })
 * pipeline({ name: "gh", destination: "s3://lake/raw?format=jsonl&compression=gzip" })   // by URL
 */
export function filesystem(options: FilesystemOptions): Destination {
  const resolved = resolveFilesystemOptions(options);
  for (const v of Object.values(options.credentials ?? {})) registerSecret(v);
  const where = resolved.location ?? options.store?.description ?? "store";
  const memoryLimit = options.memoryLimit ?? setting("duckdbMemoryLimit") ?? "256MB";
  return {
    name: "filesystem",
    capabilities: filesystemCapabilities,
    description: `${resolved.localRoot ?? where} (${resolved.format})`,
    url: destinationUrl(resolved) ?? where,
    async connect(opts: ConnectOptions): Promise<DestinationClient> {
      checkDataset(opts.dataset);
      const store = await openDestinationStore(resolved, options);
      return new FilesystemClient({
        store,
        ownsStore: !options.store,
        options: resolved,
        capabilities: filesystemCapabilities,
        dataset: opts.dataset,
        log: opts.logger,
        engine: new LocalEngine(memoryLimit),
        files: new FileCache(store, options.cacheDir),
      });
    },
  };
}
