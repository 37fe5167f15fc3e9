import type { ColumnHint, WriteDisposition } from "../../schema/types.js";
import type { CapturedEvent } from "../event.js";
import type { LogPositions } from "../log/event-log.js";
import type { Project } from "../project.js";

/** An event on its way from the log to the destination: what capture stored, plus what stages add. */
export interface IngestEvent extends CapturedEvent {
  /** The person the event's distinct_id belongs to (set by the person stage). */
  person_id?: string | null;
  /** The person's properties as of this event (persons on events). */
  person_properties?: Record<string, unknown> | null;
}

/**
 * One stage of the event path after the log: the events of one project, in log order (one person's events in the
 * order they were captured), are handed through the stages before they are loaded. A stage may change events, drop
 * them (leave them out of what it returns) or add to them. Capture's decode and validate stages run before the log;
 * plugins and persons plug in here.
 *
 * @example
 * const dropBots: EventStage = {
 *   name: "drop-bots",
 *   async process(events) { return events.filter((e) => e.properties.$browser !== "bot"); },
 * };
 */
export interface EventStage {
  readonly name: string;
  process(events: IngestEvent[], project: Project): Promise<IngestEvent[]>;
  /** Called once when the server stops. */
  close?(): Promise<void>;

  // A stage with state of its own that must commit together with the events (persons) takes part in each batch:

  /**
   * A batch of the project's events up to `until` starts (its pages follow through `process`). The tables returned
   * are loaded in the same load package as the batch's events, read after its last event was processed.
   */
  beginBatch?(project: Project, until: LogPositions): Promise<BatchTable[]>;
  /** The destination committed the batch: its events, the stage's tables and the log positions `until`. */
  commitBatch?(project: Project, until: LogPositions): Promise<void>;
  /**
   * At start, and after a batch failed: the destination holds the project's events up to `committed`. The stage
   * brings its own state in line (a batch that did not commit is forgotten: its events are read again).
   */
  recover?(project: Project, committed: LogPositions): Promise<void>;
}

/**
 * A table a stage loads with a batch's events, in the same package (so both commit together).
 *
 * @example
 * const t: BatchTable = { name: "persons", columns: { id: { type: "text" } }, primaryKey: ["id"],
 *   writeDisposition: "merge", async *rows() { yield [{ id: "p1" }]; } };
 */
export interface BatchTable {
  readonly name: string;
  readonly columns: Readonly<Record<string, ColumnHint>>;
  /** The key rows are merged by. */
  readonly primaryKey: readonly string[];
  readonly writeDisposition: WriteDisposition;
  /** The rows, a page at a time. */
  rows(): AsyncIterable<Array<Record<string, unknown>>>;
}
