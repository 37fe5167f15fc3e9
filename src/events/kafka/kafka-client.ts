import type { Kafka, KafkaConfig } from "kafkajs";
import { ConfigError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { KafkaLogConfig } from "./kafka-url.js";

/** kafkajs, loaded the first time a `kafka://` log is used: users who never touch Kafka never load it. */
async function kafkajs(): Promise<typeof import("kafkajs")> {
  try {
    const mod = (await import("kafkajs")) as typeof import("kafkajs") & {
      default?: typeof import("kafkajs");
    };
    return mod.default ?? mod;
  } catch (err) {
    throw new ConfigError(
      `a kafka:// log needs the package kafkajs, which could not be loaded: ${errorMessage(err)}`,
      {
        hint: "npm install kafkajs@2.2.4",
      },
    );
  }
}

/** A connected cluster: the kafkajs client and what ferry needs of the library at run time. */
export interface KafkaCluster {
  kafka: Kafka;
  /** The cluster's id: an event log's identity is the cluster and the topic. */
  clusterId: string;
  lib: typeof import("kafkajs");
}

/**
 * Connects to the brokers, checks they answer, and creates the event topic and the dead-letter topic when missing
 * (`config.partitions` partitions; replication as the cluster's default). A cluster that cannot be reached is a
 * clear error naming the brokers, after a few seconds, not a hang.
 *
 * @example
 * const { kafka, clusterId } = await connectKafka(parseKafkaLog("kafka://127.0.0.1:9092"), "ferry-capture", log);
 */
export async function connectKafka(
  config: KafkaLogConfig,
  clientId: string,
  log: Logger,
): Promise<KafkaCluster> {
  const lib = await kafkajs();
  const options: KafkaConfig = {
    clientId,
    brokers: config.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    // Long enough to ride out a broker restart (a few seconds) without failing the requests in flight.
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 10 },
    logCreator: () => (entry) => {
      // kafkajs reports every retried request as an error; ferry logs what it could not recover from itself.
      log.debug(
        `kafka ${entry.namespace}: ${entry.log.message}${entry.log.error ? ` (${entry.log.error})` : ""}`,
      );
    },
  };
  const kafka = new lib.Kafka(options);
  // The check at start gives up quickly: a wrong address should be said at once.
  const admin = new lib.Kafka({ ...options, retry: { initialRetryTime: 300, retries: 2 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const existing = new Set(await admin.listTopics());
    const topics = [config.topic, config.deadLetterTopic].filter((t) => !existing.has(t));
    if (topics.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((topic) => ({ topic, numPartitions: config.partitions })),
      });
      log.info(`kafka: created topic(s) ${topics.join(", ")} (${config.partitions} partitions)`);
    }
    return { kafka, clusterId: cluster.clusterId, lib };
  } catch (err) {
    throw new ConfigError(`cannot reach Kafka at ${config.brokers.join(",")}: ${kafkaErrorMessage(err)}`, {
      hint: "check `log:` in ferry.yaml (or --log) and that the brokers run and are reachable from here",
      cause: err,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** kafkajs's message plus the cause it wraps (retries exceeded hides the connection error). */
export function kafkaErrorMessage(err: unknown): string {
  const causes: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const m = errorMessage(e);
    if (m && !causes.includes(m)) causes.push(m);
    e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return causes.join(": ") || "unknown error";
}
