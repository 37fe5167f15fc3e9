import type { SchemaChange } from "../schema/schema.js";

/** What `run()` returns: ids, rows per table, schema changes and timings. */
export interface LoadInfo {
  pipeline: string;
  destination: string;
  dataset: string;
  /** The load id of the package this run extracted (undefined when there was nothing to extract). */
  loadId: string | undefined;
  /** Every package committed during this call, pending ones from earlier runs first. */
  loadIds: string[];
  /** Packages from earlier (interrupted) runs that this call completed. */
  pendingCompleted: string[];
  /** Items extracted per table. */
  items: Record<string, number>;
  /** Rows written per table (child tables included). */
  rows: Record<string, number>;
  schemaChanges: SchemaChange[];
  schemaVersion: number | undefined;
  warnings: string[];
  durationsMs: { extract: number; normalize: number; load: number; total: number };
  startedAt: string;
  finishedAt: string;
}

export type Stage = "restore" | "extract" | "normalize" | "load";

/** Progress events for displays (the CLI's live view, logs). */
export type ProgressEvent =
  | { stage: "extract"; resource: string; items: number }
  | { stage: "normalize"; table: string; items: number; loadId: string }
  | { stage: "load"; table: string; job: string; state: "started" | "completed"; loadId: string }
  | { stage: Stage; event: "start" | "end" | "committed"; loadId?: string; detail?: string };
