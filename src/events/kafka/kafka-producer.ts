import type { Producer } from "kafkajs";
import type { Logger } from "../../util/log.js";
import type { CapturedEvent } from "../event.js";
import { LogUnavailableError } from "../log/event-log.js";
import { UuidWindow } from "../log/uuid-window.js";
import { type KafkaCluster, kafkaErrorMessage } from "./kafka-client.js";
import type { KafkaLogConfig } from "./kafka-url.js";

/** At most this much event JSON per produce request (well under brokers' default 1 MB per record batch). */
const REQUEST_BYTES = 512 * 1024;

/** The key of an event's message: one person's events go to one partition, in order (as PostHog's capture keys). */
export function messageKey(e: Pick<CapturedEvent, "token" | "distinct_id">): string {
  return `${e.token}:${e.distinct_id}`;
}

/**
 * Capture's side of a Kafka event log: produces events to the topic with acks from all in-sync replicas and an
 * idempotent producer (a request the client retried inside the producer is written once). `append` resolves only
 * once the brokers acknowledged, so capture answers 200 only for events Kafka holds; a failure rejects with
 * `LogUnavailableError` (capture answers 503 and the client retries).
 *
 * Retries a client sends again after an answer (its uuid seen within the last `dedupWindow` events this process
 * acknowledged) are answered 200 without being produced again.
 *
 * @example
 * const producer = await KafkaEventProducer.connect(cluster, config, { dedupWindow: 100_000, log });
 * await producer.append(events); // durable in Kafka
 */
export class KafkaEventProducer {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #seen: UuidWindow;
  readonly #log: Logger;
  #closed = false;

  private constructor(producer: Producer, topic: string, dedupWindow: number, log: Logger) {
    this.#producer = producer;
    this.#topic = topic;
    this.#seen = new UuidWindow(dedupWindow);
    this.#log = log;
  }

  static async connect(
    cluster: KafkaCluster,
    config: KafkaLogConfig,
    options: { dedupWindow: number; log: Logger },
  ): Promise<KafkaEventProducer> {
    const producer = cluster.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Java's partitioner (murmur2 of the key): other Kafka clients put a key in the same partition.
      createPartitioner: cluster.lib.Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new KafkaEventProducer(producer, config.topic, options.dedupWindow, options.log);
  }

  /**
   * Produces the events and resolves once the brokers acknowledged all of them (acks=all). Concurrent calls share
   * one produce request (group commit): the idempotent producer has one request in flight, and the requests that
   * arrive meanwhile go together in the next one.
   */
  async append(events: CapturedEvent[]): Promise<{ appended: number; duplicates: number }> {
    if (this.#closed) throw new LogUnavailableError("the Kafka producer is closed (the server is stopping)");
    const fresh = events.filter((e) => !this.#seen.has(e.uuid));
    if (fresh.length > 0) {
      await new Promise<void>((resolve, reject) => {
        this.#queue.push({ events: fresh, resolve, reject });
        if (!this.#flushing) void this.#flush();
      });
      for (const e of fresh) this.#seen.add(e.uuid);
    }
    return { appended: fresh.length, duplicates: events.length - fresh.length };
  }

  readonly #queue: Array<{ events: CapturedEvent[]; resolve: () => void; reject: (err: Error) => void }> = [];
  #flushing = false;

  /**
   * Sends what the queue holds, one request at a time, until it is empty. A request carries at most
   * `REQUEST_BYTES` of events (brokers refuse record batches over `message.max.bytes`, 1 MB by default): a call is
   * acknowledged once every request with its events is, and fails (503, the client sends it again) if one fails.
   */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const waiting = this.#queue.splice(0);
        const messages: Array<{ key: string; value: string }> = [];
        /** For each waiting call, the index after its last message. */
        const ends: number[] = [];
        for (const w of waiting) {
          for (const e of w.events) messages.push({ key: messageKey(e), value: JSON.stringify(e) });
          ends.push(messages.length);
        }
        let sent = 0;
        let settled = 0;
        try {
          while (sent < messages.length) {
            let bytes = 0;
            let upTo = sent;
            while (upTo < messages.length && (upTo === sent || bytes < REQUEST_BYTES)) {
              const m = messages[upTo] as { key: string; value: string };
              bytes += Buffer.byteLength(m.key) + Buffer.byteLength(m.value);
              upTo++;
            }
            await this.#producer.send({ topic: this.#topic, acks: -1, messages: messages.slice(sent, upTo) });
            sent = upTo;
            while (settled < waiting.length && (ends[settled] as number) <= sent)
              waiting[settled++]?.resolve();
          }
        } catch (err) {
          this.#log.warn(
            `kafka: producing ${messages.length - sent} event(s) failed: ${kafkaErrorMessage(err)}`,
          );
          const failure = new LogUnavailableError(
            `Kafka did not acknowledge the events: ${kafkaErrorMessage(err)}`,
          );
          while (settled < waiting.length) waiting[settled++]?.reject(failure);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#producer.disconnect();
  }
}
