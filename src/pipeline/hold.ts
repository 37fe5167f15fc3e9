import { isFerryError } from "../util/errors.js";
import { Semaphore } from "../util/semaphore.js";
import type { PipelineContext } from "./context.js";
import { extractStep } from "./extract-step.js";
import { type LoadStepInfo, loadStep } from "./load-step.js";
import { prepareWorkingDir } from "./maintenance.js";
import { normalizeStep } from "./normalize-step.js";
import type { RunData, RunOptions } from "./run-data.js";

/** A package extracted and normalized by `PipelineHold.prepare`, waiting for `load`. */
export interface PreparedPackage {
  loadId: string;
  /** Items extracted per resource. */
  items: Record<string, number>;
  /** Rows per table the package will load. */
  rows: Record<string, number>;
  durationsMs: { extract: number; normalize: number };
}

/**
 * A pipeline held by one long-running producer (`Pipeline.hold()`): the working dir's lock is taken once, and the
 * next package is extracted and normalized (`prepare`) while the packages before it load (`load`). Prepares run one
 * at a time, loads one at a time, and packages load in the order they were prepared, each with the state it was
 * extracted with (the newest pending package's), so what commits is what a sequence of `run()`s would commit.
 *
 * @example
 * const hold = await p.hold();
 * try {
 *   const first = await hold.prepare(batch1);
 *   const loading = hold.load(first.loadId);
 *   const second = await hold.prepare(batch2); // while the first batch loads
 *   await loading;
 *   await hold.load(second.loadId);
 * } finally {
 *   await hold.release();
 * }
 */
export class PipelineHold {
  readonly #ctx: PipelineContext;
  readonly #release: () => Promise<void>;
  readonly #preparing = new Semaphore(1);
  readonly #loading = new Semaphore(1);
  #released = false;

  constructor(ctx: PipelineContext, release: () => Promise<void>) {
    this.#ctx = ctx;
    this.#release = release;
  }

  /** Extracts `data` into a new package and normalizes it; it waits for `load`. */
  async prepare(data: RunData, options: RunOptions = {}): Promise<PreparedPackage> {
    const done = await this.#take(this.#preparing);
    try {
      const t0 = Date.now();
      const extracted = await extractStep(this.#ctx, data, options);
      const t1 = Date.now();
      const normalized = await normalizeStep(this.#ctx);
      return {
        loadId: extracted.loadId,
        items: extracted.items,
        rows: normalized.rows,
        durationsMs: { extract: t1 - t0, normalize: Date.now() - t1 },
      };
    } finally {
      done();
    }
  }

  /**
   * Loads the prepared packages up to `upTo` (a load id; default all of them), oldest first. A package the
   * destination rejects for good is set aside (as `run()` does), and so are the packages prepared after it: they
   * were extracted on top of its state, which never commits.
   */
  async load(upTo?: string): Promise<LoadStepInfo> {
    const done = await this.#take(this.#loading);
    try {
      return await loadStep(this.#ctx, upTo);
    } catch (err) {
      done();
      // A prepare in progress finishes first: its package goes too.
      if (isFerryError(err, "load_failed")) await this.#exclusive(() => this.#discardPending());
      throw err;
    } finally {
      done();
    }
  }

  async #loadStep(): Promise<LoadStepInfo> {
    try {
      return await loadStep(this.#ctx);
    } catch (err) {
      if (isFerryError(err, "load_failed")) await this.#discardPending();
      throw err;
    }
  }

  /** Runs `fn` with no prepare and no load in progress. */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prepared = await this.#preparing.acquire();
    const loaded = await this.#loading.acquire();
    try {
      return await fn();
    } finally {
      loaded();
      prepared();
    }
  }

  async #discardPending(): Promise<void> {
    const later = await this.#ctx.store.list();
    if (later.length === 0) return;
    this.#ctx.log.warn(
      `discarding ${later.length} load package(s) prepared after the failed one (${later.map((p) => p.loadId).join(", ")}): their state builds on it; their data is extracted again`,
    );
    for (const pkg of later) await pkg.remove();
  }

  /**
   * Completes what an interrupted or failed earlier attempt left: discards half-extracted packages, normalizes
   * and loads the rest (what `run()` without data does). Waits for prepares and loads in progress.
   */
  async complete(): Promise<LoadStepInfo> {
    if (this.#released) throw new Error(`pipeline "${this.#ctx.name}" was released; hold it again`);
    return this.#exclusive(async () => {
      await prepareWorkingDir(this.#ctx);
      await normalizeStep(this.#ctx);
      return this.#loadStep();
    });
  }

  /** Gives the working dir back (other processes, and this pipeline's own `run()`, may take it again). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#exclusive(this.#release);
  }

  async #take(slot: Semaphore): Promise<() => void> {
    if (this.#released) throw new Error(`pipeline "${this.#ctx.name}" was released; hold it again`);
    return slot.acquire();
  }
}
