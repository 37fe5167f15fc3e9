import type { Logger } from "../../util/log.js";
import { SCHEDULED_HOOKS, type ScheduledHook } from "./plugin-api.js";
import type { PluginHost } from "./plugin-host.js";
import type { LoadedPlugin, ProjectPlugins } from "./plugin-stage.js";

/** How long one run of a scheduled function may take. */
export const SCHEDULE_LIMITS: Readonly<Record<ScheduledHook, number>> = {
  runEveryMinute: 60_000,
  runEveryHour: 900_000,
  runEveryDay: 900_000,
};

export interface SchedulerOptions {
  host: PluginHost;
  projects: readonly ProjectPlugins[];
  /** The intervals (default: a minute, an hour, a day); tests make them shorter. */
  intervals?: Partial<Record<ScheduledHook, number>>;
  onError(pp: ProjectPlugins, plugin: LoadedPlugin, hook: ScheduledHook, message: string): void;
  logger: Logger;
}

/** What ran (for tests and the status line). */
export interface ScheduleStats {
  runs: number;
  skipped: number;
  failed: number;
}

/**
 * Runs plugins' `runEveryMinute`, `runEveryHour` and `runEveryDay` on their interval, in the one process that runs
 * the plugins (once per server). A run still going when the next is due makes that one skipped, not overlapped.
 *
 * @example
 * const s = new PluginScheduler({ host, projects, onError, logger });
 * s.start();
 * await s.stop(); // waits for runs in progress
 */
export class PluginScheduler {
  readonly #o: SchedulerOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly stats = new Map<string, ScheduleStats>();

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  start(): void {
    for (const pp of this.#o.projects) {
      for (const plugin of pp.plugins) {
        for (const hook of Object.keys(SCHEDULED_HOOKS) as ScheduledHook[]) {
          if (!plugin.hooks.includes(hook)) continue;
          const every = this.#o.intervals?.[hook] ?? SCHEDULED_HOOKS[hook];
          const stats: ScheduleStats = { runs: 0, skipped: 0, failed: 0 };
          this.stats.set(`${plugin.key}:${hook}`, stats);
          let current: Promise<void> | undefined;
          const tick = () => {
            if (current) {
              stats.skipped++;
              this.#o.logger.warn(`${plugin.spec.name}: ${hook} is still running; this run is skipped`);
              return;
            }
            current = this.#run(pp, plugin, hook, stats).finally(() => {
              this.#running.delete(current as Promise<void>);
              current = undefined;
            });
            this.#running.add(current);
          };
          const timer = setInterval(tick, every);
          timer.unref();
          this.#timers.push(timer);
        }
      }
    }
  }

  async #run(
    pp: ProjectPlugins,
    plugin: LoadedPlugin,
    hook: ScheduledHook,
    stats: ScheduleStats,
  ): Promise<void> {
    stats.runs++;
    let error: string | undefined;
    try {
      error = (await this.#o.host.call(plugin.key, hook, SCHEDULE_LIMITS[hook])).error;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (error === undefined) return;
    stats.failed++;
    this.#o.logger.error(`${plugin.spec.name}: ${hook} failed: ${error}`);
    this.#o.onError(pp, plugin, hook, error);
  }

  /** Stops scheduling and waits for the runs in progress. */
  async stop(): Promise<void> {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    await Promise.all([...this.#running]);
  }
}
