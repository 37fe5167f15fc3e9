import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { setting } from "../config/settings.js";
import type {
  Destination,
  DestinationClient,
  MaintenanceResult,
  OptimizeOptions,
  VacuumOptions,
} from "../destinations/destination.js";
import { DEFAULT_RETRY, type RetryPolicy, retryTransient } from "../load/loader.js";
import type { LoadPackage } from "../package/load-package.js";
import { PackageStore } from "../package/package-store.js";
import type { PipelineState } from "../package/state.js";
import type { SchemaChange } from "../schema/schema.js";
import type { StoredSchema } from "../schema/types.js";
import { brand, isKind } from "../util/brand.js";
import { FerryError, isFerryError } from "../util/errors.js";
import { consoleLogger, type Logger } from "../util/log.js";
import { addCounts, type PipelineContext } from "./context.js";
import { Dataset } from "./dataset.js";
import { resolveDestination } from "./destination-url.js";
import { type ExtractInfo, extractStep } from "./extract-step.js";
import { PipelineHold } from "./hold.js";
import type { LoadInfo, ProgressEvent } from "./load-info.js";
import { type LoadStepInfo, loadStep } from "./load-step.js";
import { LocalStateStore } from "./local-state.js";
import { acquirePipelineLock } from "./lock.js";
import { dropEverything, prepareWorkingDir, restoreFromDestination } from "./maintenance.js";
import { type NormalizeInfo, NormalizeWhileExtracting, normalizeStep } from "./normalize-step.js";
import type { RunData, RunOptions } from "./run-data.js";
import { maintainTables } from "./table-maintenance.js";
import { loadTrace, saveTrace, type Trace, TraceRecorder } from "./trace.js";

export type { ExtractInfo, LoadStepInfo, NormalizeInfo, PipelineHold };

export interface PipelineOptions {
  name: string;
  /** A destination URL (`duckdb`, `duckdb:file.duckdb`, ...) or a destination object. Default `duckdb`. */
  destination?: string | Destination;
  /** Dataset (schema in a database, folder in a file store). Default: the pipeline name. */
  dataset?: string;
  /** Where pipelines keep their working dirs. Default `$FERRY_PIPELINES_DIR` or `.ferry`. */
  dir?: string;
  logger?: Logger;
  onProgress?: (event: ProgressEvent) => void;
  retry?: RetryPolicy;
  /** Size at which load files rotate. */
  maxFileBytes?: number;
  /**
   * Worker threads that normalize a package's extracted files in parallel: default the machine's cores (at most 4),
   * or `FERRY_NORMALIZE_WORKERS`; 1 normalizes on the main thread. Packages of one extracted file (16 MB) never
   * start workers. Measured on 2 cores: normalize 1.7x faster on 1M events. When workers infer different types for
   * a column first seen after the first file, the package is normalized again on one thread (correct, but slower).
   */
  normalizeWorkers?: number;
}

/**
 * Moves data from sources into a destination: `run()` = extract, normalize, load. State, schema and load
 * packages live in `<dir>/<name>/` and in the destination's system tables.
 *
 * @example
 * const p = pipeline({ name: "gh", destination: "duckdb:gh.duckdb", dataset: "github" });
 * const info = await p.run(source({ name: "github", resources: [issues] }));
 * console.log(info.rows); // { issues: 120, issues__labels: 310 }
 */
export class Pipeline {
  readonly name: string;
  readonly options: Readonly<PipelineOptions>;
  readonly datasetName: string;
  readonly dir: string;
  readonly #destinationSpec: string | Destination;
  #destination: Destination | undefined;
  readonly #log: Logger;
  readonly #store: PackageStore;
  readonly #local: LocalStateStore;
  readonly #ctx: PipelineContext;
  #warnings: string[] = [];
  #state: PipelineState | undefined;
  #schema: StoredSchema | undefined;
  #lastTrace: Trace | undefined;

  constructor(options: PipelineOptions) {
    if (!options.name || !/^[\w.-]+$/.test(options.name)) {
      throw new FerryError(`invalid pipeline name ${JSON.stringify(options.name)}`, {
        hint: "use letters, digits, '_', '-' and '.'",
      });
    }
    this.name = options.name;
    this.options = Object.freeze({ ...options });
    this.datasetName = options.dataset ?? options.name;
    this.dir = resolve(options.dir ?? setting("pipelinesDir"), options.name);
    this.#destinationSpec = options.destination ?? "duckdb";
    this.#log = options.logger ?? consoleLogger(setting("logLevel"));
    this.#store = new PackageStore(this.dir);
    this.#local = new LocalStateStore(this.dir);
    const self = this;
    this.#ctx = {
      name: this.name,
      datasetName: this.datasetName,
      dir: this.dir,
      store: this.#store,
      local: this.#local,
      log: this.#log,
      retry: options.retry,
      maxFileBytes: options.maxFileBytes,
      normalizeWorkers: options.normalizeWorkers ?? setting("normalizeWorkers"),
      get warnings() {
        return self.#warnings;
      },
      emit: (e) => options.onProgress?.(e),
      destination: () => this.destination(),
      connect: () => this.#connect(),
      committedState: () => this.#state,
      refresh: () => this.refresh(),
    };
  }

  /** The committed state as of the last operation (undefined before the first one). */
  get state(): PipelineState | undefined {
    return this.#state;
  }
  /** The default schema as of the last operation. */
  get schema(): StoredSchema | undefined {
    return this.#schema;
  }
  get lastTrace(): Trace | undefined {
    return this.#lastTrace;
  }

  async destination(): Promise<Destination> {
    this.#destination ??= await resolveDestination(this.#destinationSpec, this.name);
    return this.#destination;
  }

  /** Read access to the loaded data. */
  dataset(): Dataset {
    return new Dataset(() => this.destination(), this.datasetName, this.name, this.#log);
  }

  /**
   * Extracts, normalizes and loads. Pending packages of an interrupted earlier run are completed first.
   * Without data, only pending work is done.
   */
  async run(data?: RunData, options: RunOptions = {}): Promise<LoadInfo> {
    const trace = new TraceRecorder(this.name);
    const started = Date.now();
    const release = await this.#lock();
    let extracted: ExtractInfo | undefined;
    const rows: Record<string, number> = {};
    const loadIds: string[] = [];
    const changes: SchemaChange[] = [];
    const pendingCompleted: string[] = [];
    this.#warnings = [];
    const ctx = this.#ctx;
    let streaming: NormalizeWhileExtracting | undefined;
    try {
      await trace.step("restore", () => prepareWorkingDir(ctx));
      const pending = await this.#store.list();
      if (pending.length > 0) {
        const ids = pending.map((p) => p.loadId);
        this.#log.warn(
          `completing ${ids.length} pending load package(s) from an earlier run (${ids.join(", ")}) before extracting new data`,
        );
        ctx.emit({ stage: "load", event: "start", detail: `completing ${ids.length} pending package(s)` });
        const n = await trace.step("normalize", () => normalizeStep(ctx));
        changes.push(...n.schemaChanges);
        const l = await trace.step("load", () => loadStep(ctx));
        addCounts(rows, l.rows);
        loadIds.push(...l.loadIds);
        pendingCompleted.push(...l.loadIds);
      }
      if (data !== undefined) {
        // run() normalizes right after extracting: big packages start normalizing while they are extracted
        // (FERRY_STREAM_NORMALIZE=0 turns that off).
        if (setting("streamNormalize")) streaming = new NormalizeWhileExtracting(ctx);
        extracted = await trace.step("extract", () => extractStep(ctx, data, options, streaming));
        const n = await trace.step("normalize", () => normalizeStep(ctx, streaming));
        changes.push(...n.schemaChanges);
        const l = await trace.step("load", () => loadStep(ctx));
        addCounts(rows, l.rows);
        loadIds.push(...l.loadIds);
      }
      const info: LoadInfo = {
        pipeline: this.name,
        destination: (await this.destination()).description,
        dataset: this.datasetName,
        loadId: extracted?.loadId,
        loadIds,
        pendingCompleted,
        items: extracted?.items ?? {},
        rows,
        schemaChanges: changes,
        schemaVersion: this.#schema?.version,
        warnings: [...this.#warnings],
        durationsMs: {
          extract: trace.duration("extract"),
          normalize: trace.duration("normalize"),
          load: trace.duration("load"),
          total: Date.now() - started,
        },
        startedAt: new Date(started).toISOString(),
        finishedAt: new Date().toISOString(),
      };
      trace.trace.loadInfo = info;
      return info;
    } catch (err) {
      trace.trace.error = {
        message: String((err as Error)?.message ?? err),
        ...(isFerryError(err) ? { code: err.code, ...(err.hint ? { hint: err.hint } : {}) } : {}),
      };
      throw err;
    } finally {
      // Workers of a package normalized while extracting that the run did not get to (it failed first) stop here;
      // the package itself is normalized again by the next run.
      await streaming?.close();
      trace.trace.finishedAt = new Date().toISOString();
      this.#lastTrace = trace.trace;
      await mkdir(this.dir, { recursive: true });
      await saveTrace(this.dir, trace.trace).catch(() => undefined);
      await release();
    }
  }

  /**
   * Takes the pipeline for a long-running producer until `release()`: the next package is prepared (extracted and
   * normalized) while the ones before it load. Other operations of this pipeline fail as busy meanwhile.
   *
   * @example
   * const hold = await p.hold();
   * const pkg = await hold.prepare(rows, { table: "events" });
   * await hold.load(pkg.loadId);
   * await hold.release();
   */
  async hold(): Promise<PipelineHold> {
    const release = await this.#lock();
    try {
      await prepareWorkingDir(this.#ctx);
    } catch (err) {
      await release();
      throw err;
    }
    return new PipelineHold(this.#ctx, release);
  }

  /** Extract only: writes a new load package (stage "extracted"). */
  extract(data: RunData, options: RunOptions = {}): Promise<ExtractInfo> {
    return this.#locked(() => extractStep(this.#ctx, data, options));
  }

  /** Normalizes every extracted package. */
  normalize(): Promise<NormalizeInfo> {
    return this.#locked(() => normalizeStep(this.#ctx));
  }

  /** Loads every normalized package, oldest first. */
  load(): Promise<LoadStepInfo> {
    return this.#locked(() => loadStep(this.#ctx));
  }

  /** Reads the committed state and schema from the working dir (refreshes `state` and `schema`). */
  async refresh(): Promise<void> {
    this.#state = await this.#local.readState();
    const name = this.#state?.defaultSchema;
    this.#schema = name ? await this.#local.readSchema(name) : undefined;
  }

  /** The stored trace of the last run (also after a restart). */
  async readTrace(): Promise<Trace | undefined> {
    return this.#lastTrace ?? (await loadTrace(this.dir));
  }

  /** Load packages waiting in the working dir, and the failed ones kept for inspection. */
  async packages(): Promise<{ pending: LoadPackage[]; failed: LoadPackage[] }> {
    return { pending: await this.#store.list(), failed: await this.#store.listFailed() };
  }

  /**
   * Replaces the local state and schemas with the ones stored in the destination (for a new machine,
   * or after the working dir was lost).
   */
  async syncFromDestination(): Promise<boolean> {
    const release = await this.#lock();
    try {
      return await restoreFromDestination(this.#ctx, true);
    } finally {
      await release();
    }
  }

  /**
   * Drops everything this pipeline loaded: its tables in the destination (all schemas), the system tables when
   * nothing else is left in the dataset, and the local working dir.
   */
  async drop(): Promise<{ droppedTables: string[] }> {
    const release = await this.#lock();
    try {
      const droppedTables = await dropEverything(this.#ctx);
      this.#state = undefined;
      this.#schema = undefined;
      return { droppedTables };
    } finally {
      await release();
    }
  }

  /**
   * Compacts the small data files of the pipeline's Delta tables into files of about the target size (one commit
   * per table that changes no data). Readers keep reading older versions until a vacuum.
   *
   * @example
   * const [users] = await p.optimize({ tables: ["users"] });
   */
  async optimize(options: OptimizeOptions = {}): Promise<MaintenanceResult[]> {
    const release = await this.#lock();
    try {
      return await maintainTables(this.#ctx, (m, tables) =>
        m.optimize({ ...options, tables: options.tables ?? tables }),
      );
    } finally {
      await release();
    }
  }

  /**
   * Deletes the data files the pipeline's Delta tables no longer use: removed longer ago than the retention
   * (default 168 hours; lower only with `force`), or never committed (a failed load's). `dryRun` only counts them.
   *
   * @example
   * await p.vacuum({ retentionHours: 24, force: true });
   */
  async vacuum(options: VacuumOptions = {}): Promise<MaintenanceResult[]> {
    const release = await this.#lock();
    try {
      return await maintainTables(this.#ctx, (m, tables) =>
        m.vacuum({ ...options, tables: options.tables ?? tables }),
      );
    } finally {
      await release();
    }
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.#lock();
    try {
      await prepareWorkingDir(this.#ctx);
      return await fn();
    } finally {
      await release();
    }
  }

  async #lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    return acquirePipelineLock(this.dir, this.name);
  }

  async #connect(): Promise<DestinationClient> {
    const d = await this.destination();
    // A destination busy with another process (DuckDB's file lock) is transient: retry like a load attempt.
    return retryTransient(
      `connecting to ${d.description}`,
      () => d.connect({ dataset: this.datasetName, pipelineName: this.name, logger: this.#log }),
      this.#ctx.retry ?? DEFAULT_RETRY,
      this.#log,
    );
  }
}
// Lets tools recognise pipelines created by another copy of the package.
brand(Pipeline, "pipeline");

/**
 * Creates a pipeline. No I/O happens until the first operation.
 *
 * @example
 * const p = pipeline({ name: "quickstart", destination: "duckdb:quickstart.duckdb" });
 * await p.run([{ id: 1, tags: ["a", "b"] }], { table: "things" });
 */
export function pipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}

/** True for pipelines, also those created by another copy of the package (e.g. a user module's own import). */
export function isPipeline(x: unknown): x is Pipeline {
  return isKind(x, "pipeline");
}
