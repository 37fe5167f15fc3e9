import { join } from "node:path";
import { readJsonFile, writeFileAtomic } from "../util/fs.js";
import type { LoadInfo, Stage } from "./load-info.js";

export interface TraceStep {
  step: Stage;
  startedAt: string;
  durationMs: number;
  error?: string;
}

/** The record of the last `run()`: steps with timings, the load info or the error. Kept in the pipeline dir. */
export interface Trace {
  pipeline: string;
  startedAt: string;
  finishedAt?: string;
  steps: TraceStep[];
  loadInfo?: LoadInfo;
  error?: { message: string; code?: string; hint?: string };
}

export class TraceRecorder {
  readonly trace: Trace;

  constructor(pipeline: string) {
    this.trace = { pipeline, startedAt: new Date().toISOString(), steps: [] };
  }

  async step<T>(step: Stage, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    const startedAt = new Date(start).toISOString();
    try {
      const out = await fn();
      this.trace.steps.push({ step, startedAt, durationMs: Date.now() - start });
      return out;
    } catch (err) {
      this.trace.steps.push({
        step,
        startedAt,
        durationMs: Date.now() - start,
        error: String((err as Error)?.message ?? err),
      });
      throw err;
    }
  }

  duration(step: Stage): number {
    return this.trace.steps.filter((s) => s.step === step).reduce((n, s) => n + s.durationMs, 0);
  }
}

export function tracePath(pipelineDir: string): string {
  return join(pipelineDir, "trace.json");
}

export async function saveTrace(pipelineDir: string, trace: Trace): Promise<void> {
  await writeFileAtomic(tracePath(pipelineDir), JSON.stringify(trace, null, 1));
}

export function loadTrace(pipelineDir: string): Promise<Trace | undefined> {
  return readJsonFile<Trace>(tracePath(pipelineDir));
}
