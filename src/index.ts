/**
 * ferry: extract, normalize and load data with an inferred, evolving schema.
 *
 * This file is the package's public API: every export is listed by name, in groups. Anything not listed here (or in
 * the `ferry/sources/*` and `ferry/testing` subpaths) is internal and may change without notice.
 *
 * @example
 * import { pipeline, resource } from "ferry";
 * const p = pipeline({ name: "demo" });
 * await p.run(resource({ name: "numbers" }, [{ n: 1 }, { n: 2 }]));
 */
// biome-ignore-all assist/source/organizeImports: the exports are grouped by what a user looks for, not by path

// Pipelines: create one, run it (extract, normalize, load), inspect its state, trace and loaded data.
export {
  type ExtractInfo,
  isPipeline,
  type LoadStepInfo,
  type NormalizeInfo,
  Pipeline,
  type PipelineOptions,
  pipeline,
} from "./pipeline/pipeline.js";
export { attachPipeline } from "./pipeline/attach.js";
export { Dataset } from "./pipeline/dataset.js";
export type { PipelineHold, PreparedPackage } from "./pipeline/hold.js";
export type { LoadInfo, ProgressEvent, Stage } from "./pipeline/load-info.js";
export type { PipelineState } from "./package/state.js";
export type { RunData, RunOptions } from "./pipeline/run-data.js";
export type { Trace, TraceStep } from "./pipeline/trace.js";

// Sources and resources: what `run()` takes, their options, and the context a resource function gets.
export { Source, type SourceOptions, source } from "./extract/source.js";
export {
  type Item,
  type ItemSource,
  Resource,
  type ResourceContext,
  type ResourceFunction,
  type ResourceOptions,
  resource,
  type TransformerFunction,
  transformer,
} from "./extract/resource.js";
export type { IncrementalContext, IncrementalOptions } from "./extract/incremental.js";

// What a resource may yield besides records: NDJSON passed on unparsed, and whole typed CSV files.
export { JsonLines, jsonLines, jsonlFile } from "./extract/json-lines.js";
export { TypedCsvFile, type TypedCsvOffer } from "./extract/typed-csv.js";
export { type CsvColumn, TYPED_CSV_MAX_RECORD_BYTES } from "./formats/typed-csv.js";

// Destinations: the factories, URL resolution, the interface of a destination object, custom object stores.
export { type DuckDbOptions, duckdb } from "./destinations/duckdb/index.js";
export { type ClickHouseOptions, clickhouse } from "./destinations/clickhouse/index.js";
export {
  type DeltaOptions,
  type FileFormat,
  type FilesystemOptions,
  filesystem,
} from "./destinations/filesystem/index.js";
export { type PostgresOptions, postgres } from "./destinations/postgres/index.js";
export { resolveDestination } from "./pipeline/destination-url.js";
export type {
  ConnectOptions,
  Destination,
  DestinationCapabilities,
  DestinationClient,
  MaintenanceResult,
  OptimizeOptions,
  QueryRow,
  TableFormatCapabilities,
  TableMaintenance,
  VacuumOptions,
} from "./destinations/destination.js";
export type { ObjectInfo, ObjectStore } from "./storage/object-store.js";

// Schema: the data types, and the types of stored schemas, column hints, contracts and write dispositions.
export {
  type Column,
  type ColumnHint,
  type ContractMode,
  DATA_TYPES,
  type DataType,
  type MergeStrategy,
  type SchemaContract,
  type SchemaContractSetting,
  type StoredSchema,
  type Table,
  type TableFormat,
  type TableStorage,
  type WriteDisposition,
  type WriteDispositionName,
} from "./schema/types.js";
export type { SchemaChange } from "./schema/schema.js";

// Errors: the hierarchy, the guard that also recognises another copy's errors, and the CLI's way to print one.
export {
  ConfigError,
  DataError,
  DestinationError,
  describeError,
  type ErrorFields,
  ExtractError,
  FerryError,
  type FerryErrorByCode,
  type FerryErrorOptions,
  isFerryError,
  LoadPackageFailedError,
  PipelineBusyError,
  SchemaContractError,
} from "./util/errors.js";

// Logging and retries: loggers for pipelines, secrets to mask in every log line and error, the retry policy option.
export { consoleLogger, type Logger, type LogLevel, registerSecret, silentLogger } from "./util/log.js";
export type { RetryPolicy } from "./util/retry.js";

// Plugins of `ferry serve` (docs/plugins.md): the hooks a plugin module exports and what they get. Test them with
// the harness of `ferry/testing`.
export type {
  CacheExtension,
  Plugin,
  PluginEvent,
  PluginFetch,
  PluginFetchInit,
  PluginLogger,
  PluginMeta,
  PluginResponse,
  ProcessedPluginEvent,
  Properties,
  StorageExtension,
  Webhook,
} from "./events/plugins/plugin-api.js";
