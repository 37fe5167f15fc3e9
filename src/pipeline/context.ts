import type { Destination, DestinationClient } from "../destinations/destination.js";
import type { RetryPolicy } from "../load/loader.js";
import type { PackageStore } from "../package/package-store.js";
import type { PipelineState } from "../package/state.js";
import type { Logger } from "../util/log.js";
import type { ProgressEvent } from "./load-info.js";
import type { LocalStateStore } from "./local-state.js";

/** What the pipeline's steps share: the working dir, the destination, logging and progress. */
export interface PipelineContext {
  readonly name: string;
  readonly datasetName: string;
  readonly dir: string;
  readonly store: PackageStore;
  readonly local: LocalStateStore;
  readonly log: Logger;
  readonly retry: RetryPolicy | undefined;
  readonly maxFileBytes: number | undefined;
  readonly normalizeWorkers: number;
  /** Warnings of the current run, reported in its load info. */
  readonly warnings: string[];
  emit(event: ProgressEvent): void;
  destination(): Promise<Destination>;
  /** Connects to the destination, retrying while it is busy. */
  connect(): Promise<DestinationClient>;
  /** The committed state as last read. */
  committedState(): PipelineState | undefined;
  /** Re-reads the committed state and schema from the working dir. */
  refresh(): Promise<void>;
}

export const addCounts = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};
