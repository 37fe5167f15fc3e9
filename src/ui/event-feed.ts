import type { EventStage, IngestEvent } from "../events/ingest/stage.js";
import type { EventMetrics } from "../events/metrics.js";
import type { Project } from "../events/project.js";

/** One point of the events page's live plots. */
export interface EventSample {
  /** Unix time in seconds. */
  t: number;
  acceptedPerSec: number;
  loadedPerSec: number;
  /** Mean time from acknowledgement to queryable of the events loaded since the last sample (s); null: none. */
  visibilitySec: number | null;
  /** Events in the log not loaded yet. */
  lagEvents: number;
}

/** An event of the live tail, as the page shows it. */
export interface TailEvent {
  project: string;
  event: string;
  distinct_id: string;
  timestamp: string;
  uuid: string;
}

/** Where the feed reads the push door's counters (a running `ferry serve`). */
export interface FeedSource {
  metrics: EventMetrics;
}

/**
 * The events page's data: samples of the push door's metrics once a second (kept for `keep` samples) and a tail of
 * the newest events on their way to the destination. `stage` goes first among `ferry serve`'s stages: it only looks.
 *
 * @example
 * const feed = new EventFeed();
 * const running = await startServe(config, { logger, stages: [feed.stage] });
 * feed.attach({ metrics: running.metrics });
 */
export class EventFeed {
  readonly #samples: EventSample[] = [];
  readonly #tail: TailEvent[] = [];
  readonly #keep: number;
  readonly #tailSize: number;
  #source: FeedSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: { at: number; accepted: number; loaded: number; visSum: number; visCount: number } | undefined;

  constructor(options: { keep?: number; tailSize?: number; intervalMs?: number } = {}) {
    this.#keep = options.keep ?? 600;
    this.#tailSize = options.tailSize ?? 100;
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  readonly #intervalMs: number;

  /** Looks at each batch's events on their way to the destination (keeps the newest for the tail). */
  readonly stage: EventStage = {
    name: "ui-tail",
    process: async (events: IngestEvent[], project: Project) => {
      for (const e of events.slice(-this.#tailSize)) {
        this.#tail.push({
          project: project.dataset,
          event: e.event,
          distinct_id: e.distinct_id,
          timestamp: e.timestamp,
          uuid: e.uuid,
        });
      }
      if (this.#tail.length > this.#tailSize) this.#tail.splice(0, this.#tail.length - this.#tailSize);
      return events;
    },
  };

  /** Starts sampling the running server's metrics. */
  attach(source: FeedSource): void {
    this.#source = source;
    void this.#sample();
    this.#timer = setInterval(() => void this.#sample(), this.#intervalMs);
    this.#timer.unref();
  }

  get attached(): boolean {
    return this.#source !== undefined;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The samples after `since` (unix seconds), oldest first. */
  samples(since = 0): EventSample[] {
    return this.#samples.filter((s) => s.t > since);
  }

  /** The newest events, newest first. */
  tail(): TailEvent[] {
    return [...this.#tail].reverse();
  }

  async #sample(): Promise<void> {
    const m = this.#source?.metrics;
    if (!m) return;
    const accepted = (await m.accepted.get()).values[0]?.value ?? 0;
    const loaded = (await m.loaded.get()).values[0]?.value ?? 0;
    const lag = (await m.lagEvents.get()).values[0]?.value ?? 0;
    const vis = (await m.visibilitySeconds.get()).values;
    const visSum = vis.find((v) => v.metricName?.endsWith("_sum"))?.value ?? 0;
    const visCount = vis.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
    const now = Date.now();
    const last = this.#last;
    this.#last = { at: now, accepted, loaded, visSum, visCount };
    if (!last) return;
    const secs = Math.max(0.001, (now - last.at) / 1000);
    const dCount = visCount - last.visCount;
    this.#samples.push({
      t: now / 1000,
      acceptedPerSec: (accepted - last.accepted) / secs,
      loadedPerSec: (loaded - last.loaded) / secs,
      visibilitySec: dCount > 0 ? (visSum - last.visSum) / dCount : null,
      lagEvents: lag,
    });
    if (this.#samples.length > this.#keep) this.#samples.splice(0, this.#samples.length - this.#keep);
  }
}
