import { errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { EventLog, LogPositions } from "../log/event-log.js";
import type { EventMetrics } from "../metrics.js";
import type { EventLoader } from "./event-loader.js";
import { batchEnd, eventsBetween, latestPositions } from "./positions.js";
import type { BatchTable, EventStage, IngestEvent } from "./stage.js";

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
  /**
   * A consumer behind by more than a batch (a burst, a restart) takes up to this many events at once (default
   * 30,000; never fewer than `batchEvents`): the fixed cost of a load is shared by more events. DuckDB holds a load's
   * rows in memory until it commits (25-30 MB for 10,000 events, 70-80 MB for 50,000), beside the next batch
   * being prepared.
   */
  catchUpEvents?: number;
  /** A project without events for a while commits its position alone after this many events passed it (100,000). */
  idleAdvanceEvents?: number;
  /**
   * A load starts at least this long after the one before it ended (default 0): while batches are prepared during
   * loads, loads may follow each other at once, and readers of a destination a load holds for itself (a DuckDB file)
   * need their turn.
   */
  readerGapMs?: number;
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

/** Events are read, handed through the stages and extracted a page at a time: memory holds one page per load. */
const PAGE_EVENTS = 2_000;

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
  /** Where the next batch starts. */
  #positions: LogPositions = {};
  readonly #stop = new AbortController();
  #draining = false;
  #loop: Promise<void> | undefined;
  readonly stats: ConsumerStats = { loaded: 0, batches: 0, failures: 0, lag: 0 };

  constructor(options: ConsumerOptions) {
    this.#o = {
      stages: [],
      batchEvents: 10_000,
      batchMs: 500,
      catchUpEvents: 30_000,
      idleAdvanceEvents: 100_000,
      readerGapMs: 0,
      ...options,
    };
  }

  /**
   * Holds every project's pipeline (this consumer is the only one loading them), recovers their committed positions
   * (completing pending loads), then runs until stopped.
   */
  async start(): Promise<void> {
    try {
      for (const loader of this.#o.loaders.values()) await loader.hold();
      await this.#recover();
    } catch (err) {
      for (const loader of this.#o.loaders.values()) await loader.release().catch(() => undefined);
      throw err;
    }
    this.#loop = this.#run();
  }

  /**
   * Stops reading; with `drain`, first loads everything the log holds at this moment, retrying failed loads until
   * `drainTimeoutMs` (default 5 minutes) has passed. Resolves with the events still in the log (0 after a drain).
   */
  async stop(options: { drain?: boolean; drainTimeoutMs?: number } = {}): Promise<number> {
    this.#draining = options.drain === true;
    this.#drainDeadline = Date.now() + (options.drainTimeoutMs ?? 300_000);
    this.#stop.abort();
    await this.#loop;
    for (const stage of this.#o.stages) await stage.close?.();
    for (const loader of this.#o.loaders.values()) await loader.release();
    return this.lag();
  }

  /**
   * Loads the project in the next batch even when the log has no new events for it: a stage holds rows of its own
   * that must not wait for the next event (plugin_errors of a dead letter or a failed schedule).
   */
  requestBatch(token: string): void {
    this.#requested.add(token);
    this.#wake.abort();
  }

  /** Projects asked for by `requestBatch`, loaded by the next batch. */
  readonly #requested = new Set<string>();
  /** Aborted to end a wait for data early (a batch was asked for). */
  #wake = new AbortController();

  /** Events in the log past what the consumer has loaded, as of now. */
  lag(): number {
    this.#updateLag();
    return this.stats.lag;
  }

  #drainDeadline = 0;

  async #recover(): Promise<void> {
    for (const [token, loader] of this.#o.loaders) {
      const { positions, rows } = await loader.recover();
      this.#committed.set(token, positions);
      // The stages' own stores (persons) catch up with what the destination committed.
      for (const stage of this.#o.stages) await stage.recover?.(loader.project, positions);
      // Packages a failed load left pending are loaded now: their events count as loaded, and as visible now.
      const received = this.#inFlight.filter((f) => f.token === token);
      this.#inFlight = this.#inFlight.filter((f) => f.token !== token);
      this.#loaded(rows, rows > 0 ? received.flatMap((f) => f.received) : []);
    }
    this.#positions = this.#minPositions();
  }

  /** The oldest position any project has committed, per partition: nothing before it is needed any more. */
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
    const catchUpEvents = Math.max(batchEvents, this.#o.catchUpEvents);
    let lastLoad = Date.now();
    for (;;) {
      const stopping = this.#stop.signal.aborted;
      if (stopping && !this.#draining) {
        // A load in progress finishes (or fails: its package stays pending for the next start).
        await this.#settleLoading().catch(() => undefined);
        return;
      }
      this.#updateLag();
      if (this.stats.lag === 0 && this.#requested.size === 0) {
        // Nothing new to prepare: the load in progress is waited for, so that its failure is retried now.
        if (this.#loading) {
          if (!(await this.#attempt(() => this.#settleLoading()))) return;
          continue;
        }
        if (stopping) return;
        await this.#waitForData();
        continue;
      }
      // Wait for a full batch or the batch interval (not when draining).
      const wait = lastLoad + batchMs - Date.now();
      if (!stopping && this.stats.lag < batchEvents && wait > 0 && this.#requested.size === 0) {
        // Woken by the next append too: a full batch does not wait for the interval.
        const woken = new AbortController();
        const stop = () => woken.abort();
        this.#stop.signal.addEventListener("abort", stop, { once: true });
        await Promise.race([
          sleep(wait, woken.signal),
          this.#o.log.waitForData(this.#o.log.end(), woken.signal),
        ]);
        woken.abort();
        this.#stop.signal.removeEventListener("abort", stop);
        continue;
      }
      // Behind (a burst, a restart, a destination that was down): bigger batches, whose fixed cost per load
      // (open, migrate, commit) is shared by more events, catch up faster, up to a bound that keeps memory flat.
      const take = Math.min(this.stats.lag, catchUpEvents);
      if (!(await this.#attempt(() => this.#loadBatch(take)))) return;
      lastLoad = Date.now();
    }
  }

  /**
   * Runs a step of the loop; after a failure, recovers from what the destination committed (retrying with growing
   * pauses). False when stopping and the drain's deadline passed first.
   */
  async #attempt(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      this.#backoff = 0;
      return true;
    } catch (err) {
      // A load still going on (the next batch's preparation failed) ends first: recovery must not overlap it.
      await this.#settleLoading().catch(() => undefined);
      this.stats.failures++;
      this.#backoff = Math.min(Math.max(this.#backoff * 2, 500), 30_000);
      this.#o.logger.error(`loading events failed (retrying in ${this.#backoff} ms): ${errorMessage(err)}`);
      // What a failed load left (packages pending, or nothing) decides where to go on: nothing new is read until
      // it is completed.
      return this.#recoverWithBackoff(this.#backoff);
    }
  }

  #backoff = 0;

  /** Waits for the batch loading now (if any); rejects when its load failed. */
  async #settleLoading(): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    await loading;
  }

  /** When the last batch's load ended (ms). */
  #loadEnded = 0;

  /** The previous batch's load, while the next batch is prepared (only when no stage commits with batches). */
  #loading: Promise<void> | undefined;

  /** Waits for new events in the log, or a `requestBatch`, or the stop. */
  async #waitForData(): Promise<void> {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    const wake = this.#wake;
    const stop = () => wake.abort();
    this.#stop.signal.addEventListener("abort", stop, { once: true });
    try {
      if (this.#requested.size === 0) await this.#o.log.waitForData(this.#positions, wake.signal);
    } finally {
      this.#stop.signal.removeEventListener("abort", stop);
    }
  }

  /** Retries #recover with growing pauses; false when stopping and the drain's deadline passed first. */
  async #recoverWithBackoff(first: number): Promise<boolean> {
    for (let backoff = first; ; backoff = Math.min(backoff * 2, 30_000)) {
      const stopping = this.#stop.signal.aborted;
      if (stopping && Date.now() + backoff > this.#drainDeadline) return false;
      await sleep(backoff, stopping ? undefined : this.#stop.signal);
      try {
        await this.#recover();
        return true;
      } catch (err) {
        this.stats.failures++;
        this.#o.logger.error(`completing the pending load failed (retrying): ${errorMessage(err)}`);
      }
    }
  }

  #updateLag(): void {
    this.stats.lag = eventsBetween(this.#positions, this.#o.log.end());
    this.#o.metrics.lagEvents.set(this.stats.lag);
  }

  /**
   * Loads the next `take` events (shared by the partitions by how far behind each is). The batch is prepared
   * (extracted and normalized) while the batch before it loads, unless a stage commits state with each batch
   * (persons, plugins): then each batch loads before the next is read.
   */
  async #loadBatch(take: number): Promise<void> {
    const started = Date.now();
    const log = this.#o.log;
    const until = batchEnd(this.#positions, log.end(), take);
    const tokens = await log.tokens(this.#positions, until);
    const loads: (() => Promise<void>)[] = [];
    for (const [token, loader] of this.#o.loaders) {
      const from = latestPositions(this.#positions, this.#committed.get(token) ?? {});
      // Projects without events in this batch commit their position alone once it lags far enough behind, so that
      // the log can be released and a restart does not read it again.
      const idle = !tokens.has(token) && !this.#requested.has(token);
      if (idle && eventsBetween(this.#committed.get(token) ?? {}, until) < this.#o.idleAdvanceEvents)
        continue;
      this.#requested.delete(token);
      // A project ahead of the batch (it committed further before a restart) never commits positions back.
      loads.push(await this.#prepareProject(token, loader, from, latestPositions(until, from)));
    }
    for (const token of tokens.keys()) {
      if (this.#o.loaders.has(token)) continue;
      for await (const page of this.#pages(token, this.#positions, until, false))
        await this.#o.onOrphans?.(token, page);
    }
    this.#positions = until;
    // Packages load in the order they were prepared: the batch before this one commits first.
    await this.#settleLoading();
    const commit = async () => {
      const gap = this.#loadEnded + this.#o.readerGapMs - Date.now();
      if (gap > 0) await sleep(gap);
      try {
        for (const load of loads) await load();
      } finally {
        this.#loadEnded = Date.now();
      }
      await log.release(this.#minPositions());
      this.#o.metrics.loadSeconds.observe((Date.now() - started) / 1000);
      this.#o.metrics.logBytes.set(log.stats().bytes);
      this.stats.batches++;
    };
    if (!this.#overlap) return commit();
    this.#loading = commit();
    this.#loading.catch(() => undefined); // settled by the next batch, or by the loop when idle or stopping
  }

  /** True when batches may be prepared while the one before loads: no stage commits with batches. */
  get #overlap(): boolean {
    return this.#o.stages.every((s) => s.beginBatch === undefined && s.commitBatch === undefined);
  }

  /** Prepares a project's package for the batch up to `until`; the function returned loads and commits it. */
  async #prepareProject(
    token: string,
    loader: EventLoader,
    from: LogPositions,
    until: LogPositions,
  ): Promise<() => Promise<void>> {
    // Kept until the load commits: packages a failed load left pending are completed by #recover, which counts them.
    const flight = { token, received: [] as number[] };
    this.#inFlight.push(flight);
    try {
      const pages = (start: LogPositions) => this.#pages(token, start, until, true, loader, flight.received);
      const tables: BatchTable[] = [];
      for (const stage of this.#o.stages)
        tables.push(...((await stage.beginBatch?.(loader.project, until)) ?? []));
      const batch = await loader.prepare(pages, from, until, tables);
      return async () => {
        const { rows } = await loader.loadPrepared(batch);
        this.#inFlight = this.#inFlight.filter((f) => f !== flight);
        this.#committed.set(token, { ...until });
        for (const stage of this.#o.stages) await stage.commitBatch?.(loader.project, until);
        this.#loaded(rows, flight.received);
      };
    } catch (err) {
      // Nothing of it was kept (a failed extraction removes its package): its events are read again.
      this.#inFlight = this.#inFlight.filter((f) => f !== flight);
      throw err;
    }
  }

  /** Counts loaded events, and the visibility latency of those whose capture time is known. */
  #loaded(rows: number, received: number[]): void {
    const now = Date.now();
    for (const at of received) this.#o.metrics.visibilitySeconds.observe((now - at) / 1000);
    this.#o.metrics.loaded.inc(rows);
    this.stats.loaded += rows;
  }

  /** Per prepared batch of a project: capture times of its events, until its load commits. */
  #inFlight: { token: string; received: number[] }[] = [];

  /** A project's events between two positions, a page at a time, through the stages when `staged`. */
  async *#pages(
    token: string,
    from: LogPositions,
    until: LogPositions,
    staged: boolean,
    loader?: EventLoader,
    received?: number[],
  ): AsyncGenerator<IngestEvent[]> {
    let at = from;
    const nextPage = async (): Promise<IngestEvent[] | undefined> => {
      const { entries, next } = await this.#o.log.read(at, { max: PAGE_EVENTS, until, token });
      at = next;
      if (entries.length === 0) return undefined;
      let page: IngestEvent[] = entries.map((e) => e.event);
      if (staged && loader) {
        for (const stage of this.#o.stages) {
          if (page.length === 0) break;
          page = await stage.process(page, loader.project);
        }
      }
      for (const e of page) received?.push(Date.parse(e.created_at));
      return page;
    };
    let ahead = nextPage();
    try {
      for (;;) {
        const page = await ahead;
        if (!page) return;
        // One page ahead: the next page goes through the stages (the plugin host works on another core) while this
        // one is extracted. Pages still go through each stage in order, each after the one before.
        ahead = nextPage();
        ahead.catch(() => undefined); // awaited below or at the next turn
        yield page;
      }
    } finally {
      // A load given up early (it failed) waits for the page in the stages: recovery must not overlap it.
      await ahead.catch(() => undefined);
    }
  }
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
