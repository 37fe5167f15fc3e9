/**
 * The pipeline state a load package carries: written by extract, committed with the package's data by load (into
 * `_ferry_pipeline_state`), and kept locally once committed. Plain JSON data.
 */

/** An incremental cursor's stored position; small by design (boundary hashes only cover records equal to the last value). */
export interface IncrementalState {
  lastValue: unknown;
  boundaryHashes: string[];
  initialValue?: unknown;
}

/** Per-resource persistent state: what `ctx.state` persists into, and the resource's incremental cursors. */
export interface ResourceState {
  state?: Record<string, unknown>;
  incremental?: Record<string, IncrementalState>;
}

/**
 * The committed pipeline state: what `_ferry_pipeline_state` stores and a package's `state.json` holds.
 *
 * @example
 * const s: PipelineState = emptyState("gh"); // { pipelineName: "gh", version: 0, schemaNames: [], sources: {} }
 */
export interface PipelineState {
  pipelineName: string;
  /** Increments with every committed load. */
  version: number;
  destination?: string;
  dataset?: string;
  defaultSchema?: string;
  schemaNames: string[];
  sources: Record<string, { resources: Record<string, ResourceState> }>;
  lastLoadId?: string;
}

/** The state of a pipeline that has committed nothing yet. */
export function emptyState(pipelineName: string): PipelineState {
  return { pipelineName, version: 0, schemaNames: [], sources: {} };
}
