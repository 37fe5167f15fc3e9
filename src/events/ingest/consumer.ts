import { errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { EventLog, LogEntry, LogPositions } from "../log/event-log.js";
import type { EventMetrics } from "../metrics.js";
import type { Project } from "../project.js";
import type { EventLoader } from "./event-loader.js";
import type { EventStage, IngestEvent } from "./stage.js";

export interface ConsumerOptions {
  log: EventLog;
  /** One loader per project, by token. */
  loaders: ReadonlyMap<string, EventLoader>;
  /** Stages between the log and the load (plugins, persons), in order. */
  stages?: readonly EventStage[];
  /** A micro-batch is loaded when it has this many events ... (default 10,000) */
  batchEvents?: number;
  /** ... or this long after the last load (default 500 ms). */
  batchMs?: number;
  /** A project without events for a while commits its position alone after this many events passed it (100,000). */
  idleAdvanceEvents?: number;
  /** Events of a token no project has (the configuration changed since they were captured). */
  onOrphans?: (token: string, events: IngestEvent[]) => Promise<void>;
  metrics: EventMetrics;
  logger: Logger;
}

/** What the consumer did so far (for the status line and tests). */
export interface ConsumerStats {
  loaded: number;
  batches: number;
  failures: number;
  /** Events in the log past the consumer's position. */
  lag: number;
}

/**
 * Reads the event log in micro-batches and loads each project's events through its `EventLoader`. Positions are
 * committed with the data, project by project: after a crash, each project's loader completes its pending package
 * and the consumer starts from the oldest committed position, skipping what each project already holds. A failed
 * load (the destination is down or locked) is retried with backoff from the last committed state; events are never
 * read twice into two packages.
 *
 * @example
 * const consumer = new EventConsumer({ log, loaders, metrics, logger });
 * await consumer.start();
 * await consumer.stop({ drain: true }); // loads what the log holds, then returns
 */
export class EventConsumer {
  readonly #o: Required<Omit<ConsumerOptions, "onOrphans">> & Pick<ConsumerOptions, "onOrphans">;
  /** Per project: the positions its destination holds events up to. */
  readonly #committed = new Map<string, LogPositions>();
  /** Where the next read starts. */
  #positions: LogPositions = {};
  readonly #stop = new AbortController();
  #draining = false;
  #loop: Promise<void> | undefined;
  readonly stats: ConsumerStats = { loaded: 0, batches: 0, failures: 0, lag: 0 };

  constructor(options: ConsumerOptions) {
    this.#o = { stages: [], batchEvents: 10_000, batchMs: 500, idleAdvanceEvents: 100_000, ...options };
  }

  /** Recovers every project's committed positions (completing pending loads), then runs until stopped. */
  async start(): Promise<void> {
    await this.#recover();
    this.#loop = this.#run();
  }

  /** Stops reading; with `drain`, first loads everything the log holds at this moment. */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.#draining = options.drain === true;
    this.#stop.abort();
    await this.#loop;
    for (const stage of this.#o.stages) await stage.close?.();
  }

  /** The positions every project has committed: segments before them may go. */
  released(): LogPositions {
    return this.#minPositions();
  }

  async #recover(): Promise<void> {
    for (const [token, loader] of this.#o.loaders) this.#committed.set(token, await loader.recover());
    this.#positions = this.#minPositions();
  }

  #minPositions(): LogPositions {
    const start = this.#o.log.start();
    const out: LogPositions = {};
    for (let p = 0; p < this.#o.log.partitions; p++) {
      let min = Number.POSITIVE_INFINITY;
      for (const c of this.#committed.values()) min = Math.min(min, c[p] ?? start[p] ?? 0);
      out[p] = Number.isFinite(min) ? min : (start[p] ?? 0);
    }
    return out;
  }

  async #run(): Promise<void> {
    const { batchMs, batchEvents } = this.#o;
    let lastLoad = Date.now();
    let backoff = 0;
    for (;;) {
      const stopping = this.#stop.signal.aborted;
      if (stopping && !this.#draining) return;
      this.#updateLag();
      if (this.stats.lag === 0) {
        if (stopping) return;
        await this.#o.log.waitForData(this.#positions, this.#stop.signal);
        continue;
      }
      // Wait for a full batch or the batch interval (not when draining).
      const wait = lastLoad + batchMs - Date.now();
      if (!stopping && this.stats.lag < batchEvents && wait > 0) {
        await sleep(wait, this.#stop.signal);
        continue;
      }
      try {
        await this.#loadBatch(await this.#o.log.read(this.#positions, batchEvents));
        backoff = 0;
      } catch (err) {
        this.stats.failures++;
        backoff = Math.min(Math.max(backoff * 2, 500), 30_000);
        this.#o.logger.error(`loading events failed (retrying in ${backoff} ms): ${errorMessage(err)}`);
        if (stopping && backoff >= 30_000) return;
        await sleep(backoff, stopping ? undefined : this.#stop.signal);
        // What a failed load left (a package pending, or nothing) decides where to go on.
        await this.#recover().catch((e) => this.#o.logger.warn(`recovering failed: ${errorMessage(e)}`));
      }
      lastLoad = Date.now();
    }
  }

  #updateLag(): void {
    const end = this.#o.log.end();
    let lag = 0;
    for (let p = 0; p < this.#o.log.partitions; p++)
      lag += Math.max(0, (end[p] ?? 0) - (this.#positions[p] ?? 0));
    this.stats.lag = lag;
    this.#o.metrics.lagEvents.set(lag);
  }

  async #loadBatch(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const started = Date.now();
    const batchEnd: LogPositions = { ...this.#positions };
    for (const e of entries) batchEnd[e.partition] = Math.max(batchEnd[e.partition] ?? 0, e.next);
    const byToken = new Map<string, IngestEvent[]>();
    for (const e of entries) {
      // A project already holding this entry (it was ahead of others at the last restart) skips it.
      const committed = this.#committed.get(e.event.token);
      if (committed && e.offset < (committed[e.partition] ?? 0)) continue;
      const list = byToken.get(e.event.token);
      if (list) list.push(e.event);
      else byToken.set(e.event.token, [e.event]);
    }
    for (const [token, events] of byToken) {
      const loader = this.#o.loaders.get(token);
      if (!loader) {
        await this.#o.onOrphans?.(token, events);
        continue;
      }
      await this.#loadProject(token, loader, events, batchEnd);
    }
    // Projects without events in this batch commit their position alone once it lags far enough behind, so that
    // the log can be released and a restart does not read it again.
    for (const [token, loader] of this.#o.loaders) {
      if (byToken.has(token)) continue;
      const behind = lagBetween(this.#committed.get(token) ?? {}, batchEnd);
      if (behind >= this.#o.idleAdvanceEvents) await this.#loadProject(token, loader, [], batchEnd);
    }
    this.#positions = batchEnd;
    await this.#o.log.release(this.#minPositions());
    this.#o.metrics.loadSeconds.observe((Date.now() - started) / 1000);
    this.#o.metrics.logBytes.set(this.#o.log.stats().bytes);
    this.stats.batches++;
  }

  async #loadProject(
    token: string,
    loader: EventLoader,
    events: IngestEvent[],
    batchEnd: LogPositions,
  ): Promise<void> {
    let batch = events;
    for (const stage of this.#o.stages) {
      if (batch.length === 0) break;
      batch = await stage.process(batch, loader.project);
    }
    const { rows } = await loader.load(batch, batchEnd);
    this.#committed.set(token, { ...batchEnd });
    const now = Date.now();
    for (const e of batch) this.#o.metrics.visibilitySeconds.observe((now - Date.parse(e.created_at)) / 1000);
    this.#o.metrics.loaded.inc(rows);
    this.stats.loaded += rows;
  }
}

/** Events between two sets of positions (partition by partition). */
function lagBetween(from: LogPositions, to: LogPositions): number {
  let n = 0;
  for (const [p, end] of Object.entries(to)) n += Math.max(0, end - (from[Number(p)] ?? 0));
  return n;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export type { Project };
