import { resource } from "../../extract/resource.js";
import { source } from "../../extract/source.js";
import { Pipeline } from "../../pipeline/pipeline.js";
import { normalizeIdentifier } from "../../schema/naming.js";
import type { ColumnHint } from "../../schema/types.js";
import type { Logger } from "../../util/log.js";
import type { LogPositions } from "../log/event-log.js";
import type { Project } from "../project.js";
import type { IngestEvent, StageTable } from "./stage.js";

/** The `events` table (contract): its columns and types, created with the first load whatever the events hold. */
export const EVENT_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  uuid: { type: "text", nullable: false },
  event: { type: "text", nullable: false },
  distinct_id: { type: "text", nullable: false },
  timestamp: { type: "timestamp", nullable: false },
  created_at: { type: "timestamp", nullable: false },
  properties: { type: "json" },
  set: { type: "json" },
  set_once: { type: "json" },
  elements_chain: { type: "text" },
  ip: { type: "text" },
  person_id: { type: "text" },
  person_properties: { type: "json" },
};

/**
 * The column a materialized property gets: `mat_` and the property's name without its leading `$`, in ferry's naming.
 *
 * @example
 * materializedColumn("$browser") // "mat_browser"
 * materializedColumn("Plan Name") // "mat_plan_name"
 */
export function materializedColumn(property: string): string {
  return `mat_${normalizeIdentifier(property.replace(/^\$+/, ""))}`;
}

/** The row of `events` for an event (materialized properties as extra typed columns). */
function eventRow(e: IngestEvent, materialize: readonly string[]): Record<string, unknown> {
  const row: Record<string, unknown> = {
    uuid: e.uuid,
    event: e.event,
    distinct_id: e.distinct_id,
    timestamp: e.timestamp,
    created_at: e.created_at,
    properties: e.properties,
    set: e.set,
    set_once: e.set_once,
    elements_chain: e.elements_chain,
    ip: e.ip,
    person_id: e.person_id ?? null,
    person_properties: e.person_properties ?? null,
  };
  for (const p of materialize) {
    const v = e.properties[p];
    if (v !== undefined) row[materializedColumn(p)] = v;
  }
  return row;
}

/** The name of a project's event pipeline. */
export function eventPipelineName(project: Project): string {
  return `events_${project.dataset}`;
}

/**
 * Loads a project's events into the table `events` of its dataset, through ferry's pipeline: each micro-batch is a
 * load package whose state holds the log positions it reaches, so the positions are committed in the same
 * transaction as the events (exactly once, also when the server is killed in the middle of a load).
 *
 * @example
 * const loader = new EventLoader(project, { destination: "duckdb:events.duckdb", dir: ".ferry/serve/pipelines", log });
 * const positions = await loader.recover();    // after a crash: pending packages first
 * await loader.load(pagesOf(events), { 0: 1200, 1: 988 });
 */
export class EventLoader {
  readonly project: Project;
  readonly pipeline: Pipeline;
  /** Tables stages load with the events (plugin_errors, ...). */
  readonly #tables: StageTable[] = [];
  readonly #queue: LoadQueue;

  constructor(project: Project, opts: { destination: string; dir: string; log: Logger; queue?: LoadQueue }) {
    this.project = project;
    this.#queue = opts.queue ?? new LoadQueue();
    this.pipeline = new Pipeline({
      name: eventPipelineName(project),
      destination: opts.destination,
      dataset: project.dataset,
      dir: opts.dir,
      logger: opts.log,
      // Micro-batches are small: worker threads would cost more than they save.
      normalizeWorkers: 1,
    });
  }

  /** Completes packages a crash left pending, then gives the log positions the destination holds events up to. */
  async recover(): Promise<LogPositions> {
    await this.#queue.run(async () => {
      await this.pipeline.run();
      for (const t of this.#tables) t.settled("committed");
    });
    return this.committed();
  }

  /** Loads `table`'s rows with every load from now on (in the same package as the events). */
  addTable(table: StageTable): void {
    this.#tables.push(table);
  }

  /** The state a stage table committed last (`StageTable.state`). */
  tableState(name: string): Record<string, unknown> {
    return { ...(this.pipeline.state?.sources.events?.resources[name]?.state ?? {}) };
  }

  /**
   * Loads what the stage tables hold now, without events (the positions stay as committed), when rows must not wait
   * for the next events (a dead letter that holds up an export). Resolves once they are committed.
   */
  async loadTables(): Promise<void> {
    await this.#queue.run(async () => {
      if (!this.#tables.some((t) => t.pending?.() ?? true)) return;
      // The positions as committed now, inside the queue: a batch loaded meanwhile has moved them.
      await this.#load(noPages(), this.committed(), true);
    });
  }

  /** The log positions committed with the data (as of the last load or recover). */
  committed(): LogPositions {
    const state = this.pipeline.state?.sources.events?.resources.events?.state;
    return { ...((state?.positions as LogPositions | undefined) ?? {}) };
  }

  /**
   * Loads the events the pages bring (read as the load extracts them, so memory holds a page at a time) and commits
   * `positions` with them; no pages commits the positions alone. Resolves once the destination committed.
   */
  load(pages: AsyncIterable<IngestEvent[]>, positions: LogPositions): Promise<{ rows: number }> {
    return this.#queue.run(() => this.#load(pages, positions, false));
  }

  async #load(
    pages: AsyncIterable<IngestEvent[]>,
    positions: LogPositions,
    tablesOnly: boolean,
  ): Promise<{ rows: number }> {
    const materialize = this.project.materialize;
    let eventsRead: () => void = () => undefined;
    const read = new Promise<void>((resolve) => {
      eventsRead = resolve;
    });
    const events = resource(
      { name: "events", table: "events", writeDisposition: "append", columns: { ...EVENT_COLUMNS } },
      async function* (ctx) {
        try {
          ctx.state.positions = positions;
          for await (const page of pages)
            if (page.length > 0) yield page.map((e) => eventRow(e, materialize));
        } finally {
          eventsRead();
        }
      },
    );
    const tables = this.#tables.map((t) =>
      resource(
        { name: t.name, table: t.name, writeDisposition: "append", columns: { ...t.columns } },
        async function* (ctx) {
          // A table's rows come from the stages the events go through: they are complete once the events are read.
          await read;
          if (!tablesOnly && t.state) Object.assign(ctx.state, t.state());
          const rows = t.rows();
          if (rows.length > 0) yield rows;
        },
      ),
    );
    for (const t of this.#tables) t.begin();
    try {
      const info = await this.pipeline.run(source({ name: "events", resources: [events, ...tables] }));
      for (const t of this.#tables) t.settled("committed");
      return { rows: info.rows.events ?? 0 };
    } catch (err) {
      if (this.#tables.length > 0) {
        // A package made before the failure is completed by the next run, rows and all.
        const kept = (await this.pipeline.packages().catch(() => ({ pending: [] }))).pending.length > 0;
        for (const t of this.#tables) t.settled(kept ? "kept" : "failed");
      }
      throw err;
    }
  }
}

async function* noPages(): AsyncGenerator<IngestEvent[]> {}

/**
 * Runs loads one at a time. A server gives its loaders one queue, so that loads of rows alone (stage tables) never
 * open the destination while a batch is loading.
 *
 * @example
 * const queue = new LoadQueue();
 * await queue.run(() => pipeline.run(data));
 */
export class LoadQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
