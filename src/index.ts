/**
 * ferry: extract, normalize and load data with an inferred, evolving schema.
 *
 * @example
 * import { pipeline, resource } from "ferry";
 * const p = pipeline({ name: "demo" });
 * await p.run(resource({ name: "numbers" }, [{ n: 1 }, { n: 2 }]));
 */

export type {
  Destination,
  DestinationCapabilities,
  DestinationClient,
  QueryRow,
} from "./destinations/destination.js";
export { duckdb } from "./destinations/duckdb/index.js";
export { type FilesystemOptions, filesystem } from "./destinations/filesystem/index.js";
export { type PostgresOptions, postgres } from "./destinations/postgres/index.js";
export type { IncrementalContext, IncrementalOptions } from "./extract/incremental.js";
export { JsonLines, jsonLines, jsonlFile } from "./extract/json-lines.js";
export {
  type Item,
  Resource,
  type ResourceContext,
  type ResourceOptions,
  resource,
  transformer,
} from "./extract/resource.js";
export { Source, type SourceOptions, source } from "./extract/source.js";
export { TypedCsvFile, type TypedCsvOffer } from "./extract/typed-csv.js";
export { type CsvColumn, readTypedCsv, TYPED_CSV_MAX_RECORD_BYTES } from "./formats/typed-csv.js";
export type { PipelineState } from "./package/state.js";
export { attachPipeline } from "./pipeline/attach.js";
export { Dataset } from "./pipeline/dataset.js";
export { resolveDestination } from "./pipeline/destination-url.js";
export type { LoadInfo, ProgressEvent, Stage } from "./pipeline/load-info.js";
export {
  type ExtractInfo,
  isPipeline,
  type LoadStepInfo,
  type NormalizeInfo,
  Pipeline,
  type PipelineOptions,
  pipeline,
} from "./pipeline/pipeline.js";
export type { RunData, RunOptions } from "./pipeline/run-data.js";
export type { Trace, TraceStep } from "./pipeline/trace.js";
export * from "./schema/index.js";
export * from "./util/errors.js";
export { consoleLogger, type Logger, type LogLevel, registerSecret, silentLogger } from "./util/log.js";
