import { Worker } from "node:worker_threads";
import { type LoadFileIndex, mergeIndex } from "../../package/load-files.js";
import type { TableHints } from "../../package/table-hints.js";
import { columnOf, Schema, stableStringify } from "../../schema/schema.js";
import type { StoredSchema, Table } from "../../schema/types.js";
import { ConfigError, DataError, FerryError, SchemaContractError } from "../../util/errors.js";
import { LoadFileWriter } from "../load-file-writer.js";
import { normalizeUnit } from "../normalize-unit.js";
import { type NormalizeStats, RelationalNormalizer } from "../rows/relational.js";
import type { NormalizeFilesOptions, NormalizeFilesResult } from "../types.js";
import { UnitQueue } from "./unit-queue.js";
import type { FromWorker, NormalizeUnit, SerializedError, ToWorker } from "./worker-protocol.js";

/** Starts a normalize worker; from TypeScript sources (tests, benchmarks) through tsx's loader. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const url = new URL("./normalize-worker.ts", here).href;
    const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL("./normalize-worker.js", here));
}

const ERRORS: Record<string, typeof FerryError> = { SchemaContractError, DataError, ConfigError, FerryError };

function rebuild(e: SerializedError): Error {
  const Ctor = ERRORS[e.name];
  if (!Ctor) return new Error(e.message);
  return new Ctor(e.message, {
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.fields ? { fields: e.fields as FerryError["fields"] } : {}),
  });
}

export interface WorkerResult {
  schema: StoredSchema;
  index: LoadFileIndex;
  stats: NormalizeStats;
}

/** What a team of workers needs besides its units. */
export interface WorkerTeamOptions {
  loadId: string;
  outDir: string;
  maxIdentifierLength: number;
  maxFileBytes?: number;
  /** Root tables known up front, with their hints: every worker shapes its schema alike. */
  tables: { table: string; hints: TableHints }[];
  /** Load file names of this team start with it (teams sharing a folder keep apart). */
  prefix: string;
  onProgress?: (table: string, items: number) => void;
  /** Items normalized so far per table, shared by the teams of one package. */
  progress: Map<string, number>;
  /** Stops the workers (their results are rejected). */
  signal?: AbortSignal;
}

/** Runs the queue's units on `count` workers, each taking the next file when it is done with one. */
export async function runWorkers(
  opts: WorkerTeamOptions,
  queue: UnitQueue,
  count: number,
  base: StoredSchema,
): Promise<WorkerResult[]> {
  const workers = Array.from({ length: count }, () => startWorker());
  const feeders: (() => void)[] = [];
  let ready = 0;
  const stopped = () => opts.signal?.reason ?? new Error("normalize workers were stopped");
  try {
    return await Promise.all(
      workers.map(
        (w, k) =>
          new Promise<WorkerResult>((resolve, reject) => {
            const send = (m: ToWorker) => w.postMessage(m);
            const feed = () => {
              queue.next().then((unit) => send(unit ? { type: "unit", unit } : { type: "finish" }), reject);
            };
            feeders.push(feed);
            if (opts.signal?.aborted) reject(stopped());
            opts.signal?.addEventListener("abort", () => reject(stopped()), { once: true });
            w.on("error", reject);
            w.on("exit", (code) => reject(new Error(`normalize worker exited with code ${code}`)));
            w.on("message", (m: FromWorker) => {
              // Work starts when every worker is ready, so the first files spread over all of them.
              if (m.type === "ready") {
                if (++ready === workers.length) for (const f of feeders) f();
              } else if (m.type === "unit-done") {
                opts.progress.set(m.table, (opts.progress.get(m.table) ?? 0) + m.items);
                opts.onProgress?.(m.table, opts.progress.get(m.table) ?? 0);
                feed();
              } else if (m.type === "result") resolve({ schema: m.schema, index: m.index, stats: m.stats });
              else reject(rebuild(m.error));
            });
            send({
              type: "init",
              baseSchema: base,
              tables: opts.tables,
              loadId: opts.loadId,
              maxIdentifierLength: opts.maxIdentifierLength,
              outDir: opts.outDir,
              prefix: `${opts.prefix}${k}`,
              ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
            });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const tableProps = (t: Table) => {
  const { columns: _columns, ...props } = t;
  return stableStringify(props);
};

/**
 * Merges the workers' schemas into `schema` (tables and columns in worker order). Returns false when workers
 * disagree about a table or column (a type, an origin): then one thread must decide, as it would have alone.
 */
function mergeSchemas(schema: Schema, results: WorkerResult[]): boolean {
  for (const r of results) {
    for (const t of Object.values(r.schema.tables)) {
      const have = schema.getTable(t.name);
      if (!have) {
        schema.addTable({ ...t, columns: {} });
      } else if (tableProps(have) !== tableProps(t)) {
        return false;
      }
      const table = schema.getTable(t.name) as Table;
      for (const c of Object.values(t.columns)) {
        const existing = columnOf(table, c.name);
        if (!existing) schema.addColumn(t.name, { ...c });
        else if (stableStringify(existing) !== stableStringify(c)) return false;
      }
    }
  }
  return true;
}

function mergeIndexes(results: WorkerResult[]): LoadFileIndex {
  const index: LoadFileIndex = { tables: {} };
  for (const r of results) mergeIndex(index, r.index);
  return index;
}

function mergeStats(results: WorkerResult[]): NormalizeStats {
  const out: NormalizeStats = {
    rows: {},
    discardedRows: 0,
    discardedValues: 0,
    skippedNullItems: 0,
    warnings: [],
  };
  for (const { stats } of results) {
    for (const [t, n] of Object.entries(stats.rows)) out.rows[t] = (out.rows[t] ?? 0) + n;
    out.discardedRows += stats.discardedRows;
    out.discardedValues += stats.discardedValues;
    out.skippedNullItems += stats.skippedNullItems;
  }
  return out;
}

/**
 * Normalizes a package's extracted files on worker threads. Returns undefined when the workers' schemas disagree
 * (the caller then normalizes in one thread, whose result is the reference); on success the merged schema is in
 * `opts.schema`.
 */
export async function normalizeInWorkers(
  opts: NormalizeFilesOptions,
  workers: number,
): Promise<NormalizeFilesResult | undefined> {
  const units: NormalizeUnit[] = [];
  for (const input of opts.inputs) {
    for (const file of input.files)
      units.push({ index: units.length, table: input.table, hints: input.hints, file });
  }
  const [first, ...rest] = units;
  if (!first || rest.length === 0) return undefined;
  // The first file is normalized here first: types are mostly decided by the first records, so the workers start
  // from a schema that already knows them and rarely disagree later (data whose types vary between records).
  const seed = Schema.fromStored(opts.schema.toStored());
  const seedResult = await normalizeSeed(opts, seed, first);
  const team: WorkerTeamOptions = {
    loadId: opts.loadId,
    outDir: opts.outDir,
    maxIdentifierLength: opts.maxIdentifierLength,
    ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
    tables: opts.inputs.map((i) => ({ table: i.table, hints: i.hints })),
    prefix: "w",
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    progress: new Map([[first.table, seedResult.itemsOfSeed]]),
  };
  const results = [
    seedResult,
    ...(await runWorkers(team, UnitQueue.of(rest), Math.min(workers, rest.length), seed.toStored())),
  ];
  return mergeWorkerResults(opts, results);
}

/**
 * Merges what workers produced for a package into `opts.schema`, their load file indexes and counters. Returns
 * undefined, with `opts.schema` untouched, when workers disagree about a table or column.
 */
export function mergeWorkerResults(
  opts: Pick<NormalizeFilesOptions, "schema" | "inputs" | "loadId" | "maxIdentifierLength">,
  results: WorkerResult[],
): NormalizeFilesResult | undefined {
  // Merge into a copy first: on disagreement the caller's schema must stay as it was.
  const trial = Schema.fromStored(opts.schema.toStored());
  shape(trial, opts);
  if (!mergeSchemas(trial, results)) return undefined;
  const changesBefore = opts.schema.changes.length;
  shape(opts.schema, opts);
  mergeSchemas(opts.schema, results);
  return {
    index: mergeIndexes(results),
    stats: mergeStats(results),
    schemaChanges: opts.schema.changes.slice(changesBefore),
  };
}

/** Normalizes one unit on this thread into `schema` (load files prefixed "m"). */
async function normalizeSeed(
  opts: NormalizeFilesOptions,
  schema: Schema,
  unit: NormalizeUnit,
): Promise<WorkerResult & { itemsOfSeed: number }> {
  const writer = new LoadFileWriter(opts.outDir, schema, {
    prefix: "m",
    ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
  });
  const normalizer = new RelationalNormalizer({
    schema,
    loadId: opts.loadId,
    maxIdentifierLength: opts.maxIdentifierLength,
    sink: writer,
  });
  for (const i of opts.inputs) normalizer.rootTable(i.table, i.hints);
  const items = await normalizeUnit(normalizer, writer, unit);
  opts.onProgress?.(unit.table, items);
  normalizer.finish();
  return {
    schema: schema.toStored(),
    index: await writer.close(),
    stats: normalizer.stats,
    itemsOfSeed: items,
  };
}

/** Applies the tables' hints to a schema the way each worker did before its first row. */
function shape(
  schema: Schema,
  opts: Pick<NormalizeFilesOptions, "inputs" | "loadId" | "maxIdentifierLength">,
): void {
  const shaper = new RelationalNormalizer({
    schema,
    loadId: opts.loadId,
    maxIdentifierLength: opts.maxIdentifierLength,
    sink: { write: () => undefined },
  });
  for (const i of opts.inputs) shaper.rootTable(i.table, i.hints);
}
