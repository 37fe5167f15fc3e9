import { rm } from "node:fs/promises";
import type { Consumer, KafkaMessage, Producer } from "kafkajs";
import { errorMessage, isFerryError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { ConsumerStats } from "../ingest/consumer.js";
import { EventLoader, eventPipelineName } from "../ingest/event-loader.js";
import type { IngestEvent } from "../ingest/stage.js";
import type { LogPositions } from "../log/event-log.js";
import type { EventMetrics } from "../metrics.js";
import type { Project } from "../project.js";
import { type KafkaCluster, kafkaErrorMessage } from "./kafka-client.js";
import type { KafkaLogConfig } from "./kafka-url.js";
import { decodeMessage } from "./message-codec.js";
import { PartitionWindow } from "./partition-window.js";

export interface KafkaIngestOptions {
  cluster: KafkaCluster;
  config: KafkaLogConfig;
  projects: readonly Project[];
  destination: string;
  /** The pipelines' working dir (one pipeline per project and partition). */
  dir: string;
  /** A fetch waits up to this long for more data (the micro-batch interval). */
  batchMs: number;
  /** Uuids of this many recent events per partition are remembered to drop retried duplicates. */
  dedupWindow: number;
  metrics: EventMetrics;
  logger: Logger;
}

/** An event read from Kafka and the offset it has there. */
interface Offsetted {
  offset: number;
  event: IngestEvent;
}

/** A message that can never load, and why. */
interface DeadLetter {
  message: KafkaMessage;
  reason: string;
}

/** Events handed to the loader a page at a time (memory for the pipeline's extract holds one page). */
const PAGE_EVENTS = 2_000;

/**
 * Ingestion from a Kafka topic: a member of the consumer group `config.group` loads each fetched batch of a
 * partition into every project's `events` table, through the same event loader as the embedded log, and commits the
 * batch's offset to Kafka only after the destination committed it.
 *
 * Each (project, partition) has a pipeline of its own (`events_<dataset>_p<partition>`), whose state holds the next
 * offset of the partition and is committed with the events. When a partition is assigned to this process, its
 * pipelines are read back from the destination (local files of an earlier owner are dropped), and messages before
 * the destination's offset are skipped: a batch stored but not yet committed to Kafka (a crash, a rebalance, a broker
 * restart in between) is not stored again. Into destinations that commit data and state in one transaction (DuckDB,
 * Postgres) that is exactly once; into ClickHouse, where an interrupted insert may have stored part of a batch, it is
 * at least once, and the `events` table's ReplacingMergeTree collapses the copies by uuid (read with FINAL).
 *
 * Messages that can never load (not an event, a token no project has, an event the destination refuses) go to the
 * dead-letter topic with the reason in the header `ferry_reason`.
 *
 * @example
 * const ingest = new KafkaIngest({ cluster, config, projects, destination, dir, batchMs: 500, dedupWindow: 100_000, metrics, logger });
 * await ingest.start();
 * await ingest.stop(); // the batch under way finishes and commits
 */
export class KafkaIngest {
  readonly #o: KafkaIngestOptions;
  readonly #consumer: Consumer;
  readonly #deadLetters: Producer;
  readonly #loaders = new Map<string, EventLoader>();
  /** Partitions this member owns in the current generation of the group. */
  #owned = new Set<number>();
  /** Owned partitions whose pipelines must be read back from the destination before their next batch. */
  readonly #fresh = new Set<number>();
  readonly #windows = new Map<number, PartitionWindow>();
  readonly #lagByPartition = new Map<number, number>();
  readonly stats: ConsumerStats & { deadLetters: number } = {
    loaded: 0,
    batches: 0,
    failures: 0,
    lag: 0,
    deadLetters: 0,
  };
  #stopping = false;

  constructor(options: KafkaIngestOptions) {
    this.#o = options;
    const { kafka } = options.cluster;
    this.#consumer = kafka.consumer({
      groupId: options.config.group,
      // A load may take a while (a destination that is slow or down): the session is kept by heartbeats during it.
      sessionTimeout: 20_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      minBytes: 512 * 1024,
      maxWaitTimeInMs: Math.max(10, options.batchMs),
      allowAutoTopicCreation: false,
      // Always rejoin after a failure (a broker restart): offsets are only committed after the destination has the
      // data, so a restart reads again what was not committed.
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 10, restartOnFailure: async () => true },
    });
    this.#deadLetters = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: options.cluster.lib.Partitioners.DefaultPartitioner,
    });
    const { GROUP_JOIN, CRASH } = this.#consumer.events;
    this.#consumer.on(GROUP_JOIN, (e) =>
      this.#assigned(e.payload.memberAssignment[options.config.topic] ?? []),
    );
    this.#consumer.on(CRASH, (e) => {
      // The consumer rejoins as a new member: another one may own its partitions meanwhile.
      this.#owned = new Set();
      if (!this.#stopping)
        options.logger.warn(
          `kafka: the consumer restarts after an error: ${kafkaErrorMessage(e.payload.error)}`,
        );
    });
  }

  /** Joins the group and consumes until stopped (a batch that is not stored is fetched again). */
  async start(): Promise<void> {
    await this.#deadLetters.connect();
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [this.#o.config.topic], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        const done = await this.#batch(payload.batch.partition, payload.batch.messages, {
          heartbeat: payload.heartbeat,
          running: () => payload.isRunning() && !payload.isStale(),
        });
        // The next fetch starts after the batch (without this, kafkajs fetches it again).
        if (done) payload.resolveOffset(payload.batch.lastOffset());
        this.#lagByPartition.set(payload.batch.partition, Number(payload.batch.offsetLag()));
        this.#updateLag();
      },
    });
  }

  /** Events in the owned partitions not loaded yet, as of the last batch. */
  lag(): number {
    return this.stats.lag;
  }

  /** Leaves the group after the batch under way committed. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#consumer.disconnect();
    await this.#deadLetters.disconnect().catch(() => undefined);
  }

  #assigned(partitions: number[]): void {
    const now = new Set(partitions);
    for (const p of now) if (!this.#owned.has(p)) this.#fresh.add(p);
    for (const p of this.#owned) {
      if (now.has(p)) continue;
      this.#windows.delete(p);
      this.#lagByPartition.delete(p);
    }
    this.#owned = now;
    this.#o.logger.info(
      `kafka: this process loads partition(s) ${[...now].sort((a, b) => a - b).join(", ") || "none"} of ${this.#o.config.topic}`,
    );
  }

  #updateLag(): void {
    let lag = 0;
    for (const n of this.#lagByPartition.values()) lag += n;
    this.stats.lag = lag;
    this.#o.metrics.lagEvents.set(lag);
  }

  #loader(project: Project, partition: number): EventLoader {
    const key = `${project.token}\n${partition}`;
    let loader = this.#loaders.get(key);
    if (!loader) {
      loader = new EventLoader(project, {
        destination: this.#o.destination,
        dir: this.#o.dir,
        logId: `kafka:${this.#o.cluster.clusterId}/${this.#o.config.topic}`,
        log: this.#o.logger,
        name: `${eventPipelineName(project)}_p${partition}`,
      });
      this.#loaders.set(key, loader);
    }
    return loader;
  }

  /**
   * The partition's pipelines start from what the destination holds: local state and packages of an earlier owner
   * (this process before a rebalance or a crash) are dropped, and the next load reads the state back.
   */
  async #reset(partition: number): Promise<void> {
    for (const project of this.#o.projects) {
      const { pipeline } = this.#loader(project, partition);
      await rm(pipeline.dir, { recursive: true, force: true });
      await pipeline.refresh();
    }
  }

  async #batch(
    partition: number,
    messages: KafkaMessage[],
    ctl: { heartbeat: () => Promise<void>; running: () => boolean },
  ): Promise<boolean> {
    if (messages.length === 0 || !ctl.running()) return false;
    const started = Date.now();
    if (this.#fresh.has(partition)) {
      await this.#reset(partition);
      this.#fresh.delete(partition);
    }
    const window = this.#windowOf(partition);
    const byToken = new Map<string, Offsetted[]>();
    const dead: DeadLetter[] = [];
    const inBatch = new Set<string>();
    for (const message of messages) {
      const offset = Number(message.offset);
      const decoded = decodeMessage(message.value);
      if (typeof decoded === "string") {
        dead.push({ message, reason: decoded });
        continue;
      }
      if (!this.#o.projects.some((p) => p.token === decoded.token)) {
        dead.push({ message, reason: `no project has the token ${decoded.token}` });
        continue;
      }
      // A client's retry captured twice (the first answer was lost) is the same uuid in the same partition.
      if (inBatch.has(decoded.uuid) || window.isDuplicate(decoded.uuid, offset)) {
        this.#o.metrics.duplicates.inc();
        continue;
      }
      inBatch.add(decoded.uuid);
      const list = byToken.get(decoded.token) ?? [];
      list.push({ offset, event: decoded });
      byToken.set(decoded.token, list);
    }
    const first = Number(messages[0]?.offset);
    const next = Number(messages[messages.length - 1]?.offset) + 1;
    for (const project of this.#o.projects) {
      const events = byToken.get(project.token);
      if (!events) continue;
      const ok = await this.#loadWithRetries(project, partition, events, first, next, dead, ctl);
      if (!ok) return false; // stopping or the partition moved: the next owner reads the batch again
    }
    if (dead.length > 0) await this.#sendDeadLetters(partition, dead);
    await this.#consumer.commitOffsets([{ topic: this.#o.config.topic, partition, offset: String(next) }]);
    for (const events of byToken.values()) for (const e of events) window.add(e.event.uuid, e.offset);
    this.stats.batches++;
    this.#o.metrics.loadSeconds.observe((Date.now() - started) / 1000);
    return true;
  }

  #windowOf(partition: number): PartitionWindow {
    let w = this.#windows.get(partition);
    if (!w) {
      w = new PartitionWindow(this.#o.dedupWindow);
      this.#windows.set(partition, w);
    }
    return w;
  }

  /**
   * Loads one project's events of a batch, retrying failures with backoff while this process owns the partition. A
   * batch the destination refuses for good is split until the events it refuses are found: those go to `dead`.
   * False when it gave up because the consumer stops or the partition moved.
   */
  async #loadWithRetries(
    project: Project,
    partition: number,
    events: Offsetted[],
    first: number,
    next: number,
    dead: DeadLetter[],
    ctl: { heartbeat: () => Promise<void>; running: () => boolean },
  ): Promise<boolean> {
    const loader = this.#loader(project, partition);
    for (let backoff = 500; ; backoff = Math.min(backoff * 2, 30_000)) {
      try {
        await this.#load(loader, partition, events, first, next, ctl);
        return true;
      } catch (err) {
        this.stats.failures++;
        // What a failed load left behind is dropped: the destination's state says where to go on.
        await this.#reset(partition).catch(() => undefined);
        const refused = isFerryError(err, "load_failed") && !err.transient;
        if (refused && events.length === 1) {
          // One event refused: its fault only if the destination takes a load without it (else the destination
          // refuses everything, a permission or a full disk, and the event waits with the others).
          const e = events[0] as Offsetted;
          const accepts = await this.#load(loader, partition, [], first, e.offset, ctl).then(
            () => true,
            () => false,
          );
          await this.#reset(partition).catch(() => undefined);
          if (accepts) {
            dead.push({
              message: deadMessage(e),
              reason: `the destination refused it: ${errorMessage(err)}`,
            });
            return true;
          }
        } else if (refused) {
          this.#o.logger.warn(
            `kafka: the destination refused ${events.length} event(s) of ${project.dataset} (partition ${partition}), looking for the one(s) it refuses: ${errorMessage(err)}`,
          );
          const half = Math.ceil(events.length / 2);
          const head = events.slice(0, half);
          const headEnd = (head[head.length - 1] as Offsetted).offset + 1;
          if (!(await this.#loadWithRetries(project, partition, head, first, headEnd, dead, ctl)))
            return false;
          return this.#loadWithRetries(project, partition, events.slice(half), headEnd, next, dead, ctl);
        }
        if (this.#stopping || !ctl.running()) return false;
        this.#o.logger.error(
          `kafka: loading ${events.length} event(s) of ${project.dataset} (partition ${partition}) failed (retrying in ${backoff} ms): ${errorMessage(err)}`,
        );
        await sleep(backoff);
        try {
          await ctl.heartbeat();
        } catch {
          return false; // the group is rebalancing: this batch is read again by the partition's next owner
        }
      }
    }
  }

  async #load(
    loader: EventLoader,
    partition: number,
    events: Offsetted[],
    first: number,
    next: number,
    ctl: { heartbeat: () => Promise<void> },
  ): Promise<void> {
    const received: number[] = [];
    async function* pages(from: LogPositions): AsyncGenerator<IngestEvent[]> {
      // Messages before the destination's offset are stored already (a batch loaded, not yet committed to Kafka).
      const start = from[partition] ?? 0;
      const todo = events.filter((e) => e.offset >= start);
      for (let i = 0; i < todo.length; i += PAGE_EVENTS) {
        const page = todo.slice(i, i + PAGE_EVENTS).map((e) => e.event);
        for (const e of page) received.push(Date.parse(e.created_at));
        // Keeps the group session alive during a long load (a rebalance under way waits for the batch).
        await ctl.heartbeat().catch(() => undefined);
        yield page;
      }
    }
    const { rows } = await loader.load(pages, { [partition]: first }, { [partition]: next });
    const now = Date.now();
    for (const at of received) this.#o.metrics.visibilitySeconds.observe((now - at) / 1000);
    this.#o.metrics.loaded.inc(rows);
    this.stats.loaded += rows;
  }

  async #sendDeadLetters(partition: number, dead: DeadLetter[]): Promise<void> {
    const { topic, deadLetterTopic } = this.#o.config;
    await this.#deadLetters.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: dead.map(({ message, reason }) => ({
        key: message.key,
        value: message.value,
        headers: {
          ferry_reason: reason,
          ferry_topic: topic,
          ferry_partition: String(partition),
          ferry_offset: message.offset,
        },
      })),
    });
    this.stats.deadLetters += dead.length;
    this.#o.logger.warn(
      `kafka: ${dead.length} message(s) of partition ${partition} went to the dead-letter topic ${deadLetterTopic}: ${dead[0]?.reason}${dead.length > 1 ? " ..." : ""}`,
    );
  }
}

/** The message an event came from, rebuilt for the dead-letter topic (the event as read, at its offset). */
function deadMessage(e: Offsetted): KafkaMessage {
  return {
    key: Buffer.from(`${e.event.token}:${e.event.distinct_id}`),
    value: Buffer.from(JSON.stringify(e.event)),
    offset: String(e.offset),
    timestamp: String(Date.now()),
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
