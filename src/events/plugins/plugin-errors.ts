import type { ColumnHint } from "../../schema/types.js";
import type { StageTable } from "../ingest/stage.js";

/** The `plugin_errors` table of a project's dataset: what plugins failed on, queryable next to the events. */
export const PLUGIN_ERROR_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  occurred_at: { type: "timestamp", nullable: false },
  plugin: { type: "text", nullable: false },
  hook: { type: "text", nullable: false },
  event_uuid: { type: "text" },
  error: { type: "text", nullable: false },
  /** processEvent: the plugin's on_error (pass, drop, dead_letter); exports: dead_letter; setup and schedules: null. */
  action: { type: "text" },
  /** Export deliveries: how many attempts were made. */
  attempts: { type: "bigint" },
  /** The event as the plugin got it, for dead letters (to replay them). */
  event: { type: "json" },
};

/** A row of `plugin_errors`. */
export interface PluginErrorRow {
  occurred_at: string;
  plugin: string;
  hook: string;
  event_uuid: string | null;
  error: string;
  action: "pass" | "drop" | "dead_letter" | null;
  attempts: number | null;
  event: unknown;
}

/**
 * A project's `plugin_errors` rows on their way to the destination, loaded with the events (a `StageTable`). Rows of
 * processEvent come from the batch being loaded (a failed load drops them: its events go through the plugins again);
 * other rows (setup, schedules, export dead letters) wait for whichever load comes next, and `addDurable` resolves once
 * they are committed.
 *
 * @example
 * errors.addBatch([row]);                 // during a load, from the plugin stage
 * await errors.addDurable([deadLetter]);  // resolves once in the destination
 */
export class PluginErrorTable implements StageTable {
  readonly name = "plugin_errors";
  readonly columns = PLUGIN_ERROR_COLUMNS;
  #batch: PluginErrorRow[] = [];
  #waiting: { row: PluginErrorRow; done?: () => void }[] = [];
  #taken: { row: PluginErrorRow; done?: () => void }[] = [];
  /** Rows in a package a failed load kept: stored when the next run completes it. */
  #kept: { row: PluginErrorRow; done?: () => void }[] = [];
  readonly #state: (() => Record<string, unknown>) | undefined;
  readonly #onCommit: (() => void) | undefined;
  /** Asks for a load of the rows alone (when no events would bring them). */
  requestLoad: (() => void) | undefined;

  constructor(options: { state?: () => Record<string, unknown>; onCommit?: () => void } = {}) {
    this.#state = options.state;
    this.#onCommit = options.onCommit;
  }

  addBatch(rows: PluginErrorRow[]): void {
    this.#batch.push(...rows);
  }

  /** Queues rows that no retry would make again; resolves once a load committed them. */
  addDurable(rows: PluginErrorRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      for (const [i, row] of rows.entries())
        this.#waiting.push({ row, done: i === rows.length - 1 ? resolve : undefined });
    });
    this.requestLoad?.();
    return done;
  }

  /** Queues rows without waiting for them. */
  add(rows: PluginErrorRow[]): void {
    void this.addDurable(rows);
  }

  begin(): void {
    this.#batch = [];
  }

  rows(): Record<string, unknown>[] {
    this.#taken = this.#waiting;
    this.#waiting = [];
    const rows = [...this.#batch, ...this.#taken.map((w) => w.row)];
    this.#batch = [];
    return rows as unknown as Record<string, unknown>[];
  }

  state(): Record<string, unknown> {
    return this.#state?.() ?? {};
  }

  settled(outcome: "committed" | "failed" | "kept"): void {
    const taken = this.#taken;
    this.#taken = [];
    this.#batch = [];
    if (outcome === "failed") {
      this.#waiting.unshift(...taken);
    } else if (outcome === "kept") {
      this.#kept.push(...taken);
    } else {
      const stored = [...this.#kept, ...taken];
      this.#kept = [];
      for (const t of stored) t.done?.();
      this.#onCommit?.();
    }
  }

  pending(): boolean {
    return this.#waiting.length > 0;
  }

  /** Rows queued with `add`/`addDurable` that are not committed yet. */
  unstored(): number {
    return this.#waiting.length + this.#taken.length + this.#kept.length;
  }
}
