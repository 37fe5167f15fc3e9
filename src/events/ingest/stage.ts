import type { ColumnHint } from "../../schema/types.js";
import type { CapturedEvent } from "../event.js";
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
}

/**
 * A table a stage loads together with a project's events, in the same load package (`plugin_errors`, ...): its rows
 * and its state commit in the same transaction as the events.
 *
 * @example
 * loader.addTable({ name: "plugin_errors", columns, begin() {}, rows: () => outbox.take(), settled() {} });
 */
export interface StageTable {
  readonly name: string;
  readonly columns: Readonly<Record<string, ColumnHint>>;
  /** A load starts (rows gathered for an earlier, failed one are stale: its events go through the stages again). */
  begin(): void;
  /** The rows to load; called once the load has read all its events (every page went through the stages). */
  rows(): Record<string, unknown>[];
  /** State committed with the rows (the resource state of the table); not called by loads of rows alone. */
  state?(): Record<string, unknown>;
  /**
   * How the load went: `committed` (also said after a recovery that completed a kept package), `failed` before its
   * package was made (its rows are not stored), or `kept`: it failed with its package kept, which the next load or
   * recovery completes (its rows are stored then).
   */
  settled(outcome: "committed" | "failed" | "kept"): void;
  /** Whether rows wait that no batch of events would bring (a load of rows alone is worth it then). */
  pending?(): boolean;
}
