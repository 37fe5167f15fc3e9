import { errorMessage } from "../../../util/errors.js";
import { readJsonFile, writeFileAtomic } from "../../../util/fs.js";
import type { Logger } from "../../../util/log.js";
import type { EventLog, LogEntry, LogPositions } from "../../log/event-log.js";
import type { Webhook } from "../plugin-api.js";
import type { PluginErrors } from "../plugin-errors.js";
import { toPluginEvent } from "../plugin-event.js";
import type { PluginHost } from "../plugin-host.js";
import type { LoadedPlugin } from "../plugin-stage.js";
import type { Outcome } from "../sandbox/protocol.js";
import { type Delivery, deliverWebhook } from "./deliver.js";
import { type ExportRecord, reaches } from "./export-stage.js";

/** Events read from the export log at a time. */
const PAGE = 100;
/** Backoff never waits longer than this between two attempts. */
const MAX_BACKOFF_MS = 300_000;
/** With nothing to deliver, the consumer looks again after this long even when not woken. */
const IDLE_MS = 1000;

export type ExportHook = "onEvent" | "composeWebhook";

/** What export consumers report (for metrics). */
export interface ExportCounters {
  delivered(plugin: LoadedPlugin, n: number): void;
  failedAttempt(plugin: LoadedPlugin): void;
  deadLetter(plugin: LoadedPlugin): void;
}

export interface ExportConsumerOptions {
  /** The export log (all projects' stored events, in the order they were stored). */
  log: EventLog;
  token: string;
  plugin: LoadedPlugin;
  hook: ExportHook;
  host: PluginHost;
  /** The event log positions the destination holds the project's events up to. */
  committed(): LogPositions;
  errors: PluginErrors;
  /** The file that keeps this consumer's position. */
  offsetsPath: string;
  counters: ExportCounters;
  logger: Logger;
}

/**
 * Delivers one plugin's exports (its `onEvent` calls, or the requests its `composeWebhook` makes) for one project:
 * reads the export log from its own position, the events the destination holds (their batch committed), one after
 * the other; an event
 * that fails is tried again with backoff (doubling from `retries.backoff`) and goes to `plugin_errors` as a dead letter
 * after `retries.attempts` attempts (or at once when it cannot work, e.g. a 4xx). The position is kept in a file after
 * each page: a crash delivers at most that page again (at least once, in order).
 *
 * @example
 * const c = new ExportConsumer(options);
 * await c.open();
 * c.start();
 * c.wake();              // the project committed a load
 * await c.stop();
 */
export class ExportConsumer {
  readonly #o: ExportConsumerOptions;
  readonly #stop = new AbortController();
  #positions: LogPositions = {};
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Attempts made on the event at the head (it is tried again until it goes or is dead-lettered). */
  #attempts = 0;
  /** What the last failed attempt said (for the status line). */
  lastError: string | undefined;

  constructor(options: ExportConsumerOptions) {
    this.#o = options;
  }

  get plugin(): LoadedPlugin {
    return this.#o.plugin;
  }

  get hook(): ExportHook {
    return this.#o.hook;
  }

  get positions(): LogPositions {
    return { ...this.#positions };
  }

  /**
   * Takes up the position kept on disk; a new consumer starts with the events exported from now on (open it before
   * events flow).
   */
  async open(): Promise<void> {
    const kept = await readJsonFile<{ positions: LogPositions }>(this.#o.offsetsPath);
    this.#positions = kept?.positions ?? this.#o.log.end();
    if (!kept) await this.#save();
  }

  /** Delivers from now on (after `open`). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Events of the project in the export log this consumer has not delivered yet. */
  async lag(): Promise<number> {
    return (await this.#o.log.tokens(this.#positions, this.#o.log.end())).get(this.#o.token) ?? 0;
  }

  /** Looks for new events now (the project committed a load). */
  wake(): void {
    this.#wake?.();
  }

  /** Stops after the delivery in flight (which is abandoned: it is made again after a restart). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        const read = await this.#o.log.read(this.#positions, { max: PAGE, token: this.#o.token });
        // Only events whose batch the destination committed (stored): the others come after them, in order.
        const committed = this.#o.committed();
        let n = 0;
        while (n < read.entries.length && stored(read.entries[n] as LogEntry, committed)) n++;
        if (n === 0) {
          if (read.entries.length === 0 && !samePositions(read.next, this.#positions)) {
            this.#positions = read.next; // past other projects' events
            await this.#save();
          } else await this.#idle();
          continue;
        }
        const done = await this.#deliverPage(read.entries.slice(0, n));
        if (done && n === read.entries.length) this.#positions = read.next;
        await this.#save();
      } catch (err) {
        if (signal.aborted) return;
        this.#o.logger.error(`exports of ${this.#o.plugin.spec.name}: ${errorMessage(err)}`);
        await this.#sleep(1000);
      }
    }
  }

  /** Delivers entries in order; false when stopped before the end (the position then holds what was done). */
  async #deliverPage(entries: LogEntry[]): Promise<boolean> {
    let i = 0;
    while (i < entries.length) {
      if (this.#stop.signal.aborted) return false;
      const rest = entries.slice(i);
      const outcomes = await this.#runHook(rest);
      for (const [k, o] of outcomes.entries()) {
        const entry = rest[k] as LogEntry;
        let ok: boolean;
        if (o[0] === "err") ok = await this.#failed(entry, o[1] ?? "failed", true);
        else if (this.#o.hook === "composeWebhook" && o[0] === "ok")
          ok = await this.#send(entry, o[1] as string);
        else {
          if (this.#o.hook === "onEvent") this.#o.counters.delivered(this.#o.plugin, 1);
          ok = true;
        }
        if (!ok) return false;
        if (o[0] === "err" && this.#attempts > 0) break; // tried again from this event
        this.#advance(entry);
        i++;
      }
    }
    return true;
  }

  async #runHook(entries: LogEntry[]): Promise<Outcome[]> {
    const json = JSON.stringify(entries.map((e) => toPluginEvent(e.event)));
    try {
      return await this.#o.host.events(this.#o.plugin.key, this.#o.hook, json, entries.length);
    } catch (err) {
      return [["err", errorMessage(err)]];
    }
  }

  /** Sends the webhook of an entry until it is delivered or dead-lettered; false when stopped. */
  async #send(entry: LogEntry, json: string): Promise<boolean> {
    const webhook = JSON.parse(json) as Webhook;
    const spec = this.#o.plugin.spec;
    for (;;) {
      const d: Delivery = await deliverWebhook(webhook, entry.event.uuid, {
        plugin: spec.name,
        allowedHosts: spec.allowedHosts,
        timeoutMs: spec.deliveryTimeoutMs,
        signal: this.#stop.signal,
      });
      if (this.#stop.signal.aborted) return false;
      if (d.ok) {
        this.#o.counters.delivered(this.#o.plugin, 1);
        return true;
      }
      const again = await this.#failed(entry, d.reason, d.retry, d.retry ? d.retryAfterMs : undefined);
      if (!again || this.#attempts === 0) return again; // stopped, or dead-lettered (the entry is done)
    }
  }

  /**
   * An attempt on `entry` failed. Waits the backoff and resolves true to try again (`#attempts` > 0), or dead-letters
   * it once it ran out of attempts or cannot work (resolves true with `#attempts` back at 0); false when stopped.
   */
  async #failed(
    entry: LogEntry,
    reason: string,
    retriable: boolean,
    retryAfterMs?: number,
  ): Promise<boolean> {
    const { attempts, backoffMs } = this.#o.plugin.spec.retries;
    this.#attempts++;
    this.lastError = reason;
    this.#o.counters.failedAttempt(this.#o.plugin);
    if (!retriable || this.#attempts >= attempts) {
      const made = this.#attempts;
      this.#o.logger.warn(
        `${this.#o.plugin.spec.name}: ${this.#o.hook} of event ${entry.event.uuid} goes to plugin_errors after ${made} attempt(s): ${reason}`,
      );
      await this.#o.errors.addDurable([
        {
          id: `${this.#o.plugin.spec.name}/${this.#o.hook}/${entry.event.uuid}`,
          occurred_at: new Date().toISOString(),
          plugin: this.#o.plugin.spec.name,
          hook: this.#o.hook,
          event_uuid: entry.event.uuid,
          error: reason,
          action: "dead_letter",
          attempts: made,
          event: toPluginEvent(entry.event),
        },
      ]);
      this.#o.counters.deadLetter(this.#o.plugin);
      this.#attempts = 0;
      this.#advance(entry);
      await this.#save();
      return !this.#stop.signal.aborted;
    }
    const wait = Math.min(MAX_BACKOFF_MS, Math.max(backoffMs * 2 ** (this.#attempts - 1), retryAfterMs ?? 0));
    await this.#sleep(wait);
    return !this.#stop.signal.aborted;
  }

  #advance(entry: LogEntry): void {
    this.#attempts = 0;
    this.lastError = undefined;
    this.#positions[entry.partition] = Math.max(this.#positions[entry.partition] ?? 0, entry.next);
  }

  async #save(): Promise<void> {
    await writeFileAtomic(this.#o.offsetsPath, JSON.stringify({ positions: this.#positions }));
  }

  /** Waits for new events: until woken, or a while. */
  #idle(): Promise<void> {
    return this.#sleep(IDLE_MS, true);
  }

  /** Waits `ms` (a backoff is not cut short by new events, only by stopping). */
  #sleep(ms: number, wakeable = false): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      if (wakeable) this.#wake = done;
    });
  }
}

/** Whether the destination holds an export log entry's event (its batch committed). */
function stored(entry: LogEntry, committed: LogPositions): boolean {
  return reaches(committed, (entry.event as ExportRecord).export_until ?? {});
}

function samePositions(a: LogPositions, b: LogPositions): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[Number(k)] ?? 0) !== (b[Number(k)] ?? 0)) return false;
  return true;
}
