// Clients for the `ferry serve` crash tests: concurrent loops that send events the way posthog-node does (gzip JSON
// `{ api_key, batch, sent_at }` to `/batch/`, uuids made by the client) and retry a batch, unchanged, after a
// network error or a 503 until it is acknowledged, as an SDK with a persistent queue does.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";

/** A UUIDv7 (ms timestamp + random bits), as posthog-node gives each event. */
export function uuidv7(ms = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What a client sent with one uuid. */
export interface SentEvent {
  token: string;
  distinctId: string;
  /** Client number and sequence number within the client, also stored in the event's properties. */
  client: number;
  seq: number;
}

/** One event batch as it goes over the wire (the same bytes on every retry). */
export interface EventBatch {
  token: string;
  uuids: string[];
  body: Buffer;
}

/** An attempt that got no 200: when it started and ended (performance.now()) and why. */
export interface FailedAttempt {
  batch: EventBatch;
  startedAt: number;
  failedAt: number;
  /** `ECONNREFUSED`, `ECONNRESET`, `503`, ... */
  reason: string;
}

/** A status other than 200 or 503: the server refused a valid batch, which the test reports as a failure. */
export class UnexpectedAnswer extends Error {}

export interface FleetOptions {
  url: string;
  /** Client `i` sends to `tokens[i % tokens.length]`. */
  tokens: string[];
  clients: number;
  /** Events in all, split evenly between the clients. */
  events: number;
  batchSize: number;
  /** Gives up (rejects `run()`) after this long. */
  deadlineMs: number;
}

/** Concurrent posthog-node-like clients sending a fixed number of events, retrying until each batch is acked. */
export class CaptureFleet {
  readonly opts: FleetOptions;
  /** Every uuid any attempt carried, with what was sent. */
  readonly sent = new Map<string, SentEvent>();
  /** Uuids of batches answered 200. */
  readonly acked = new Set<string>();
  readonly failures: FailedAttempt[] = [];
  /** Every batch made, in order (to send again as retries). */
  readonly batches: EventBatch[] = [];
  requests = 0;
  /** Requests sent and not answered yet. */
  inFlight = 0;
  /** Events the clients may send so far (batches are held back beyond it); `allow` raises it. */
  #allowance = Number.POSITIVE_INFINITY;
  #taken = 0;
  #held: (() => void)[] = [];
  /** Clients that have events left to send. */
  #active = 0;
  #abort = new AbortController();

  constructor(opts: FleetOptions) {
    this.opts = opts;
  }

  /** Failed attempts by reason. */
  failureCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.failures) out[f.reason] = (out[f.reason] ?? 0) + 1;
    return out;
  }

  /** Resolves when every client's events are acknowledged; rejects on an unexpected answer or the deadline. */
  async run(): Promise<void> {
    const timer = setTimeout(
      () => this.#abort.abort(new Error(`clients not done after ${this.opts.deadlineMs} ms`)),
      this.opts.deadlineMs,
    );
    try {
      const per = Math.ceil(this.opts.events / this.opts.clients);
      const loops = [];
      for (let c = 0; c < this.opts.clients; c++) {
        const count = Math.max(0, Math.min(per, this.opts.events - c * per));
        loops.push(this.#client(c, count));
      }
      // One client failing stops the others.
      await Promise.all(loops.map((l) => l.catch((e) => this.#abort.abort(e))));
      if (this.#abort.signal.aborted) throw this.#abort.signal.reason;
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.#abort.abort(new Error("stopped"));
    for (const wake of this.#held.splice(0)) wake();
  }

  /** Lets the clients send up to `events` events in all (until then they hold their next batch). */
  allow(events: number): void {
    this.#allowance = events;
    for (const wake of this.#held.splice(0)) wake();
  }

  /** Events the clients took to send so far (held ones not counted). */
  get taken(): number {
    return this.#taken;
  }

  /** True when every client still sending waits for more allowance (all it was allowed is answered). */
  get idle(): boolean {
    return this.#active > 0 && this.#held.length === this.#active;
  }

  async #ticket(size: number): Promise<void> {
    while (this.#taken + size > this.#allowance && !this.#abort.signal.aborted) {
      await new Promise<void>((wake) => this.#held.push(wake));
    }
    this.#taken += size;
  }

  async #client(client: number, count: number): Promise<void> {
    const token = this.opts.tokens[client % this.opts.tokens.length] as string;
    this.#active++;
    try {
      for (let seq = 0; seq < count; seq += this.opts.batchSize) {
        const size = Math.min(this.opts.batchSize, count - seq);
        await this.#ticket(size);
        const batch = this.makeBatch(token, client, seq, size);
        await this.sendUntilAcked(batch);
      }
    } finally {
      this.#active--;
    }
  }

  /** A posthog-node `/batch/` body of `size` events; its uuids are recorded as sent. */
  makeBatch(token: string, client: number, firstSeq: number, size: number): EventBatch {
    const events = [];
    const uuids: string[] = [];
    for (let seq = firstSeq; seq < firstSeq + size; seq++) {
      const uuid = uuidv7();
      const distinctId = `user-${client}-${seq % 17}`;
      uuids.push(uuid);
      this.sent.set(uuid, { token, distinctId, client, seq });
      events.push({
        event: seq % 5 === 0 ? "$pageview" : "crash test event",
        distinct_id: distinctId,
        properties: {
          $lib: "posthog-node",
          $lib_version: "5.74.0",
          $geoip_disable: true,
          client,
          seq,
        },
        timestamp: new Date().toISOString(),
        uuid,
      });
    }
    const body = gzipSync(
      JSON.stringify({ api_key: token, batch: events, sent_at: new Date().toISOString() }),
    );
    const batch = { token, uuids, body };
    this.batches.push(batch);
    return batch;
  }

  /** Posts the batch until a 200; network errors and 503s are retried with a short backoff. */
  async sendUntilAcked(batch: EventBatch): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const signal = this.#abort.signal;
      if (signal.aborted) throw signal.reason;
      const startedAt = performance.now();
      let reason: string;
      this.inFlight++;
      try {
        this.requests++;
        const res = await fetch(`${this.opts.url}/batch/`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" },
          body: batch.body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(60_000)]),
        });
        const text = await res.text();
        if (res.status === 200) {
          if (text !== '{"status":1}') throw new UnexpectedAnswer(`200 with body ${text}`);
          for (const u of batch.uuids) this.acked.add(u);
          return attempt;
        }
        if (res.status !== 503) throw new UnexpectedAnswer(`${res.status} ${text}`);
        reason = "503";
      } catch (err) {
        if (err instanceof UnexpectedAnswer || signal.aborted) throw err;
        reason = networkReason(err);
      } finally {
        this.inFlight--;
      }
      this.failures.push({ batch, startedAt, failedAt: performance.now(), reason });
      // An SDK's retry backoff (not a wait for a condition of the test).
      await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** Math.min(attempt, 5), 500)));
    }
  }
}

/** The code of a fetch failure (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`, ...). */
function networkReason(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return (err as Error)?.name ?? "error";
}
