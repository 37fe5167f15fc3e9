import { hostname } from "node:os";
import type { SchemaChange } from "../schema/schema.js";
import { uniqueId } from "../util/hash.js";

/**
 * A job's status:
 * - `running`: started, not finished (or its process was killed; the next start says so);
 * - `completed`: loaded;
 * - `failed`: ended with an error after its retries (or was killed mid-way); the schedule goes on;
 * - `paused`: ended with an error retrying cannot fix; the pipeline's schedule is paused until `ferry jobs resume`;
 * - `skipped`: a scheduled run that did not start because the pipeline's previous run was still running.
 */
export type JobStatus = "running" | "completed" | "failed" | "skipped" | "paused";

/** Why a job ran: its schedule, a catch-up after downtime (or after a run was killed), or by hand. */
export type JobTrigger = "schedule" | "catch-up" | "manual";

export interface JobError {
  message: string;
  code?: string;
  /** Whether retrying could help (ferry's errors say; anything else counts as transient). */
  transient: boolean;
  hint?: string;
}

/** One run of a pipeline, as the job history keeps it. */
export interface JobRecord {
  /** `<pipeline>-<UTC time>-<random>`. */
  id: string;
  pipeline: string;
  status: JobStatus;
  trigger: JobTrigger;
  /** The schedule slot the run belongs to (ISO time; scheduled and catch-up runs). */
  scheduledFor?: string;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  /** Attempts made (retries of transient errors included). */
  attempts: number;
  /** Rows loaded per table (child tables included). */
  rows: Record<string, number>;
  loadIds: string[];
  /** Load packages of an earlier (interrupted) run that this one completed. */
  pendingCompleted?: string[];
  /** Time spent in each stage of the successful attempt (ms). */
  stagesMs?: { extract: number; normalize: number; load: number; total: number };
  /** Tables and columns the run added to the schema. */
  schemaChanges?: SchemaChange[];
  error?: JobError;
  /** Why it was skipped or paused, in words. */
  reason?: string;
  /** The process that ran it (to tell a killed run from a running one). */
  owner: { pid: number; host: string };
}

/** The pause of a pipeline's schedule: by a user, or by a run whose error retrying cannot fix. */
export interface PauseRecord {
  pipeline: string;
  reason: string;
  at: string;
  /** The run whose error paused it. */
  run?: string;
  by: "user" | "error";
}

const compactTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(".", "");

/**
 * A new run id: sortable by time within a pipeline.
 *
 * @example
 * newRunId("crm", Date.parse("2026-12-05T10:15:00Z")) // "crm-20261205T101500000Z-k3X9"
 */
export function newRunId(pipeline: string, now: number): string {
  return `${pipeline}-${compactTime(now)}-${uniqueId(4)}`;
}

/** The pipeline a run id belongs to, or undefined when it is not one. */
export function pipelineOfRunId(id: string): string | undefined {
  const m = /^([\w.-]+)-\d{8}T\d{9}Z-[0-9A-Za-z]{4}$/.exec(id);
  return m?.[1];
}

export const thisProcess = (): { pid: number; host: string } => ({ pid: process.pid, host: hostname() });
