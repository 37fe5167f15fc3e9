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
