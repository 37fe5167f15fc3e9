import type { BatchTable, EventStage, IngestEvent } from "../../ingest/stage.js";
import type { EventLog, LogPositions } from "../../log/event-log.js";
import type { Project } from "../../project.js";

/** An event in the export log: as stored, with the event log positions its batch ends at. */
export interface ExportRecord extends IngestEvent {
  /** Deliverable once the destination holds the project's events up to these positions (the batch committed). */
  export_until: LogPositions;
}

/**
 * The last stage of the event path when a project has export plugins (onEvent, composeWebhook): its events, as they
 * will be stored (after plugins and persons), are appended to the export log before their batch loads, each with the
 * positions the batch ends at. The export consumers deliver an event once the destination's committed positions
 * reach those (the batch committed), each from its own position: a crash loses no export, and an event of a batch
 * read again after a failure is not appended twice (the export log drops uuids it holds).
 *
 * @example
 * const stage = new ExportStage(exportLog, new Set(["phc_x"]));
 */
export class ExportStage implements EventStage {
  readonly name = "plugin-exports";
  readonly #log: EventLog;
  readonly #tokens: ReadonlySet<string>;
  readonly #until = new Map<string, LogPositions>();

  constructor(log: EventLog, tokens: ReadonlySet<string>) {
    this.#log = log;
    this.#tokens = tokens;
  }

  async beginBatch(project: Project, until: LogPositions): Promise<BatchTable[]> {
    this.#until.set(project.token, { ...until });
    return [];
  }

  async process(events: IngestEvent[], project: Project): Promise<IngestEvent[]> {
    if (events.length === 0 || !this.#tokens.has(project.token)) return events;
    const until = this.#until.get(project.token);
    if (!until) throw new Error(`exports: events of ${project.dataset} came outside a batch`);
    // The log reads a record's uuid from the start of its JSON: uuid comes first.
    await this.#log.append(events.map((e) => exportRecord(e, until)));
    return events;
  }
}

function exportRecord(e: IngestEvent, until: LogPositions): ExportRecord {
  const { uuid, ...rest } = e;
  return { uuid, ...rest, export_until: until };
}

/** Whether `committed` reaches `until` in every partition. */
export function reaches(committed: LogPositions, until: LogPositions): boolean {
  for (const [p, v] of Object.entries(until)) if ((committed[Number(p)] ?? 0) < v) return false;
  return true;
}
