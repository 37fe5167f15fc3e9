import type { EventStage, IngestEvent } from "../../ingest/stage.js";
import type { EventLog } from "../../log/event-log.js";
import type { Project } from "../../project.js";

/**
 * The last stage of the event path when a project has export plugins (onEvent, composeWebhook): its events, as they
 * will be stored (after plugins and persons), are appended to the export log before their load commits. The export
 * consumers deliver them once the load committed (the export log's end is committed with the events, see
 * `PluginRuntime`), each from its own position: a crash loses no export, and an event replayed after a failed load
 * is not appended twice (the export log drops uuids it holds).
 *
 * @example
 * const stage = new ExportStage(exportLog, new Set(["phc_x"]));
 */
export class ExportStage implements EventStage {
  readonly name = "plugin-exports";
  readonly #log: EventLog;
  readonly #tokens: ReadonlySet<string>;

  constructor(log: EventLog, tokens: ReadonlySet<string>) {
    this.#log = log;
    this.#tokens = tokens;
  }

  async process(events: IngestEvent[], project: Project): Promise<IngestEvent[]> {
    if (events.length === 0 || !this.#tokens.has(project.token)) return events;
    // The log reads a record's uuid from the start of its JSON: uuid must come first (it does in captured events,
    // and stages keep the key order when they copy one).
    await this.#log.append(events.map(uuidFirst));
    return events;
  }
}

function uuidFirst(e: IngestEvent): IngestEvent {
  if (Object.keys(e)[0] === "uuid") return e;
  const { uuid, ...rest } = e;
  return { uuid, ...rest };
}
