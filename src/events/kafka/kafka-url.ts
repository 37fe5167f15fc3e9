import { ConfigError } from "../../util/errors.js";

/** Where a Kafka event log lives and how ferry uses it (from `log: kafka://...`). */
export interface KafkaLogConfig {
  /** `host:port` of each bootstrap broker. */
  brokers: string[];
  /** The topic capture produces to and ingestion consumes (default `ferry_events`). */
  topic: string;
  /** Where events that can never load go, with the reason (default `<topic>_dead_letter`). */
  deadLetterTopic: string;
  /** The consumer group of the ingest processes (default `ferry_ingest`). */
  group: string;
  /** Partitions of the topic when ferry creates it (default 4; an existing topic keeps its own). */
  partitions: number;
}

const KEYS = ["topic", "dead_letter_topic", "group", "partitions"] as const;

/** Whether a `log` setting names a Kafka cluster. */
export function isKafkaLog(url: string | undefined): url is string {
  return url !== undefined && /^kafka:\/\//i.test(url.trim());
}

/**
 * Parses `kafka://host:9092[,host2:9092][?topic=&group=&dead_letter_topic=&partitions=]`. A broker without a port
 * gets 9092. Errors name what is wrong and show the expected form.
 *
 * @example
 * parseKafkaLog("kafka://k1:9092,k2?topic=events").brokers // ["k1:9092", "k2:9092"]
 */
export function parseKafkaLog(url: string): KafkaLogConfig {
  const form = "kafka://host:9092[,host2:9092][?topic=ferry_events&group=ferry_ingest]";
  const m = /^kafka:\/\/([^?/]*)\/?(?:\?(.*))?$/i.exec(url.trim());
  if (!m) throw new ConfigError(`log: ${JSON.stringify(url)} is not a Kafka URL`, { hint: `use ${form}` });
  const brokers = (m[1] ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "")
    .map((b) => broker(b, form));
  if (brokers.length === 0)
    throw new ConfigError("log: the Kafka URL names no broker", { hint: `use ${form}` });
  const params = new URLSearchParams(m[2] ?? "");
  for (const key of params.keys()) {
    if (!(KEYS as readonly string[]).includes(key))
      throw new ConfigError(`log: ${key} is not a Kafka log setting ferry knows`, {
        hint: `known: ${KEYS.join(", ")}`,
      });
  }
  const topic = topicName(params.get("topic") ?? "ferry_events", "topic");
  const partitions = Number(params.get("partitions") ?? 4);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000)
    throw new ConfigError(`log: partitions must be a whole number 1..10000, not ${params.get("partitions")}`);
  const group = params.get("group") ?? "ferry_ingest";
  if (group.trim() === "") throw new ConfigError("log: group is empty");
  return {
    brokers,
    topic,
    deadLetterTopic: topicName(
      params.get("dead_letter_topic") ?? `${topic}_dead_letter`,
      "dead_letter_topic",
    ),
    group,
    partitions,
  };
}

function broker(text: string, form: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  const port = Number(m?.[2] ?? 9092);
  if (!m || port < 1 || port > 65535)
    throw new ConfigError(`log: ${JSON.stringify(text)} is not a broker address (host:port)`, {
      hint: `use ${form}`,
    });
  return `${m[1]}:${port}`;
}

/** Kafka's rule for topic names: 1-249 of letters, digits, `.`, `_`, `-` (and not `.` or `..`). */
function topicName(name: string, key: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(name) || name === "." || name === "..")
    throw new ConfigError(
      `log: ${key} ${JSON.stringify(name)} is not a valid Kafka topic name (letters, digits, ".", "_", "-"; at most 249)`,
    );
  return name;
}
