/**
 * The file formats ferry knows, as data: the load files that carry a table's rows inside a load package (one load
 * job per file), and the formats file destinations store tables in. Destinations declare the load-file formats they
 * read (`DestinationCapabilities.supportedFileFormats`), load jobs are keyed on a format, and a destination's loader
 * has one entry per format it reads. Adding a format means adding it here, a writer (normalize, or a source handing
 * files over whole) and a loader entry in each destination that reads it.
 */
export interface FileFormat {
  readonly name: string;
  /** File name extension, without the dot (before any compression suffix). */
  readonly extension: string;
  readonly description: string;
  /** Set when files of this format travel in load packages, with who writes them there. */
  readonly loadFile?: { readonly writtenBy: "normalize" | "source" };
  /** Set when file destinations store tables in this format, with the compressions allowed (the first is the default). */
  readonly tableFile?: { readonly compressions: readonly string[] };
}

/**
 * Every format, by name.
 *
 * @example
 * FILE_FORMATS.typed_csv.loadFile.writtenBy // "source"
 * FILE_FORMATS.parquet.tableFile.compressions[0] // "snappy"
 */
export const FILE_FORMATS = {
  jsonl: {
    name: "jsonl",
    extension: "jsonl",
    description:
      "typed JSON lines: one row per line, every value already in its column's type (binary as base64); written by normalize",
    loadFile: { writtenBy: "normalize" },
    tableFile: { compressions: ["none", "gzip"] },
  },
  typed_csv: {
    name: "typed_csv",
    extension: "csv",
    description:
      "flat rows as RFC 4180 CSV in canonical text per column type, the columns declared beside the file; handed over whole by a source (formats/typed-csv.ts)",
    loadFile: { writtenBy: "source" },
  },
  csv: {
    name: "csv",
    extension: "csv",
    description: "CSV with a header row, as file destinations store tables",
    tableFile: { compressions: ["none", "gzip"] },
  },
  parquet: {
    name: "parquet",
    extension: "parquet",
    description: "Apache Parquet, as file destinations store tables (the default there)",
    tableFile: { compressions: ["snappy", "zstd", "gzip", "none"] },
  },
} as const satisfies Record<string, FileFormat>;

type Formats = typeof FILE_FORMATS;

/** Formats of load files in packages: `"jsonl" | "typed_csv"`. */
export type LoadFileFormatName = {
  [K in keyof Formats]: Formats[K] extends { loadFile: object } ? K : never;
}[keyof Formats];

/** Formats file destinations store tables in: `"jsonl" | "csv" | "parquet"`. */
export type TableFileFormatName = {
  [K in keyof Formats]: Formats[K] extends { tableFile: object } ? K : never;
}[keyof Formats];

/** Load-file formats written by sources and handed over whole (not written by normalize). */
export const SOURCE_WRITTEN_FORMATS: readonly LoadFileFormatName[] = (
  Object.values(FILE_FORMATS) as FileFormat[]
)
  .filter((f) => f.loadFile?.writtenBy === "source")
  .map((f) => f.name as LoadFileFormatName);

/** Whether `name` is a table-file format (for options read from URLs and specs). */
export function isTableFileFormat(name: string): name is TableFileFormatName {
  return (FILE_FORMATS as Record<string, FileFormat>)[name]?.tableFile !== undefined;
}
