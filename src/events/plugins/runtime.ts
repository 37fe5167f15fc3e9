import { join } from "node:path";
import { Counter, Gauge, type Registry } from "prom-client";
import { ConfigError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { EventConsumer } from "../ingest/consumer.js";
import type { EventLoader } from "../ingest/event-loader.js";
import type { EventStage } from "../ingest/stage.js";
import type { LogPositions } from "../log/event-log.js";
import { SegmentLog } from "../log/segment-log.js";
import type { Project } from "../project.js";
import { compilePlugin } from "./compile.js";
import { ExportConsumer, type ExportCounters, type ExportHook } from "./exports/export-consumer.js";
import { ExportStage } from "./exports/export-stage.js";
import type { ScheduledHook } from "./plugin-api.js";
import { type PluginErrorRow, PluginErrors } from "./plugin-errors.js";
import { PluginHost } from "./plugin-host.js";
import { type LoadedPlugin, PluginStage, type ProjectPlugins } from "./plugin-stage.js";
import { PluginScheduler } from "./scheduler.js";

export interface PluginRuntimeOptions {
  projects: readonly Project[];
  /** ferry serve's own folder (`<dir>/_serve`): plugin storage, the export log and positions go in `plugins/`. */
  dir: string;
  /** Where relative module paths start: the project file's folder. */
  baseDir: string;
  logger: Logger;
  /** The server's Prometheus registry. */
  registry: Registry;
  /** Shorter intervals for scheduled functions (tests). */
  scheduleIntervals?: Partial<Record<ScheduledHook, number>>;
}

const EXPORT_HOOKS: readonly ExportHook[] = ["composeWebhook", "onEvent"];
/** How often export positions are gathered to release the export log, and lag gauges updated. */
const HOUSEKEEPING_MS = 10_000;

/**
 * The plugins of `ferry serve`: compiles each project's plugin modules, runs them in the plugin host process, and
 * gives the server its stages (processEvent before persons, the export log after them), the `plugin_errors` table of
 * each project, the export consumers and the scheduler.
 *
 * @example
 * const plugins = await PluginRuntime.start({ projects, dir, baseDir, logger, registry });
 * stages = [plugins.transform, ...persons, plugins.exports];
 * await plugins?.attach(consumer, loaders);  // before the consumer starts
 * await plugins?.run();                      // after it: exports and schedules start
 * await plugins?.stop();
 */
export class PluginRuntime {
  readonly host: PluginHost;
  /** processEvent of every plugin, in order (first stage). */
  readonly transform: EventStage;
  /** Appends stored events to the export log (last stage). */
  readonly exports: EventStage | undefined;
  readonly #o: PluginRuntimeOptions;
  readonly #projects: Map<string, ProjectPlugins>;
  readonly #exportLog: SegmentLog | undefined;
  readonly #metrics: RuntimeMetrics;
  readonly #consumers: ExportConsumer[] = [];
  #scheduler: PluginScheduler | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  #stopping = false;

  private constructor(
    o: PluginRuntimeOptions,
    host: PluginHost,
    projects: Map<string, ProjectPlugins>,
    exportLog: SegmentLog | undefined,
    metrics: RuntimeMetrics,
  ) {
    this.#o = o;
    this.host = host;
    this.#projects = projects;
    this.#exportLog = exportLog;
    this.#metrics = metrics;
    this.transform = new PluginStage(
      host,
      projects,
      (p, hook, n) => metrics.errors.inc(labels(p, hook), n),
      (project) => this.wakeExports(project.token),
    );
    const exporting = [...projects.values()].filter((pp) => pp.plugins.some(isExporter));
    this.exports = exportLog
      ? new ExportStage(exportLog, new Set(exporting.map((pp) => pp.project.token)))
      : undefined;
  }

  /**
   * Compiles and loads the plugins of every project (setupPlugin runs); undefined when no project has plugins. A
   * module that does not compile or load is refused with a `ConfigError`; a failing setupPlugin is not (the plugin's
   * events follow its on_error, setup is tried again, and `plugin_errors` says why).
   */
  static async start(o: PluginRuntimeOptions): Promise<PluginRuntime | undefined> {
    const withPlugins = o.projects.filter((p) => (p.plugins ?? []).length > 0);
    if (withPlugins.length === 0) return undefined;
    const code = new Map<string, string>();
    for (const p of withPlugins) {
      for (const spec of p.plugins ?? []) {
        if (!code.has(spec.module)) code.set(spec.module, (await compilePlugin(spec.module, o.baseDir)).code);
      }
    }
    const metrics = runtimeMetrics(o.registry);
    const names = new Map<string, string>();
    const host = await PluginHost.start({
      storagePath: join(o.dir, "plugins", "storage.sqlite"),
      logger: o.logger,
      logPrefix: (key) => `plugin ${names.get(key) ?? key}`,
    });
    let exportLog: SegmentLog | undefined;
    try {
      const projects = new Map<string, ProjectPlugins>();
      for (const project of withPlugins) {
        const plugins: LoadedPlugin[] = [];
        const setupErrors: PluginErrorRow[] = [];
        for (const spec of project.plugins ?? []) {
          const key = `${project.dataset}/${spec.name}`;
          names.set(key, `${spec.name} (${project.dataset})`);
          const loaded = await host
            .load({
              key,
              name: spec.name,
              code: code.get(spec.module) as string,
              config: { ...spec.config },
              timeoutMs: spec.timeoutMs,
              memoryMb: spec.memoryMb,
              allowedHosts: [...spec.allowedHosts],
            })
            .catch((err: unknown) => {
              throw new ConfigError(
                `the plugin ${spec.name} (${spec.module}) does not load: ${errorMessage(err)}`,
                {
                  hint: "its module threw while it was evaluated; fix it and start again",
                },
              );
            });
          plugins.push({ spec, key, hooks: loaded.hooks });
          if (loaded.setupError) {
            o.logger.error(
              `plugin ${spec.name} (${project.dataset}): setupPlugin failed (tried again in 30 s; its events follow on_error ${spec.onError}): ${loaded.setupError}`,
            );
            setupErrors.push(errorRow(spec.name, "setupPlugin", loaded.setupError));
          }
        }
        const errors = await PluginErrors.open(
          join(o.dir, "plugins", "errors", `${safeName(project.dataset)}.jsonl`),
        );
        await errors.addDurable(setupErrors);
        projects.set(project.token, { project, plugins, errors });
      }
      if ([...projects.values()].some((pp) => pp.plugins.some(isExporter))) {
        exportLog = await SegmentLog.open({
          dir: join(o.dir, "plugins", "exports", "log"),
          partitions: 1,
          dedupWindow: 200_000,
          log: o.logger,
        });
      }
      return new PluginRuntime(o, host, projects, exportLog, metrics);
    } catch (err) {
      await host.stop().catch(() => undefined);
      await exportLog?.close();
      throw err;
    }
  }

  /**
   * Connects the plugins to the consumer (a project with plugin_errors rows waiting gets a batch even without events)
   * and to the loaders (the export consumers deliver what they committed), and opens the export consumers at their
   * positions. Before the consumer starts: events exported from then on are not missed.
   */
  async attach(consumer: EventConsumer, loaders: ReadonlyMap<string, EventLoader>): Promise<void> {
    for (const pp of this.#projects.values()) {
      const token = pp.project.token;
      pp.errors.ask = () => {
        if (!this.#stopping) consumer.requestBatch(token);
      };
      const loader = loaders.get(token);
      if (!loader || !this.#exportLog) continue;
      for (const plugin of pp.plugins) {
        for (const hook of EXPORT_HOOKS) {
          if (!plugin.hooks.includes(hook)) continue;
          const c = new ExportConsumer({
            log: this.#exportLog,
            token,
            plugin,
            hook,
            host: this.host,
            committed: () => loader.committed(),
            errors: pp.errors,
            offsetsPath: join(
              this.#o.dir,
              "plugins",
              "exports",
              "positions",
              safeName(pp.project.dataset),
              `${plugin.spec.name}.${hook}.json`,
            ),
            counters: this.#metrics.exports,
            logger: this.#o.logger,
          });
          await c.open();
          this.#consumers.push(c);
        }
      }
    }
  }

  /** Starts the export consumers and the scheduler (once the consumer recovered what the destination holds). */
  async run(): Promise<void> {
    for (const c of this.#consumers) c.start();
    for (const pp of this.#projects.values()) if (pp.errors.pending()) pp.errors.ask?.();
    this.#scheduler = new PluginScheduler({
      host: this.host,
      projects: [...this.#projects.values()],
      intervals: this.#o.scheduleIntervals,
      logger: this.#o.logger,
      onError: (pp, plugin, hook, message) => {
        this.#metrics.errors.inc(labels(plugin, hook));
        pp.errors
          .addDurable([errorRow(plugin.spec.name, hook, message)])
          .catch((e) => this.#o.logger.error(`plugin_errors of ${pp.project.dataset}: ${errorMessage(e)}`));
      },
    });
    this.#scheduler.start();
    this.#housekeeping = setInterval(() => void this.#housekeep(), HOUSEKEEPING_MS);
    this.#housekeeping.unref();
  }

  /** The scheduler's counts per `<key>:<hook>` (runs, skipped, failed). */
  get schedules(): PluginScheduler["stats"] {
    return this.#scheduler?.stats ?? new Map();
  }

  /** plugin_errors rows of setups, schedules and dead letters not stored yet (for tests). */
  unstoredErrors(): number {
    return [...this.#projects.values()].reduce((n, pp) => n + pp.errors.unstored(), 0);
  }

  /** Export consumers, for the status line and tests. */
  get consumers(): readonly ExportConsumer[] {
    return this.#consumers;
  }

  /** `exports: lag N event(s)` (with the plugins that lag and why they retry), or "" without exports. */
  async status(): Promise<string> {
    if (this.#consumers.length === 0) return "";
    let total = 0;
    const behind: string[] = [];
    for (const c of this.#consumers) {
      const lag = await c.lag().catch(() => 0);
      total += lag;
      this.#metrics.lag.set({ plugin: c.plugin.key, hook: c.hook }, lag);
      if (lag > 0) behind.push(`${c.plugin.key} ${lag}${c.lastError ? ` retrying: ${c.lastError}` : ""}`);
    }
    return `exports: lag ${total} event(s)${behind.length ? ` (${behind.join("; ")})` : ""}`;
  }

  /** Stops schedules and exports (deliveries in flight are made again after a restart), tears the plugins down. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#housekeeping) clearInterval(this.#housekeeping);
    await this.#scheduler?.stop();
    await Promise.all(this.#consumers.map((c) => c.stop()));
    // Rows still waiting (a schedule that failed just now) stay in their project's outbox file: the next start loads them.
    await this.#housekeep();
    const failures = await this.host.stop();
    for (const [key, message] of failures)
      this.#o.logger.error(`plugin ${key}: teardownPlugin failed: ${message}`);
    await this.#exportLog?.close();
  }

  /** A project committed a load: its export consumers look for new events. */
  wakeExports(token: string): void {
    for (const c of this.#consumers) if (this.#projects.get(token)?.plugins.includes(c.plugin)) c.wake();
  }

  /** Releases the export log up to where every consumer is, and updates the lag gauges. */
  async #housekeep(): Promise<void> {
    if (!this.#exportLog || this.#consumers.length === 0) return;
    const min: LogPositions = {};
    for (const c of this.#consumers) {
      for (const [p, v] of Object.entries(c.positions)) min[Number(p)] = Math.min(min[Number(p)] ?? v, v);
    }
    await this.#exportLog.release(min).catch((e) => this.#o.logger.warn(`export log: ${errorMessage(e)}`));
    await this.status().catch(() => undefined);
  }
}

function isExporter(p: LoadedPlugin): boolean {
  return p.hooks.includes("onEvent") || p.hooks.includes("composeWebhook");
}

function errorRow(plugin: string, hook: string, message: string): PluginErrorRow {
  const at = new Date().toISOString();
  return {
    id: `${plugin}/${hook}/${at}/${Math.random().toString(36).slice(2, 10)}`,
    occurred_at: at,
    plugin,
    hook,
    event_uuid: null,
    error: message,
    action: null,
    attempts: null,
    event: null,
  };
}

function labels(p: LoadedPlugin, hook: string): { plugin: string; hook: string } {
  return { plugin: p.key, hook };
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_");
}

interface RuntimeMetrics {
  errors: Counter<"plugin" | "hook">;
  lag: Gauge<"plugin" | "hook">;
  exports: ExportCounters;
}

function runtimeMetrics(registry: Registry): RuntimeMetrics {
  const errors = new Counter({
    name: "ferry_plugin_errors_total",
    help: "Plugin failures, by plugin (<dataset>/<name>) and hook",
    labelNames: ["plugin", "hook"] as const,
    registers: [registry],
  });
  const delivered = new Counter({
    name: "ferry_export_delivered_total",
    help: "Events export plugins delivered (webhooks sent, onEvent calls that went through)",
    labelNames: ["plugin"] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: "ferry_export_failed_attempts_total",
    help: "Failed export attempts (retried, or dead-lettered)",
    labelNames: ["plugin"] as const,
    registers: [registry],
  });
  const dead = new Counter({
    name: "ferry_export_dead_letters_total",
    help: "Events an export plugin gave up on (in plugin_errors)",
    labelNames: ["plugin"] as const,
    registers: [registry],
  });
  const lag = new Gauge({
    name: "ferry_export_lag_events",
    help: "Stored events an export plugin has not delivered yet",
    labelNames: ["plugin", "hook"] as const,
    registers: [registry],
  });
  return {
    errors,
    lag,
    exports: {
      delivered: (p, n) => delivered.inc({ plugin: p.key }, n),
      failedAttempt: (p) => failed.inc({ plugin: p.key }),
      deadLetter: (p) => dead.inc({ plugin: p.key }),
    },
  };
}
