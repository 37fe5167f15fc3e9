import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FILE_FORMATS, isTableFileFormat, type TableFileFormatName } from "../../formats/file-format.js";
import { TABLE_FORMATS, type TableFormat } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { ConfigError } from "../../util/errors.js";
import { DEFAULT_LAYOUT, parseLayout } from "./layout.js";

/** File formats the filesystem destination writes (the table-file formats of `formats/file-format.ts`). */
export type FileFormat = TableFileFormatName;

/**
 * Options of the filesystem destination. Query parameters of the URL may set `format`, `compression`, `layout`,
 * `endpoint`, `region` and `table_format` (`file:///data/lake?format=jsonl&compression=gzip`,
 * `s3://lake/raw?table_format=delta`); options given here win.
 *
 * @example
 * filesystem({ url: "s3://lake/raw", format: "parquet", endpoint: "http://127.0.0.1:9000" })
 */
export interface FilesystemOptions {
  /** `file:///abs/dir`, `s3://bucket/prefix`, `gs://bucket/prefix` or `az://container/prefix`. */
  url?: string;
  /** A store to write into instead of opening `url` (custom stores, tests). */
  store?: ObjectStore;
  /** Default `parquet`. */
  format?: FileFormat;
  /**
   * Parquet: `snappy` (default), `zstd`, `gzip` or `none`. JSONL and CSV: `none` (default) or `gzip` (files end in
   * `.gz`).
   */
  compression?: string;
  /** Data file keys inside the dataset's folder; default `{table}/{load_id}.{file_id}.{ext}` (see `parseLayout`). */
  layout?: string;
  /** S3-compatible endpoint (R2, MinIO, emulators); default from `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  region?: string;
  /** Explicit credentials (`access_key_id`, `secret_access_key`, `account_name`, `account_key`, ...); never logged. */
  credentials?: Record<string, string>;
  /** Where cloud settings are read from instead of `process.env` (`AWS_*`, `AZURE_STORAGE_*`, `STORAGE_EMULATOR_HOST`...). */
  env?: NodeJS.ProcessEnv;
  /** Where `dataset()` keeps local copies of remote files. Default `<os tmpdir>/ferry-filesystem-cache`. */
  cacheDir?: string;
  /** Memory limit of the embedded DuckDB that converts and queries files (default 256MB or `FERRY_DUCKDB_MEMORY_LIMIT`). */
  memoryLimit?: string;
  /**
   * DuckDB threads converting a load file (default 1): each thread buffers its own row groups, so one keeps memory
   * lowest; measured on 2 busy cores, a second thread did not convert faster. Queries use every core.
   */
  convertThreads?: number;
  /**
   * `delta`: every table is a Delta Lake table (`<dataset>/<table>/_delta_log/` beside Parquet data files), which
   * merges, replaces in one commit and evolves its schema, and which Spark, delta-rs, DuckDB and the warehouses read
   * (URL: `?table_format=delta`; docs/delta.md). Default `native`: plain files. A resource may ask for a Delta
   * table on its own (`tableFormat: "delta"`).
   */
  tableFormat?: TableFormat;
  /** Settings of Delta tables. */
  delta?: DeltaOptions;
}

/** Settings of the Delta tables a filesystem destination writes. */
export interface DeltaOptions {
  /** A checkpoint (`<version>.checkpoint.parquet` and `_last_checkpoint`) after every this many commits; default 10. */
  checkpointInterval?: number;
  /**
   * Merge rewrites and `optimize` cut data files at about this many bytes; default 100 MiB. Smaller files make
   * merges rewrite less; larger ones make fewer files to read.
   */
  targetFileSize?: number;
}

/** The compressions a format allows, its default first. */
const compressionsOf = (format: FileFormat): readonly string[] => FILE_FORMATS[format].tableFile.compressions;
const URL_KEYS = ["format", "compression", "layout", "endpoint", "region", "table_format"] as const;
const DEFAULT_TARGET_FILE_SIZE = 100 * 1024 * 1024;

/** Options after validation, with the store's location split from its query parameters. */
export interface ResolvedFilesystemOptions {
  /** The store's URL without query (`file:///abs`, `s3://bucket/prefix`), or undefined for a given store. */
  location: string | undefined;
  /** For `file:` URLs: the local folder. */
  localRoot: string | undefined;
  format: FileFormat;
  compression: string;
  layout: string;
  endpoint: string | undefined;
  region: string | undefined;
  convertThreads: number;
  /** How tables are stored unless a resource asks otherwise. */
  tableFormat: TableFormat;
  checkpointInterval: number;
  targetFileSize: number;
}

/** Extension of a data file, compression included (`parquet`, `jsonl.gz`, `csv`). */
export function fileExtension(format: FileFormat, compression: string): string {
  return format !== "parquet" && compression === "gzip" ? `${format}.gz` : format;
}

function localRootOf(url: string): string {
  // file:///abs/dir and file:/abs/dir are absolute; file:relative/dir resolves against the working directory.
  if (/^file:\//i.test(url)) {
    try {
      return fileURLToPath(new URL(url));
    } catch (err) {
      throw new ConfigError(`invalid file URL "${url}": ${(err as Error).message}`, {
        hint: "use file:///absolute/dir (three slashes) or file:relative/dir",
      });
    }
  }
  const rest = decodeURIComponent(url.slice("file:".length));
  return isAbsolute(rest) ? rest : resolve(rest);
}

/**
 * Validates options and merges the URL's query parameters into them.
 *
 * @example
 * resolveFilesystemOptions({ url: "file:///data/lake?format=csv" }).format // "csv"
 */
export function resolveFilesystemOptions(options: FilesystemOptions): ResolvedFilesystemOptions {
  let location: string | undefined;
  const query: Record<string, string> = {};
  if (options.url !== undefined) {
    const at = options.url.indexOf("?");
    location = at >= 0 ? options.url.slice(0, at) : options.url;
    if (at >= 0) {
      for (const [k, v] of new URLSearchParams(options.url.slice(at + 1))) {
        if (!(URL_KEYS as readonly string[]).includes(k)) {
          throw new ConfigError(`unknown parameter "${k}" in filesystem destination URL`, {
            hint: `URL parameters: ${URL_KEYS.join(", ")}; pass credentials as options or environment variables, never in the URL`,
          });
        }
        query[k] = v;
      }
    }
    if (!/^(file|s3|gs|az):/i.test(location)) {
      throw new ConfigError(`unsupported filesystem URL "${location}"`, {
        hint: "use file:///abs/dir, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix",
      });
    }
  } else if (!options.store) {
    throw new ConfigError("the filesystem destination needs a url or a store", {
      hint: 'pass { url: "file:///abs/dir" } (or s3://, gs://, az://)',
    });
  }
  const format: string = options.format ?? query.format ?? "parquet";
  if (!isTableFileFormat(format)) {
    throw new ConfigError(`unknown file format "${format}"`, { hint: "use parquet, jsonl or csv" });
  }
  const allowed = compressionsOf(format);
  const compression = options.compression ?? query.compression ?? allowed[0]!;
  if (!allowed.includes(compression)) {
    throw new ConfigError(`compression "${compression}" is not available for ${format}`, {
      hint: `${format} supports: ${allowed.join(", ")}`,
    });
  }
  const layout = parseLayout(options.layout ?? query.layout ?? DEFAULT_LAYOUT).pattern;
  const tableFormat: string = options.tableFormat ?? query.table_format ?? "native";
  if (!(TABLE_FORMATS as readonly string[]).includes(tableFormat)) {
    throw new ConfigError(`unknown table format "${tableFormat}"`, {
      hint: `use ${TABLE_FORMATS.join(" or ")} (table_format=delta for Delta Lake tables)`,
    });
  }
  if (tableFormat === "delta" && format !== "parquet") {
    throw new ConfigError(`Delta tables store Parquet files, not ${format}`, {
      hint: "drop format (or use format=parquet) with table_format=delta",
    });
  }
  if (tableFormat === "delta" && layout !== DEFAULT_LAYOUT) {
    throw new ConfigError("a layout does not apply to Delta tables: their files live in the table's folder", {
      hint: "drop layout with table_format=delta (it applies to plain files only)",
    });
  }
  const checkpointInterval = options.delta?.checkpointInterval ?? 10;
  const targetFileSize = options.delta?.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE;
  if (!Number.isInteger(checkpointInterval) || checkpointInterval < 1)
    throw new ConfigError(
      `delta.checkpointInterval must be a whole number of commits >= 1, got ${checkpointInterval}`,
    );
  if (!(targetFileSize >= 1024 * 1024))
    throw new ConfigError(`delta.targetFileSize must be at least 1 MiB (in bytes), got ${targetFileSize}`);
  const localRoot = location && /^file:/i.test(location) ? localRootOf(location) : undefined;
  return {
    location,
    localRoot,
    format,
    compression,
    layout,
    endpoint: options.endpoint ?? query.endpoint,
    region: options.region ?? query.region,
    convertThreads: Math.max(1, Math.floor(options.convertThreads ?? 1)),
    tableFormat: tableFormat as TableFormat,
    checkpointInterval,
    targetFileSize,
  };
}

/** The URL that recreates a destination: location plus the non-default options (never credentials). */
export function destinationUrl(o: ResolvedFilesystemOptions): string | undefined {
  if (!o.location) return undefined;
  const base = o.localRoot !== undefined ? pathToFileURL(o.localRoot).href : o.location;
  const q = new URLSearchParams();
  if (o.format !== "parquet") q.set("format", o.format);
  if (o.compression !== compressionsOf(o.format)[0]) q.set("compression", o.compression);
  if (o.layout !== DEFAULT_LAYOUT) q.set("layout", o.layout);
  if (o.endpoint) q.set("endpoint", o.endpoint);
  if (o.region) q.set("region", o.region);
  if (o.tableFormat !== "native") q.set("table_format", o.tableFormat);
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}
