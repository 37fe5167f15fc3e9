import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FILE_FORMATS, isTableFileFormat, type TableFileFormatName } from "../../formats/file-format.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { ConfigError } from "../../util/errors.js";
import { DEFAULT_LAYOUT, parseLayout } from "./layout.js";

/** File formats the filesystem destination writes (the table-file formats of `formats/file-format.ts`). */
export type FileFormat = TableFileFormatName;

/**
 * Options of the filesystem destination. Query parameters of the URL may set `format`, `compression`, `layout`,
 * `endpoint` and `region` (`file:///data/lake?format=jsonl&compression=gzip`); options given here win.
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
}

/** The compressions a format allows, its default first. */
const compressionsOf = (format: FileFormat): readonly string[] => FILE_FORMATS[format].tableFile.compressions;
const URL_KEYS = ["format", "compression", "layout", "endpoint", "region"] as const;

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
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}
