import { ConfigError } from "../../util/errors.js";
import { CaptureServer, type CaptureServerAddress } from "../capture/server.js";
import { EventMetrics } from "../metrics.js";
import { type RunningServe, type ServeOptions, statusReporter } from "../serve.js";
import type { ServeConfig } from "../serve-config.js";
import { connectKafka } from "./kafka-client.js";
import { KafkaIngest } from "./kafka-ingest.js";
import { KafkaEventProducer } from "./kafka-producer.js";
import { parseKafkaLog } from "./kafka-url.js";

/**
 * `ferry serve` on a Kafka event log: capture produces to the topic (role `capture` or `all`), ingestion consumes it
 * in the consumer group (role `ingest` or `all`). Any number of processes of each role run side by side.
 *
 * @example
 * const running = await startKafkaServe(config, "kafka://127.0.0.1:9092", { logger });
 */
export async function startKafkaServe(
  config: ServeConfig,
  url: string,
  options: ServeOptions,
): Promise<RunningServe> {
  const log = options.logger;
  if ((options.stages ?? []).length > 0)
    throw new ConfigError("stages (plugins, persons) do not run on a Kafka event log yet", {
      hint: "use the embedded log for plugins and persons",
    });
  const withPlugins = config.projects.filter((p) => (p.plugins ?? []).length > 0).map((p) => p.token);
  if (withPlugins.length > 0)
    throw new ConfigError(
      `plugins do not run on a Kafka event log yet (project(s) ${withPlugins.join(", ")} list plugins)`,
      { hint: "use the embedded log (drop serve.log / --log) for projects with plugins" },
    );
  const kafkaConfig = parseKafkaLog(url);
  const metrics = new EventMetrics();
  const capturing = config.role !== "ingest";
  const ingesting = config.role !== "capture";
  const cluster = await connectKafka(kafkaConfig, `ferry-${config.role}`, log);
  const producer = capturing
    ? await KafkaEventProducer.connect(cluster, kafkaConfig, { dedupWindow: config.dedupWindow, log })
    : undefined;
  const ingest = ingesting
    ? new KafkaIngest({
        cluster,
        config: kafkaConfig,
        projects: config.projects,
        destination: config.destination,
        dir: config.dir,
        batchMs: config.batchIntervalMs,
        // Shared by the partitions this process owns, as the embedded log's window is.
        dedupWindow: Math.max(1_000, Math.floor(config.dedupWindow / kafkaConfig.partitions)),
        metrics,
        logger: log,
      })
    : undefined;
  try {
    await ingest?.start();
  } catch (err) {
    await producer?.close().catch(() => undefined);
    throw err;
  }
  let accepting = true;
  let capture: CaptureServer | undefined;
  let address: CaptureServerAddress | undefined;
  if (producer) {
    const tokens = new Set(config.projects.map((p) => p.token));
    capture = new CaptureServer({
      host: config.host,
      port: config.port,
      projects: (token) => tokens.has(token),
      append: (events) => producer.append(events),
      metrics,
      ready: () => accepting,
      trustProxy: config.trustProxy,
      onWarning: (w) => log.warn(`capture: ${w.message}`),
      log,
      ...(options.mount ? { mount: options.mount } : {}),
    });
    try {
      address = await capture.start();
    } catch (err) {
      await ingest?.stop();
      await producer.close().catch(() => undefined);
      throw err;
    }
  }
  log.info(
    `kafka: ${[capturing ? "capture produces to" : "", ingesting ? `ingest (group ${kafkaConfig.group}) consumes` : ""].filter(Boolean).join(" and ")} ${kafkaConfig.topic} on ${kafkaConfig.brokers.join(",")}`,
  );
  const idle = { stats: { loaded: 0, batches: 0, failures: 0, lag: 0 }, lag: () => 0 };
  const consumer = ingest ?? idle;
  const status = statusReporter(metrics, consumer, log, options.statusIntervalMs ?? config.statusIntervalMs);
  let stopping: Promise<number> | undefined;
  return {
    address,
    metrics,
    consumer,
    plugins: undefined,
    stop() {
      stopping ??= (async () => {
        accepting = false;
        status.stop();
        // Requests in flight finish (their events are acknowledged by Kafka) before the producer closes.
        await capture?.close();
        await producer?.close().catch(() => undefined);
        // The batch under way commits; what is left stays in Kafka for the group's other members or the next start.
        await ingest?.stop();
        await status.report();
        return 0;
      })();
      return stopping;
    },
  };
}
