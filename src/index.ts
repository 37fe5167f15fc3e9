/**
 * ferry: extract, normalize and load data with an inferred, evolving schema.
 *
 * @example
 * import { pipeline, resource } from "ferry";
 * const p = pipeline({ name: "demo" });
 * await p.run(resource({ name: "numbers" }, [{ n: 1 }, { n: 2 }]));
 */
export { pipeline, Pipeline, type PipelineOptions, type ExtractInfo, type NormalizeInfo, type LoadStepInfo } from "./pipeline/pipeline.js";
export type { RunOptions, RunData } from "./pipeline/run-data.js";
export type { LoadInfo, ProgressEvent, Stage } from "./pipeline/load-info.js";
export type { Trace, TraceStep } from "./pipeline/trace.js";
export type { PipelineState } from "./pipeline/pipeline-state.js";
export { Dataset } from "./pipeline/dataset.js";
export { resolveDestination } from "./pipeline/destination-url.js";
export { resource, transformer, Resource, type ResourceOptions, type ResourceContext, type Item } from "./extract/resource.js";
export { source, Source, type SourceOptions } from "./extract/source.js";
export type { IncrementalOptions, IncrementalContext } from "./extract/incremental.js";
export type { Destination, DestinationCapabilities, DestinationClient, QueryRow } from "./destinations/destination.js";
export { duckdb } from "./destinations/duckdb/index.js";
export * from "./schema/index.js";
export * from "./util/errors.js";
export { consoleLogger, silentLogger, registerSecret, type Logger, type LogLevel } from "./util/log.js";
