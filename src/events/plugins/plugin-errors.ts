import { appendFile, mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ColumnHint } from "../../schema/types.js";
import { writeFileAtomic } from "../../util/fs.js";
import type { BatchTable } from "../ingest/stage.js";

/** The `plugin_errors` table of a project's dataset: what plugins failed on, queryable next to the events. */
export const PLUGIN_ERROR_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  /** Stable per failure: a row loaded twice (after a crash) is merged, not doubled. */
  id: { type: "text", nullable: false },
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
  id: string;
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
 * A project's `plugin_errors` rows on their way to the destination, loaded with a batch of its events (a `BatchTable`
 * of the plugin stage). Rows of processEvent belong to the batch being loaded (a batch that fails is read and
 * processed again, which makes them again). Other rows (setup, schedules, export dead letters) are kept in an outbox
 * file, fsynced, until a batch that carried them commits: `addDurable` resolves once they are on disk, and `ask` asks
 * for a batch when no events would bring one. Rows have stable ids and are merged, so a batch loaded twice does not
 * double them.
 *
 * @example
 * const errors = await PluginErrors.open(".ferry/_serve/plugins/errors/web.jsonl");
 * errors.addBatch([row]);                    // during a batch, from the plugin stage
 * await errors.addDurable([deadLetter]);     // on disk now; in the destination with the next batch
 */
export class PluginErrors {
  readonly #path: string;
  #batch: PluginErrorRow[] = [];
  /** Outbox rows, oldest first; the first `#taken` went into the batch in progress. */
  #outbox: PluginErrorRow[];
  #taken = 0;
  /** Asks for a batch of the project (set by the runtime: the consumer loads it even without events). */
  ask: (() => void) | undefined;

  private constructor(path: string, outbox: PluginErrorRow[]) {
    this.#path = path;
    this.#outbox = outbox;
  }

  static async open(path: string): Promise<PluginErrors> {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    // A line a crash cut short was never acknowledged to its writer: it is dropped.
    const rows = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as PluginErrorRow];
        } catch {
          return [];
        }
      });
    return new PluginErrors(path, rows);
  }

  /** processEvent failures of the batch in progress. */
  addBatch(rows: PluginErrorRow[]): void {
    this.#batch.push(...rows);
  }

  /** Rows no batch makes again: written to the outbox (fsynced) before this resolves; loaded with the next batch. */
  async addDurable(rows: PluginErrorRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#serial(async () => {
      await mkdir(dirname(this.#path), { recursive: true });
      await appendFile(this.#path, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
      const fh = await open(this.#path, "r");
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      this.#outbox.push(...rows);
    });
    this.ask?.();
  }

  /** The table of a batch that starts: this batch's processEvent rows and the outbox, read after its last event. */
  batchTable(): BatchTable {
    this.#batch = [];
    this.#taken = 0;
    return {
      name: "plugin_errors",
      columns: PLUGIN_ERROR_COLUMNS,
      primaryKey: ["id"],
      writeDisposition: { disposition: "merge", strategy: "upsert" },
      rows: () => this.#rows(),
    };
  }

  async *#rows(): AsyncGenerator<Record<string, unknown>[]> {
    this.#taken = this.#outbox.length;
    const rows = [...this.#batch, ...this.#outbox];
    if (rows.length > 0) yield rows as unknown as Record<string, unknown>[];
  }

  /** The batch committed: its rows are stored; the outbox keeps only what came after. */
  async committed(): Promise<void> {
    this.#batch = [];
    const taken = this.#taken;
    this.#taken = 0;
    if (taken === 0) return;
    // Rows added meanwhile are appended to the file and the list one at a time, never while it is rewritten.
    await this.#serial(async () => {
      this.#outbox = this.#outbox.slice(taken);
      await writeFileAtomic(this.#path, this.#outbox.map((r) => `${JSON.stringify(r)}\n`).join(""));
    });
  }

  #io: Promise<unknown> = Promise.resolve();

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#io.then(task, task);
    this.#io = run.catch(() => undefined);
    return run;
  }

  /** The batch did not commit (it is read again): its rows are made again; the outbox goes with the next one. */
  reset(): void {
    this.#batch = [];
    this.#taken = 0;
  }

  /** Whether the outbox holds rows waiting for a batch. */
  pending(): boolean {
    return this.#outbox.length > 0;
  }

  /** Outbox rows not stored yet (for tests). */
  unstored(): number {
    return this.#outbox.length;
  }
}
