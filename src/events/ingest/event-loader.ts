import { resource } from "../../extract/resource.js";
import { source } from "../../extract/source.js";
import type { PipelineHold, PreparedPackage } from "../../pipeline/hold.js";
import { Pipeline } from "../../pipeline/pipeline.js";
import { normalizeIdentifier } from "../../schema/naming.js";
import type { ColumnHint, TableStorage } from "../../schema/types.js";
import type { Logger } from "../../util/log.js";
import type { LogPositions } from "../log/event-log.js";
import type { Project } from "../project.js";
import { latestPositions } from "./positions.js";
import type { BatchTable, IngestEvent } from "./stage.js";

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
 * How `events` is laid out where a destination sorts, partitions and deduplicates tables (ClickHouse), as PostHog
 * lays out its own: partitioned by month of `timestamp`, sorted by day, event, and hashes of distinct_id and uuid, and
 * deduplicated with the ingestion time (`created_at`) as version, so an event stored twice (a client's retry) collapses
 * into its latest copy as the table merges (read with FINAL to see it collapsed at once).
 */
export const EVENTS_STORAGE: TableStorage = {
  partitionBy: { column: "timestamp", by: "month" },
  sortBy: [
    { column: "timestamp", transform: "date" },
    "event",
    { column: "distinct_id", transform: "hash" },
    { column: "uuid", transform: "hash" },
  ],
  deduplicate: { version: "created_at" },
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

/** The positions a resource state holds for the log `logId` (none when they belong to another log). */
function positionsIn(state: Record<string, unknown> | undefined, logId: string, log: Logger): LogPositions {
  const positions = state?.positions as LogPositions | undefined;
  if (!positions) return {};
  if (state?.log !== logId) {
    log.warn(
      `the destination's state holds positions of another event log (${String(state?.log ?? "unknown")}); reading this log (${logId}) from its start`,
    );
    return {};
  }
  return { ...positions };
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const memory = () => {
  const m = process.memoryUsage();
  return `rss ${mb(m.rss)} MB (heap ${mb(m.heapUsed)}/${mb(m.heapTotal)}, external ${mb(m.external)})`;
};

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
 * await loader.load((from) => pagesOf(log, from), committed, { 0: 1200, 1: 988 });
 */
export class EventLoader {
  readonly project: Project;
  readonly pipeline: Pipeline;
  readonly #logId: string;
  readonly #log: Logger;

  /**
   * `logId`: the event log it reads (`EventLog.id`); positions committed for another log are not used. `name`: the
   * pipeline's name (default `events_<dataset>`; a Kafka log has one per partition).
   */
  constructor(
    project: Project,
    opts: { destination: string; dir: string; logId: string; log: Logger; name?: string },
  ) {
    this.project = project;
    this.#logId = opts.logId;
    this.#log = opts.log;
    this.pipeline = new Pipeline({
      name: opts.name ?? eventPipelineName(project),
      destination: opts.destination,
      dataset: project.dataset,
      dir: opts.dir,
      logger: opts.log,
      // Micro-batches are small: worker threads would cost more than they save.
      normalizeWorkers: 1,
    });
  }

  /**
   * Holds the pipeline until `release()` (the embedded log's consumer, the only process loading this project): the
   * next batch can then be prepared while the one before it loads (`prepare`, `loadPrepared`), and `recover` and
   * `load` go through the hold too.
   */
  async hold(): Promise<void> {
    this.#hold ??= await this.pipeline.hold();
  }

  /** Gives the pipeline back (at stop). */
  async release(): Promise<void> {
    const hold = this.#hold;
    this.#hold = undefined;
    await hold?.release();
  }

  #hold: PipelineHold | undefined;

  /**
   * Completes packages a crash or a failed load left pending, then gives the log positions the destination holds
   * events up to, and how many events the completed packages loaded.
   */
  async recover(): Promise<{ positions: LogPositions; rows: number }> {
    const rows = this.#hold ? (await this.#hold.complete()).rows : (await this.pipeline.run()).rows;
    return { positions: this.committed(), rows: rows.events ?? 0 };
  }

  /**
   * The log positions committed with the data (as of the last load or recover). Positions of another log (the
   * destination's state after a new `--dir`) mean nothing here: this log is read from its start.
   */
  committed(): LogPositions {
    const state = this.pipeline.state?.sources.events?.resources.events?.state;
    return positionsIn(state, this.#logId, this.#log);
  }

  /**
   * Loads the events `pages(from)` brings up to `until` (read as the load extracts them, so memory holds a page at a
   * time) and commits `until` with them. `from` is where the pipeline's state says this project is (the positions of
   * a package completed first in the same run included), and never before `start`. `tables` (the stages' own, such
   * as persons) go in the same package, read after the last page. Resolves once the destination committed.
   */
  async load(
    pages: (from: LogPositions) => AsyncIterable<IngestEvent[]>,
    start: LogPositions,
    until: LogPositions,
    tables: readonly BatchTable[] = [],
  ): Promise<{ rows: number }> {
    if (this.#hold) return this.loadPrepared(await this.prepare(pages, start, until, tables));
    const info = await this.pipeline.run(this.#source(pages, start, until, tables));
    this.#logLoaded(info.rows, { ...info.durationsMs }, tables);
    return { rows: info.rows.events ?? 0 };
  }

  /**
   * Extracts and normalizes a batch into a package (as `load` does) without loading it: `loadPrepared` loads it,
   * and the next batch can be prepared meanwhile. Needs `hold()`.
   */
  async prepare(
    pages: (from: LogPositions) => AsyncIterable<IngestEvent[]>,
    start: LogPositions,
    until: LogPositions,
    tables: readonly BatchTable[] = [],
  ): Promise<PreparedBatch> {
    if (!this.#hold) throw new Error(`events of ${this.project.dataset}: prepare() needs hold() first`);
    const started = Date.now();
    const pkg = await this.#hold.prepare(this.#source(pages, start, until, tables));
    return { pkg, tables: tables.map((t) => t.name), started };
  }

  /** Loads a prepared batch (and any prepared before it); resolves once the destination committed. */
  async loadPrepared(batch: PreparedBatch): Promise<{ rows: number }> {
    if (!this.#hold) throw new Error(`events of ${this.project.dataset}: loadPrepared() needs hold() first`);
    const t0 = Date.now();
    const loaded = await this.#hold.load(batch.pkg.loadId);
    const now = Date.now();
    const d = batch.pkg.durationsMs;
    this.#logLoaded(
      loaded.rows,
      { ...d, load: now - t0, total: now - batch.started },
      batch.tables.map((name) => ({ name })),
    );
    return { rows: loaded.rows.events ?? 0 };
  }

  #source(
    pages: (from: LogPositions) => AsyncIterable<IngestEvent[]>,
    start: LogPositions,
    until: LogPositions,
    tables: readonly BatchTable[],
  ) {
    const materialize = this.project.materialize;
    const logId = this.#logId;
    const log = this.#log;
    let eventsRead = () => {};
    const afterEvents = new Promise<void>((resolve) => {
      eventsRead = resolve;
    });
    const events = resource(
      {
        name: "events",
        table: "events",
        writeDisposition: "append",
        columns: { ...EVENT_COLUMNS },
        storage: EVENTS_STORAGE,
      },
      async function* (ctx) {
        try {
          const from = latestPositions(start, positionsIn(ctx.state, logId, log));
          ctx.state.positions = until;
          ctx.state.log = logId;
          for await (const page of pages(from))
            if (page.length > 0) yield page.map((e) => eventRow(e, materialize));
        } finally {
          eventsRead();
        }
      },
    );
    const more = tables.map((t) =>
      resource(
        {
          name: t.name,
          table: t.name,
          primaryKey: [...t.primaryKey],
          writeDisposition: t.writeDisposition,
          columns: { ...t.columns },
        },
        async function* () {
          await afterEvents;
          yield* t.rows();
        },
      ),
    );
    return source({ name: "events", resources: [events, ...more] });
  }

  #logLoaded(
    rows: Record<string, number>,
    d: { extract: number; normalize: number; load: number; total: number },
    tables: readonly { name: string }[],
  ): void {
    const extra = tables.map((t) => `${rows[t.name] ?? 0} ${t.name}`).join(", ");
    this.#log.debug(
      `loaded ${rows.events ?? 0} events${extra ? ` (${extra})` : ""} of ${this.project.dataset} in ${d.total} ms: extract ${d.extract}, normalize ${d.normalize}, load ${d.load}; ${memory()}`,
    );
  }
}

/** A batch `EventLoader.prepare` extracted and normalized, waiting for `loadPrepared`. */
export interface PreparedBatch {
  readonly pkg: PreparedPackage;
  /** The stages' tables in the package (for the log line). */
  readonly tables: readonly string[];
  /** When preparing started (ms). */
  readonly started: number;
}
