import type { BatchTable, EventStage, IngestEvent } from "../ingest/stage.js";
import type { LogPositions } from "../log/event-log.js";
import type { Project } from "../project.js";
import type { PluginSpec } from "./plugin-config.js";
import type { PluginErrorRow, PluginErrors } from "./plugin-errors.js";
import { fromPluginEvent, InvalidPluginEvent, toPluginEvent } from "./plugin-event.js";
import { type PluginHost, PluginHostCrash } from "./plugin-host.js";
import type { ChainError, ChainLink, ChainResult } from "./sandbox/protocol.js";

/** A plugin of a project as the host loaded it. */
export interface LoadedPlugin {
  readonly spec: PluginSpec;
  /** `<dataset>/<name>`: the instance in the host, its storage scope. */
  readonly key: string;
  readonly hooks: readonly string[];
}

/** The plugins of one project, and its `plugin_errors` rows on their way. */
export interface ProjectPlugins {
  readonly project: Project;
  readonly plugins: readonly LoadedPlugin[];
  readonly errors: PluginErrors;
}

/** Counts what the stage did (for metrics). */
export type ErrorCounter = (plugin: LoadedPlugin, hook: string, n: number) => void;

/**
 * The plugins' `processEvent`, as a stage of the event path: each page of a project's events crosses into the plugin
 * host once, goes through every plugin in order there, and comes back changed, dropped or failed. A failure follows
 * the plugin's `on_error` (pass: the event goes on as the plugin got it; drop; dead_letter: kept in `plugin_errors`
 * with its body) and adds a row to `plugin_errors`, a table of the batch: loaded in the same package as the events.
 *
 * @example
 * const stage = new PluginStage(host, projects, countErrors);
 * const tables = await stage.beginBatch(project, until);
 * const kept = await stage.process(events, project);
 */
export class PluginStage implements EventStage {
  readonly name = "plugins";
  readonly #host: PluginHost;
  readonly #projects: ReadonlyMap<string, ProjectPlugins>;
  readonly #count: ErrorCounter;
  readonly #committed: (project: Project) => void;

  constructor(
    host: PluginHost,
    projects: ReadonlyMap<string, ProjectPlugins>,
    count: ErrorCounter,
    committed: (project: Project) => void = () => undefined,
  ) {
    this.#host = host;
    this.#projects = projects;
    this.#count = count;
    this.#committed = committed;
  }

  /** A batch of the project starts: its `plugin_errors` go in the same package. */
  async beginBatch(project: Project, _until: LogPositions): Promise<BatchTable[]> {
    const pp = this.#projects.get(project.token);
    return pp ? [pp.errors.batchTable()] : [];
  }

  async commitBatch(project: Project): Promise<void> {
    const pp = this.#projects.get(project.token);
    if (!pp) return;
    await pp.errors.committed();
    this.#committed(project);
  }

  /** A batch did not commit (its events are read again, and fail again), or the server starts. */
  async recover(project: Project): Promise<void> {
    this.#projects.get(project.token)?.errors.reset();
    this.#committed(project);
  }

  async process(events: IngestEvent[], project: Project): Promise<IngestEvent[]> {
    const pp = this.#projects.get(project.token);
    const links = (pp?.plugins ?? []).filter((p) => p.hooks.includes("processEvent"));
    if (!pp || links.length === 0 || events.length === 0) return events;
    const json = JSON.stringify(events.map(toPluginEvent));
    const chainLinks: ChainLink[] = links.map((p) => ({ key: p.key, onError: p.spec.onError }));
    let result: ChainResult;
    try {
      result = await this.#host.chain(chainLinks, json, events.length);
    } catch (err) {
      if (!(err instanceof PluginHostCrash)) throw err;
      result = await this.#linkByLink(chainLinks, json, events.length, err);
    }
    const byKey = new Map(links.map((p) => [p.key, p]));
    const errors: ChainError[] = [...result.errors];
    const out: IngestEvent[] = [];
    for (const [i, e] of events.entries()) {
      const j = result.events[i];
      if (j === null || j === undefined) continue;
      try {
        out.push(fromPluginEvent(e, JSON.parse(j)));
      } catch (err) {
        if (!(err instanceof InvalidPluginEvent)) throw err;
        // The sandbox checks what processEvent returns; this is ferry's own check of what came back.
        const last = links.at(-1) as LoadedPlugin;
        errors.push({
          index: i,
          key: last.key,
          message: `processEvent ${err.message}`,
          action: last.spec.onError,
        });
        if (last.spec.onError === "pass") out.push(e);
      }
    }
    if (errors.length > 0) pp.errors.addBatch(this.#rows(errors, events, byKey));
    return out;
  }

  #rows(errors: ChainError[], events: IngestEvent[], byKey: Map<string, LoadedPlugin>): PluginErrorRow[] {
    const now = new Date().toISOString();
    const counts = new Map<LoadedPlugin, number>();
    const rows = errors.map((e) => {
      const plugin = byKey.get(e.key) as LoadedPlugin;
      counts.set(plugin, (counts.get(plugin) ?? 0) + 1);
      const uuid = events[e.index]?.uuid ?? null;
      return {
        id: `${plugin.spec.name}/processEvent/${uuid}`,
        occurred_at: now,
        plugin: plugin.spec.name,
        hook: "processEvent",
        event_uuid: uuid,
        error: e.message,
        action: e.action,
        attempts: null,
        event: e.event === undefined ? null : JSON.parse(e.event),
      } satisfies PluginErrorRow;
    });
    for (const [plugin, n] of counts) this.#count(plugin, "processEvent", n);
    return rows;
  }

  /**
   * The host went down under a page: the plugins run one at a time on it again, so that the one that brings the host
   * down again is known; its events follow its on_error with the crash as their error.
   */
  async #linkByLink(links: ChainLink[], json: string, n: number, first: Error): Promise<ChainResult> {
    const events: (string | null)[] = (JSON.parse(json) as unknown[]).map((e) => JSON.stringify(e));
    const errors: ChainError[] = [];
    for (const link of links) {
      const alive = events.flatMap((e, i) => (e === null ? [] : [i]));
      if (alive.length === 0) break;
      const page = `[${alive.map((i) => events[i]).join(",")}]`;
      let r: ChainResult;
      try {
        r = await this.#host.chain([link], page, alive.length);
      } catch (err) {
        if (!(err instanceof PluginHostCrash)) throw err;
        const message = `processEvent brought the plugin host down (${first.message}); the page was run again and it did so again`;
        r = { events: alive.map(() => null), errors: [] };
        for (const [k, i] of alive.entries()) {
          const error: ChainError = { index: k, key: link.key, message, action: link.onError };
          if (link.onError === "pass") r.events[k] = events[i] as string;
          if (link.onError === "dead_letter") error.event = events[i] as string;
          r.errors.push(error);
        }
      }
      for (const [k, i] of alive.entries()) events[i] = r.events[k] ?? null;
      for (const e of r.errors) errors.push({ ...e, index: alive[e.index] as number });
    }
    if (events.length !== n) throw new Error(`the plugin host returned ${events.length} of ${n} events`);
    return { events, errors };
  }
}
