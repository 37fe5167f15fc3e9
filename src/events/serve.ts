import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../util/log.js";
import { CaptureServer, type CaptureServerAddress, type CaptureServerOptions } from "./capture/server.js";
import { EventConsumer } from "./ingest/consumer.js";
import { EventLoader } from "./ingest/event-loader.js";
import type { EventStage } from "./ingest/stage.js";
import { SegmentLog } from "./log/segment-log.js";
import { EventMetrics } from "./metrics.js";
import { PersonStage } from "./persons/person-stage.js";
import { personStores } from "./persons/person-stores.js";
import type { ScheduledHook } from "./plugins/plugin-api.js";
import { PluginRuntime } from "./plugins/runtime.js";
import type { ServeConfig } from "./serve-config.js";

export interface ServeOptions {
  logger: Logger;
  /** How often the status line is logged (default: the config's `status_interval`; 0: never). */
  statusIntervalMs?: number;
  /** How long stopping keeps retrying loads that fail (default 5 minutes). */
  drainTimeoutMs?: number;
  /** Stages between the log and the load: after the plugins' processEvent, before persons. */
  stages?: EventStage[];
  /** Shorter intervals for plugins' scheduled functions (tests). */
  pluginScheduleIntervals?: Partial<Record<ScheduledHook, number>>;
  /** More routes on the capture port (the dashboard at `/ui`); see `CaptureServerOptions.mount`. */
  mount?: CaptureServerOptions["mount"];
}

/** A running `ferry serve`. */
export interface RunningServe {
  /** Where capture listens (undefined with `role: ingest`). */
  readonly address: CaptureServerAddress | undefined;
  readonly metrics: EventMetrics;
  /** The loading of events (with `role: capture`, stats that stay at 0). */
  readonly consumer: Pick<EventConsumer, "stats" | "lag">;
  /** The projects' plugins (undefined when no project has any). */
  readonly plugins: PluginRuntime | undefined;
  /**
   * Stops accepting, loads everything the log holds (retrying failed loads until the drain timeout), and closes.
   * Resolves with the events left in the log (0 unless the destination stayed unavailable; they load at the next start).
   */
  stop(): Promise<number>;
}

/** Where `ferry serve` keeps its own files inside the pipelines' working dir (not a pipeline of its own). */
export function serveDir(config: Pick<ServeConfig, "dir">): string {
  return join(config.dir, "_serve");
}

/** Between two loads into a destination a load holds for itself, readers get at least this long (DuckDB's file). */
const READER_GAP_MS = 100;

/**
 * Starts the push door: the event log, the event loader of every project (after completing what a crash left), then
 * the capture server, which answers 200 only once events are durable in the log.
 *
 * @example
 * const running = await startServe(resolveServeConfig(file, flags, ".ferry"), { logger });
 * console.log(`posthog clients: api_host ${running.address.url}`);
 * process.on("SIGTERM", () => running.stop());
 */
export async function startServe(config: ServeConfig, options: ServeOptions): Promise<RunningServe> {
  if (config.log !== undefined) {
    // Loaded when used: a server on the embedded log never loads the Kafka client.
    const { startKafkaServe } = await import("./kafka/kafka-serve.js");
    return startKafkaServe(config, config.log, options);
  }
  const log = options.logger;
  const metrics = new EventMetrics();
  const eventLog = await SegmentLog.open({
    dir: join(serveDir(config), "log"),
    partitions: config.partitions,
    retentionMs: config.retentionMs,
    dedupWindow: config.dedupWindow,
    log,
  });
  let plugins: PluginRuntime | undefined;
  try {
    plugins = await PluginRuntime.start({
      projects: config.projects,
      dir: serveDir(config),
      baseDir: config.baseDir ?? process.cwd(),
      logger: log,
      registry: metrics.registry,
      scheduleIntervals: options.pluginScheduleIntervals,
    });
  } catch (err) {
    await eventLog.close();
    throw err;
  }
  const loaders = new Map(
    config.projects.map((p) => [
      p.token,
      new EventLoader(p, { destination: config.destination, dir: config.dir, logId: eventLog.id, log }),
    ]),
  );
  const orphans = join(serveDir(config), "orphans");
  // Persons come after the other stages (plugins): they see the events as plugins left them.
  const persons = config.persons
    ? new PersonStage({ stores: personStores(config.persons, serveDir(config)), logger: log })
    : undefined;
  // Plugins transform events before the other stages; their export log takes the events as they are stored.
  const stages = [
    ...(plugins ? [plugins.transform] : []),
    ...(options.stages ?? []),
    ...(persons ? [persons] : []),
    ...(plugins?.exports ? [plugins.exports] : []),
  ];
  // A destination that cannot be resolved fails the consumer's start below, with its own message.
  const destination = await loaders
    .values()
    .next()
    .value?.pipeline.destination()
    .catch(() => undefined);
  const consumer = new EventConsumer({
    log: eventLog,
    loaders,
    stages,
    batchEvents: config.batchEvents,
    batchMs: config.batchIntervalMs,
    catchUpEvents: config.catchUpEvents,
    readerGapMs: destination?.capabilities.exclusiveWhileLoading ? READER_GAP_MS : 0,
    metrics,
    logger: log,
    onOrphans: async (token, events) => {
      // Events captured for a project that is no longer configured are kept, not dropped.
      await mkdir(orphans, { recursive: true });
      await appendFile(
        join(orphans, `${safeName(token)}.jsonl`),
        events.map((e) => `${JSON.stringify(e)}\n`).join(""),
      );
      log.warn(
        `${events.length} event(s) of token ${token} belong to no configured project; kept in ${orphans} (add the project back to load them)`,
      );
    },
  });
  try {
    await plugins?.attach(consumer, loaders);
    await consumer.start();
    await plugins?.run();
  } catch (err) {
    await persons?.close().catch(() => undefined);
    await plugins?.stop().catch(() => undefined);
    await eventLog.close();
    throw err;
  }
  let accepting = true;
  const capture = new CaptureServer({
    host: config.host,
    port: config.port,
    projects: (token) => loaders.has(token),
    append: (events) => eventLog.append(events),
    metrics,
    ready: () => accepting,
    trustProxy: config.trustProxy,
    ...(options.mount ? { mount: options.mount } : {}),
    onWarning: (w) => log.warn(`capture: ${w.message}`),
    log,
  });
  let address: CaptureServerAddress;
  try {
    address = await capture.start();
  } catch (err) {
    await consumer.stop();
    await plugins?.stop();
    await eventLog.close();
    throw err;
  }
  const status = statusReporter(
    metrics,
    consumer,
    log,
    options.statusIntervalMs ?? config.statusIntervalMs,
    () => (plugins ? plugins.status() : Promise.resolve("")),
  );
  let stopping: Promise<number> | undefined;
  return {
    address,
    metrics,
    consumer,
    plugins,
    stop() {
      stopping ??= (async () => {
        accepting = false;
        status.stop();
        await capture.close();
        log.info(`capture stopped; loading the ${consumer.lag()} event(s) the log still holds`);
        const left = await consumer.stop({ drain: true, drainTimeoutMs: options.drainTimeoutMs });
        await plugins?.stop();
        await eventLog.close();
        await status.report();
        return left;
      })();
      return stopping;
    },
  };
}

/**
 * The status line: events/s accepted and loaded since the last line, and the lag, every `intervalMs` (0: only when
 * `report()` is called, as at the stop).
 */
export function statusReporter(
  metrics: EventMetrics,
  consumer: Pick<EventConsumer, "stats">,
  log: Logger,
  intervalMs: number,
  /** More to tell at the end of the line (the plugins' export lag). */
  extra: () => Promise<string> = async () => "",
): { report(): Promise<void>; stop(): void } {
  let last = { at: Date.now(), accepted: 0, loaded: 0 };
  const report = async () => {
    const now = Date.now();
    const accepted = (await metrics.accepted.get()).values[0]?.value ?? 0;
    const loaded = consumer.stats.loaded;
    const secs = Math.max(0.001, (now - last.at) / 1000);
    const more = await extra().catch(() => "");
    log.info(
      `events: ${rate(accepted - last.accepted, secs)}/s accepted, ${rate(loaded - last.loaded, secs)}/s loaded, ` +
        `lag ${consumer.stats.lag} event(s)${consumer.stats.failures > 0 ? `, ${consumer.stats.failures} failed load(s) retried` : ""}` +
        (more ? `; ${more}` : ""),
    );
    last = { at: now, accepted, loaded };
  };
  const timer = intervalMs > 0 ? setInterval(() => void report(), intervalMs) : undefined;
  timer?.unref();
  return { report, stop: () => clearInterval(timer) };
}

const rate = (n: number, secs: number) => Math.round(n / secs).toLocaleString("en-US");

function safeName(token: string): string {
  return token.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80) || "_";
}
