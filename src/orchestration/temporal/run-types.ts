// What the workflow and its activities exchange. Imported by workflow code: no imports, no I/O (workflow-safe).

/** The workflow type every ferry pipeline run is started as. */
export const WORKFLOW_TYPE = "ferryPipelineRun";
/** The error type of a failure retrying cannot fix (the workflow pauses the pipeline's schedule). */
export const TERMINAL_ERROR = "FerryTerminalError";
/** The error type of a transient failure (retried with backoff). */
export const TRANSIENT_ERROR = "FerryTransientError";
/** The Temporal Schedule of a pipeline, and the prefix of its runs' workflow ids. */
export const scheduleIdOf = (pipeline: string): string => `ferry-${pipeline}`;

/** The input of a run (the schedule's action arguments, or `ferry jobs run --temporal`). */
export interface RunInput {
  pipeline: string;
  /** Attempts per step in all, and the wait before the second one (doubling after). */
  attempts: number;
  backoffMs: number;
  /** Longest one attempt of a step may take. */
  timeoutMs: number;
  /** A step that stops heartbeating this long (its worker died) is retried elsewhere. */
  heartbeatTimeoutMs: number;
  /** The schedule to pause on a terminal error. */
  scheduleId: string;
}

export interface StepInput {
  pipeline: string;
  /** The workflow id: the run's id in alerts and listings. */
  run: string;
  /** The load id of the package this run extracts (chosen by the workflow: a retried extract does not extract twice). */
  loadId: string;
}

export interface ExtractOutput {
  loadId: string;
  items: Record<string, number>;
}

export interface LoadOutput {
  loadIds: string[];
  rows: Record<string, number>;
}

/** What a completed run returns (its result in Temporal). */
export interface RunResult {
  pipeline: string;
  run: string;
  loadId: string;
  loadIds: string[];
  items: Record<string, number>;
  rows: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** A failed run, for the alert and (when terminal) the schedule's pause. */
export interface RunFailure {
  pipeline: string;
  run: string;
  scheduleId: string;
  message: string;
  type: string;
  terminal: boolean;
  /** Attempts of the step that failed (its retries used up; 1 when its error was terminal). */
  attempts: number;
  code?: string;
  hint?: string;
}
