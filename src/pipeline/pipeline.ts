import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Destination, DestinationClient } from "../destinations/destination.js";
import { extractSource } from "../extract/extractor.js";
import { DEFAULT_RETRY, loadNormalizedPackage, type RetryPolicy, retryTransient } from "../load/loader.js";
import { type LoadPackage, PackageStore } from "../load/package.js";
import { normalizeFiles } from "../normalize/normalize-files.js";
import { Schema, type SchemaChange } from "../schema/schema.js";
import type { StoredSchema } from "../schema/types.js";
import { DataError, FerryError, LoadPackageFailedError, SchemaContractError } from "../util/errors.js";
import { newLoadId } from "../util/hash.js";
import { FERRY_KIND, kindOf } from "../util/kind.js";
import { consoleLogger, type Logger, logLevelFromEnv } from "../util/log.js";
import { Dataset } from "./dataset.js";
import { resolveDestination } from "./destination-url.js";
import { PackageExtractSink } from "./extract-sink.js";
import type { LoadInfo, ProgressEvent } from "./load-info.js";
import { acquirePipelineLock } from "./lock.js";
import { emptyState, LocalStateStore, type PipelineState } from "./pipeline-state.js";
import { type RunData, type RunOptions, toSource } from "./run-data.js";
import { loadTrace, saveTrace, type Trace, TraceRecorder } from "./trace.js";

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
}

export interface ExtractInfo {
  loadId: string;
  items: Record<string, number>;
}

export interface NormalizeInfo {
  loadIds: string[];
  rows: Record<string, number>;
  schemaChanges: SchemaChange[];
  warnings: string[];
}

export interface LoadStepInfo {
  loadIds: string[];
  rows: Record<string, number>;
}

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

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
  /** Lets tools recognise pipelines created by another copy of the package. */
  readonly [FERRY_KIND] = "pipeline";
  readonly name: string;
  readonly options: Readonly<PipelineOptions>;
  readonly datasetName: string;
  readonly dir: string;
  readonly #destinationSpec: string | Destination;
  #destination: Destination | undefined;
  readonly #log: Logger;
  readonly #onProgress: ((e: ProgressEvent) => void) | undefined;
  readonly #retry: RetryPolicy | undefined;
  readonly #maxFileBytes: number | undefined;
  readonly #store: PackageStore;
  readonly #local: LocalStateStore;
  #state: PipelineState | undefined;
  #schema: StoredSchema | undefined;
  #lastTrace: Trace | undefined;
  #warnings: string[] = [];

  constructor(options: PipelineOptions) {
    if (!options.name || !/^[\w.-]+$/.test(options.name)) {
      throw new FerryError(`invalid pipeline name ${JSON.stringify(options.name)}`, {
        hint: "use letters, digits, '_', '-' and '.'",
      });
    }
    this.name = options.name;
    this.options = Object.freeze({ ...options });
    this.datasetName = options.dataset ?? options.name;
    this.dir = resolve(options.dir ?? process.env.FERRY_PIPELINES_DIR ?? ".ferry", options.name);
    this.#destinationSpec = options.destination ?? "duckdb";
    this.#log = options.logger ?? consoleLogger(logLevelFromEnv());
    this.#onProgress = options.onProgress;
    this.#retry = options.retry;
    this.#maxFileBytes = options.maxFileBytes;
    this.#store = new PackageStore(this.dir);
    this.#local = new LocalStateStore(this.dir);
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
    try {
      await trace.step("restore", () => this.#prepare());
      const pending = await this.#store.list();
      if (pending.length > 0) {
        const ids = pending.map((p) => p.loadId);
        this.#log.warn(
          `completing ${ids.length} pending load package(s) from an earlier run (${ids.join(", ")}) before extracting new data`,
        );
        this.#emit({ stage: "load", event: "start", detail: `completing ${ids.length} pending package(s)` });
        const n = await trace.step("normalize", () => this.#normalizeAll());
        changes.push(...n.schemaChanges);
        const l = await trace.step("load", () => this.#loadAll());
        addCounts(rows, l.rows);
        loadIds.push(...l.loadIds);
        pendingCompleted.push(...l.loadIds);
      }
      if (data !== undefined) {
        extracted = await trace.step("extract", () => this.#extract(data, options));
        const n = await trace.step("normalize", () => this.#normalizeAll());
        changes.push(...n.schemaChanges);
        const l = await trace.step("load", () => this.#loadAll());
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
        ...(err instanceof FerryError ? { code: err.code, ...(err.hint ? { hint: err.hint } : {}) } : {}),
      };
      throw err;
    } finally {
      trace.trace.finishedAt = new Date().toISOString();
      this.#lastTrace = trace.trace;
      await mkdir(this.dir, { recursive: true });
      await saveTrace(this.dir, trace.trace).catch(() => undefined);
      await release();
    }
  }

  /** Extract only: writes a new load package (stage "extracted"). */
  async extract(data: RunData, options: RunOptions = {}): Promise<ExtractInfo> {
    const release = await this.#lock();
    try {
      await this.#prepare();
      return await this.#extract(data, options);
    } finally {
      await release();
    }
  }

  /** Normalizes every extracted package. */
  async normalize(): Promise<NormalizeInfo> {
    const release = await this.#lock();
    try {
      await this.#prepare();
      return await this.#normalizeAll();
    } finally {
      await release();
    }
  }

  /** Loads every normalized package, oldest first. */
  async load(): Promise<LoadStepInfo> {
    const release = await this.#lock();
    try {
      await this.#prepare();
      return await this.#loadAll();
    } finally {
      await release();
    }
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
      return await this.#restoreFromDestination(true);
    } finally {
      await release();
    }
  }

  /**
   * Drops everything this pipeline loaded: its tables in the destination (all schemas), its system tables'
   * rows for this pipeline, and the local working dir.
   */
  async drop(): Promise<{ droppedTables: string[] }> {
    const release = await this.#lock();
    const dropped: string[] = [];
    try {
      await this.refresh();
      const client = await this.#connect();
      try {
        const existing = new Set(await client.listTables());
        for (const name of this.#state?.schemaNames ?? []) {
          const schema = (await this.#local.readSchema(name)) ?? (await client.getStoredSchema(name));
          const tables = Object.values(schema?.tables ?? {})
            .map((t) => t.name)
            .reverse();
          const present = tables.filter((t) => existing.has(t));
          await client.dropTables(present);
          dropped.push(...present);
        }
        const system = ["_ferry_loads", "_ferry_version", "_ferry_pipeline_state"].filter((t) =>
          existing.has(t),
        );
        const others = [...existing].filter((t) => !dropped.includes(t) && !system.includes(t));
        // System tables are shared by every pipeline of the dataset: drop them only when nothing else is left.
        if (others.length === 0) {
          await client.dropTables(system);
          dropped.push(...system);
        }
      } finally {
        await client.close();
      }
    } finally {
      await release();
    }
    const { rm } = await import("node:fs/promises");
    await rm(this.dir, { recursive: true, force: true });
    this.#state = undefined;
    this.#schema = undefined;
    return { droppedTables: dropped };
  }

  async #lock(): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true });
    return acquirePipelineLock(this.dir, this.name);
  }

  #emit(e: ProgressEvent): void {
    this.#onProgress?.(e);
  }

  /** Drops packages whose extraction never finished; restores state from the destination on a new machine. */
  async #prepare(): Promise<void> {
    for (const pkg of await this.#store.list()) {
      if ((await pkg.stage()) === "extracting") {
        this.#log.warn(
          `discarding load package ${pkg.loadId}: its extraction was interrupted (it will be extracted again)`,
        );
        await pkg.remove();
      }
    }
    await this.refresh();
    if (!this.#state && (await this.#store.list()).length === 0) await this.#restoreFromDestination(false);
  }

  async #restoreFromDestination(force: boolean): Promise<boolean> {
    const client = await this.#connect();
    try {
      const stored = await client.getStoredState(this.name);
      if (!stored) {
        if (force) this.#log.warn(`destination has no state for pipeline "${this.name}"`);
        return false;
      }
      const state = JSON.parse(stored.state) as PipelineState;
      for (const name of state.schemaNames) {
        const schema = await client.getStoredSchema(name);
        if (schema) await this.#local.writeSchema(schema);
      }
      await this.#local.writeState(state);
      this.#log.info(
        `restored state and schema of pipeline "${this.name}" from the destination (load ${stored.loadId})`,
      );
      await this.refresh();
      return true;
    } finally {
      await client.close();
    }
  }

  async #connect(): Promise<DestinationClient> {
    const d = await this.destination();
    // A destination busy with another process (DuckDB's file lock) is transient: retry like a load attempt.
    return retryTransient(
      `connecting to ${d.description}`,
      () => d.connect({ dataset: this.datasetName, pipelineName: this.name, logger: this.#log }),
      this.#retry ?? DEFAULT_RETRY,
      this.#log,
    );
  }

  /** The state extraction starts from: the newest pending package's, else the committed one. */
  async #baseState(): Promise<PipelineState> {
    const pending = await this.#store.list();
    for (let i = pending.length - 1; i >= 0; i--) {
      const s = await pending[i]?.state();
      if (s) return s as unknown as PipelineState;
    }
    return this.#state ?? emptyState(this.name);
  }

  async #extract(data: RunData, options: RunOptions): Promise<ExtractInfo> {
    const src = toSource(data, options, this.name);
    const base = await this.#baseState();
    const loadId = newLoadId();
    const pkg = await this.#store.create(loadId);
    const sink = new PackageExtractSink(pkg.extractedDir);
    this.#emit({ stage: "extract", event: "start", loadId });
    const controller = new AbortController();
    try {
      const result = await extractSource(src, {
        sink,
        resourceStates: base.sources[src.name]?.resources ?? {},
        signal: controller.signal,
        log: this.#log,
        ...(options.schemaContract !== undefined ? { schemaContract: options.schemaContract } : {}),
        onProgress: (p) => this.#emit({ stage: "extract", resource: p.resource, items: p.items }),
      });
      const files = await sink.close();
      const warnings = sink.warnings();
      for (const w of warnings) this.#log.warn(w);
      this.#warnings.push(...warnings);
      const destination = await this.destination();
      const state: PipelineState = {
        ...base,
        pipelineName: this.name,
        version: base.version + 1,
        destination: destination.url,
        dataset: this.datasetName,
        defaultSchema: base.defaultSchema ?? src.name,
        schemaNames: base.schemaNames.includes(src.name) ? base.schemaNames : [...base.schemaNames, src.name],
        sources: { ...base.sources, [src.name]: { resources: result.resourceStates } },
        lastLoadId: loadId,
      };
      await pkg.writeState(state);
      await pkg.writeManifest({
        loadId,
        pipelineName: this.name,
        schemaName: src.name,
        createdAt: new Date().toISOString(),
        tables: sink.tables,
        files,
        items: result.items,
        warnings,
      });
      this.#emit({ stage: "extract", event: "end", loadId });
      return { loadId, items: result.items };
    } catch (err) {
      controller.abort();
      await sink.close().catch(() => undefined);
      await pkg.remove();
      throw err;
    }
  }

  /** The schema a package normalizes against: the newest normalized pending package's, else the committed one. */
  async #schemaBefore(schemaName: string, pkg: LoadPackage): Promise<Schema> {
    const pending = await this.#store.list();
    for (let i = pending.length - 1; i >= 0; i--) {
      const p = pending[i]!;
      if (p.loadId >= pkg.loadId) continue;
      const s = await p.schema();
      if (s?.name === schemaName) return Schema.fromStored(s);
    }
    const committed = await this.#local.readSchema(schemaName);
    return committed ? Schema.fromStored(committed) : Schema.empty(schemaName);
  }

  async #normalizeAll(): Promise<NormalizeInfo> {
    const info: NormalizeInfo = { loadIds: [], rows: {}, schemaChanges: [], warnings: [] };
    const destination = await this.destination();
    for (const pkg of await this.#store.list()) {
      if ((await pkg.stage()) !== "extracted") continue;
      const manifest = (await pkg.manifest())!;
      const schema = await this.#schemaBefore(manifest.schemaName, pkg);
      const outDir = await pkg.resetNormalizing();
      this.#emit({ stage: "normalize", event: "start", loadId: pkg.loadId });
      const result = await normalizeFiles({
        inputs: Object.entries(manifest.tables).map(([table, hints]) => ({
          table,
          hints,
          files: (manifest.files[table] ?? []).map((f) => join(pkg.extractedDir, f)),
        })),
        schema,
        loadId: pkg.loadId,
        outDir,
        maxIdentifierLength: destination.capabilities.maxIdentifierLength,
        ...(this.#maxFileBytes ? { maxFileBytes: this.#maxFileBytes } : {}),
        onProgress: (table, items) => this.#emit({ stage: "normalize", table, items, loadId: pkg.loadId }),
      }).catch(async (err: unknown) => {
        // Data the contract rejects fails the same way every time: set the package aside so the next run
        // (with a changed contract or fixed data) is not blocked by it. Its state was never committed.
        if (err instanceof SchemaContractError || err instanceof DataError) {
          const moved = await this.#store.markFailed(pkg);
          this.#log.error(
            `load package ${pkg.loadId} was rejected while normalizing; its files are kept in ${moved.dir}`,
          );
        }
        throw err;
      });
      schema.bumpVersion();
      const rows = Object.fromEntries(Object.entries(result.index.tables).map(([t, v]) => [t, v.rows]));
      await pkg.commitNormalized(schema.toStored(), {
        index: result.index,
        schemaChanges: result.schemaChanges,
        warnings: result.stats.warnings,
        rows,
      });
      for (const w of result.stats.warnings) this.#log.warn(w);
      this.#warnings.push(...result.stats.warnings);
      info.loadIds.push(pkg.loadId);
      addCounts(info.rows, rows);
      info.schemaChanges.push(...result.schemaChanges);
      info.warnings.push(...result.stats.warnings);
      this.#emit({ stage: "normalize", event: "end", loadId: pkg.loadId });
    }
    return info;
  }

  async #loadAll(): Promise<LoadStepInfo> {
    const info: LoadStepInfo = { loadIds: [], rows: {} };
    const packages: LoadPackage[] = [];
    for (const pkg of await this.#store.list()) if ((await pkg.stage()) === "normalized") packages.push(pkg);
    if (packages.length === 0) return info;
    const client = await this.#connect();
    try {
      for (const pkg of packages) {
        this.#emit({ stage: "load", event: "start", loadId: pkg.loadId });
        let outcome: Awaited<ReturnType<typeof loadNormalizedPackage>>;
        try {
          outcome = await loadNormalizedPackage(pkg, client, {
            pipelineName: this.name,
            log: this.#log,
            ...(this.#retry ? { retry: this.#retry } : {}),
            onJob: (job, state) =>
              this.#emit({ stage: "load", table: job.table, job: job.id, state, loadId: pkg.loadId }),
          });
        } catch (err) {
          if (err instanceof LoadPackageFailedError) {
            const moved = await this.#store.markFailed(pkg);
            this.#log.error(`load package ${pkg.loadId} failed; its files are kept in ${moved.dir}`);
          }
          throw err;
        }
        this.#emit({ stage: "load", event: "committed", loadId: pkg.loadId });
        await this.#commitLocally(pkg, outcome.rows);
        info.loadIds.push(pkg.loadId);
        addCounts(info.rows, outcome.rows);
        this.#emit({ stage: "load", event: "end", loadId: pkg.loadId });
      }
    } finally {
      await client.close();
    }
    await this.refresh();
    return info;
  }

  /** After the destination committed: the package's state and schema become the local committed ones. */
  async #commitLocally(pkg: LoadPackage, rows: Record<string, number>): Promise<void> {
    const schema = await pkg.schema();
    const state = (await pkg.state()) as unknown as PipelineState;
    if (schema) await this.#local.writeSchema(schema);
    await this.#local.writeState(state);
    await this.#store.markCompleted(pkg, {
      loadId: pkg.loadId,
      completedAt: new Date().toISOString(),
      rows,
      schemaVersion: schema?.version,
    });
  }
}

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
  return x instanceof Pipeline || kindOf(x) === "pipeline";
}

/** Opens an existing pipeline from its working dir (destination and dataset come from its state). */
export async function attachPipeline(
  name: string,
  options: Omit<PipelineOptions, "name"> = {},
): Promise<Pipeline> {
  const probe = new Pipeline({ name, ...options });
  await probe.refresh();
  let state: Partial<PipelineState> | undefined = probe.state;
  if (!state) {
    // No committed state yet (the first load failed or is pending): the packages know destination and dataset.
    const { pending, failed } = await probe.packages();
    for (const pkg of [...pending, ...failed].reverse()) {
      state = (await pkg.state()) as Partial<PipelineState> | undefined;
      if (state) break;
    }
  }
  // A first run that failed before any package was written still leaves its trace to inspect.
  if (!state && !options.destination && !(await probe.readTrace())) {
    throw new FerryError(`pipeline "${name}" has no working dir in ${probe.dir}`, {
      fields: { pipeline: name },
      hint: "check --dir (or FERRY_PIPELINES_DIR), or pass --destination and --dataset to restore it from the destination",
    });
  }
  const p = new Pipeline({
    name,
    ...options,
    ...(options.destination ? {} : state?.destination ? { destination: state.destination } : {}),
    ...(options.dataset ? {} : state?.dataset ? { dataset: state.dataset } : {}),
  });
  await p.refresh();
  return p;
}
