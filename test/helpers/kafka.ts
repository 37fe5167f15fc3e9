/**
 * The Kafka test broker (`scripts/services.sh up kafka`) for the tests of `log: kafka://`: restarted through the
 * services script (stopped by its PID), its topics read back and written with kafkajs.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import kafkajs from "kafkajs";
import { REPO } from "./cli.js";
import { waitFor } from "./serve.js";

const { Kafka, logLevel } = kafkajs;
const execFileAsync = promisify(execFile);

export function kafkaClient(brokers: string): InstanceType<typeof Kafka> {
  return new Kafka({ clientId: "ferry-test", brokers: [brokers], logLevel: logLevel.NOTHING });
}

/**
 * `scripts/services.sh down|up kafka`: stops the broker (TERM, by its PID) or starts it again with its data (resolves
 * once it listens). Asynchronous: the clients of the test keep sending meanwhile.
 */
export async function broker(cmd: "down" | "up"): Promise<void> {
  const servicesDir = process.env.FERRY_TEST_KAFKA_DIR
    ? dirname(process.env.FERRY_TEST_KAFKA_DIR)
    : (process.env.FERRY_SERVICES_DIR ?? "/tmp/ferry-services");
  try {
    await execFileAsync("bash", [join(REPO, "scripts/services.sh"), cmd, "kafka"], {
      env: { ...process.env, FERRY_SERVICES_DIR: servicesDir },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`services.sh ${cmd} kafka failed: ${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** A message read back: its key, value and headers as text. */
export interface ReadMessage {
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Reads `n` messages of a topic from its start (a consumer group of its own); fails after `timeoutMs`. */
export async function readTopic(
  brokers: string,
  topic: string,
  n: number,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const consumer = kafkaClient(brokers).consumer({
    groupId: `ferry-test-read-${Date.now()}-${Math.random()}`,
  });
  const out: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        out.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          headers,
        });
      },
    });
    await waitFor(
      `${n} messages in ${topic}`,
      () => out.length >= n,
      timeoutMs,
      () => out.length,
    );
    return out;
  } finally {
    await consumer.disconnect();
  }
}

/** Writes messages to a topic as another producer would (not through ferry). */
export async function produceRaw(
  brokers: string,
  topic: string,
  messages: Array<{ key: string; value: string }>,
): Promise<void> {
  const producer = kafkaClient(brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
