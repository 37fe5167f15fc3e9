import { FerryError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { BatchTable, EventStage, IngestEvent } from "../ingest/stage.js";
import type { LogPositions } from "../log/event-log.js";
import type { Project } from "../project.js";
import { PersonProcessor, type PersonWarning } from "./person-processor.js";
import type { PersonStore } from "./person-store.js";
import { personTables } from "./person-tables.js";

/** Where a server's person stores come from: one per project, opened when first needed, closed with the server. */
export interface PersonStores {
  open(project: Project): Promise<PersonStore>;
  close(): Promise<void>;
}

interface ProjectPersons {
  store: PersonStore;
  processor: PersonProcessor;
  /** The batch in progress: its end, and the warnings its events raised (logged once it commits). */
  batch?: { until: LogPositions; warnings: PersonWarning[]; events: number; processMs: number };
}

/** Warnings logged per type and batch (the rest are counted). */
const WARNINGS_SHOWN = 3;

/**
 * The persons stage of the event path (after plugins, before the load): PostHog's person and group processing.
 * Each batch's events are stamped with their persons; the persons, distinct ids and groups the batch changed are
 * loaded in the same load package as its events (tables `persons`, `person_distinct_ids`, `groups`); the store
 * applies them only after the destination committed. After a crash, `recover` applies a batch the destination holds
 * and forgets one it does not, so persons always match the events stored.
 *
 * @example
 * const persons = new PersonStage({ stores: sqlitePersonStores(".ferry/_serve"), logger });
 * await startServe(config, { logger, stages: [...pluginStages, persons] });
 */
export class PersonStage implements EventStage {
  readonly name = "persons";
  readonly #stores: PersonStores;
  readonly #log: Logger;
  readonly #projects = new Map<string, ProjectPersons>();

  constructor(options: { stores: PersonStores; logger: Logger }) {
    this.#stores = options.stores;
    this.#log = options.logger;
  }

  async process(events: IngestEvent[], project: Project): Promise<IngestEvent[]> {
    const p = await this.#project(project);
    if (!p.batch) {
      throw new FerryError(
        `persons: events of ${project.dataset} were handed over outside a batch (beginBatch first)`,
      );
    }
    const started = performance.now();
    const kept = await p.processor.processPage(events);
    p.batch.events += events.length;
    p.batch.processMs += performance.now() - started;
    return kept;
  }

  async beginBatch(project: Project, until: LogPositions): Promise<BatchTable[]> {
    const p = await this.#project(project);
    const status = await p.store.status();
    if (status.prepared) {
      // A batch the destination may hold: only `recover`, which knows the destination's positions, may decide.
      throw new FerryError(
        `persons: the store ${p.store.description} holds a prepared batch not yet matched with the destination; recovering first`,
      );
    }
    // Changes of a batch that failed before it was prepared never reached the destination.
    if (status.staged) await p.store.recover(status.positions);
    p.processor.reset();
    const batch = { until, warnings: [] as PersonWarning[], events: 0, processMs: 0 };
    p.batch = batch;
    let prepared: Promise<void> | undefined;
    const prepare = () => {
      prepared ??= p.store.prepare(until);
      return prepared;
    };
    return personTables(p.store, prepare);
  }

  async commitBatch(project: Project, until: LogPositions): Promise<void> {
    const p = await this.#project(project);
    const started = performance.now();
    await p.store.commit(until);
    if (p.batch)
      this.#log.debug(
        `persons of ${project.dataset}: ${p.batch.events} events processed in ${Math.round(p.batch.processMs)} ms, the store committed in ${Math.round(performance.now() - started)} ms`,
      );
    const warnings = p.batch?.warnings ?? [];
    p.batch = undefined;
    this.#report(project, warnings);
  }

  async recover(project: Project, committed: LogPositions): Promise<void> {
    const p = await this.#project(project);
    p.batch = undefined;
    p.processor.reset();
    const outcome = await p.store.recover(committed);
    if (outcome === "applied")
      this.#log.info(
        `persons of ${project.dataset}: applied the batch the destination committed before a stop`,
      );
    if (outcome === "discarded")
      this.#log.info(
        `persons of ${project.dataset}: discarded the changes of a batch that was not loaded (it is processed again)`,
      );
  }

  async close(): Promise<void> {
    for (const p of this.#projects.values()) await p.store.close();
    this.#projects.clear();
    await this.#stores.close();
  }

  async #project(project: Project): Promise<ProjectPersons> {
    let p = this.#projects.get(project.token);
    if (!p) {
      const store = await this.#stores.open(project);
      const entry: ProjectPersons = {
        store,
        processor: new PersonProcessor(project.token, store, (w) => entry.batch?.warnings.push(w)),
      };
      p = entry;
      this.#projects.set(project.token, p);
    }
    return p;
  }

  /** PostHog's ingestion warnings of a committed batch, a few per type (the events are stored by now). */
  #report(project: Project, warnings: PersonWarning[]): void {
    const byType = new Map<string, PersonWarning[]>();
    for (const w of warnings) {
      const list = byType.get(w.type);
      if (list) list.push(w);
      else byType.set(w.type, [w]);
    }
    for (const [type, list] of byType) {
      for (const w of list.slice(0, WARNINGS_SHOWN))
        this.#log.warn(`persons of ${project.dataset}: ${type}: ${w.detail} (event ${w.uuid})`);
      if (list.length > WARNINGS_SHOWN)
        this.#log.warn(
          `persons of ${project.dataset}: ${type}: ${list.length - WARNINGS_SHOWN} more in this batch`,
        );
    }
  }
}
