import { join } from "node:path";
import { normalizePackage, StreamingNormalize, type WholeFileInput } from "../normalize/index.js";
import { checkMergeKeys } from "../normalize/merge-keys.js";
import { compareLoadIds } from "../package/load-id.js";
import type { LoadPackage } from "../package/load-package.js";
import { recordPackageFailure } from "../package/package-failure.js";
import type { TableHints } from "../package/table-hints.js";
import { identifierWithin } from "../schema/naming.js";
import { Schema, type SchemaChange } from "../schema/schema.js";
import { isFerryError } from "../util/errors.js";
import { addCounts, type PipelineContext } from "./context.js";
import type { ExtractedFileListener, ExtractObserver } from "./extract-step.js";

export interface NormalizeInfo {
  loadIds: string[];
  rows: Record<string, number>;
  schemaChanges: SchemaChange[];
  warnings: string[];
}

/** The schema a package normalizes against: the newest older pending package's, else the committed one. */
async function schemaBefore(ctx: PipelineContext, schemaName: string, pkg: LoadPackage): Promise<Schema> {
  const pending = await ctx.store.list();
  for (let i = pending.length - 1; i >= 0; i--) {
    const p = pending[i]!;
    if (compareLoadIds(p.loadId, pkg.loadId) >= 0) continue;
    const s = await p.schema();
    if (s?.name === schemaName) return Schema.fromStored(s);
  }
  const committed = await ctx.local.readSchema(schemaName);
  return committed ? Schema.fromStored(committed) : Schema.empty(schemaName);
}

/**
 * Normalizing packages while they are extracted: the extract step tells it of each extracted file as soon as the
 * file is complete, worker threads start on it, and `normalizeStep` takes their results for that package. One per
 * run; `close()` stops the workers of packages the run did not get to (it failed first).
 */
export class NormalizeWhileExtracting implements ExtractObserver {
  readonly #ctx: PipelineContext;
  readonly #byPackage = new Map<string, StreamingNormalize>();

  constructor(ctx: PipelineContext) {
    this.#ctx = ctx;
  }

  /**
   * Hands the package's extracted files to workers as they are completed, once a file has been completed while
   * extraction goes on (a package of one file, completed at the end, is normalized as usual).
   */
  async watch(pkg: LoadPackage, schemaName: string): Promise<ExtractedFileListener | undefined> {
    const ctx = this.#ctx;
    if (ctx.normalizeWorkers <= 1) return undefined;
    const destination = await ctx.destination();
    // A new package: its normalize folder does not exist yet (workers' writers create it with their first file).
    const baseSchema = (await schemaBefore(ctx, schemaName, pkg)).toStored();
    let streamed: StreamingNormalize | undefined;
    let ending = false;
    return {
      onFile: (table: string, hints: TableHints, file: string): void => {
        if (streamed === undefined && ending) return;
        streamed ??= new StreamingNormalize({
          loadId: pkg.loadId,
          outDir: pkg.normalizeOutDir,
          baseSchema,
          maxIdentifierLength: destination.capabilities.maxIdentifierLength,
          ...(ctx.maxFileBytes ? { maxFileBytes: ctx.maxFileBytes } : {}),
          workers: ctx.normalizeWorkers,
          onProgress: (t, items) => ctx.emit({ stage: "normalize", table: t, items, loadId: pkg.loadId }),
        });
        streamed.add(table, hints, file);
      },
      closing: () => {
        ending = true;
      },
      done: async (extracted: boolean) => {
        if (!streamed) return;
        if (extracted) this.#byPackage.set(pkg.loadId, streamed);
        else await streamed.abort();
      },
    };
  }

  /** The workers' run for a package, once (the normalize step takes it). */
  take(loadId: string): StreamingNormalize | undefined {
    const streamed = this.#byPackage.get(loadId);
    this.#byPackage.delete(loadId);
    return streamed;
  }

  /** Stops the workers of packages not taken; those packages are normalized again by the next run. */
  async close(): Promise<void> {
    for (const [loadId, streamed] of this.#byPackage) {
      this.#byPackage.delete(loadId);
      await streamed.abort();
    }
  }
}

/**
 * Normalizes every extracted package, oldest first, evolving each package's copy of the schema. `streaming` has the
 * workers' results of packages that were normalized while extracted.
 */
export async function normalizeStep(
  ctx: PipelineContext,
  streaming?: NormalizeWhileExtracting,
): Promise<NormalizeInfo> {
  const info: NormalizeInfo = { loadIds: [], rows: {}, schemaChanges: [], warnings: [] };
  const destination = await ctx.destination();
  const maxLen = destination.capabilities.maxIdentifierLength;
  for (const pkg of await ctx.store.list()) {
    if ((await pkg.stage()) !== "extracted") continue;
    const manifest = (await pkg.manifest())!;
    const schema = await schemaBefore(ctx, manifest.schemaName, pkg);
    const streamed = streaming?.take(pkg.loadId);
    ctx.emit({ stage: "normalize", event: "start", loadId: pkg.loadId });
    const wholeFiles: WholeFileInput[] = Object.entries(manifest.wholeFiles ?? {}).flatMap(
      ([table, entries]) =>
        entries.map((e) => ({
          table,
          hints: manifest.tables[table] as TableHints,
          path: join(pkg.extractedDir, e.file),
          format: e.format,
          columns: e.columns,
          rows: e.rows,
        })),
    );
    const result = await normalizePackage({
      loadId: pkg.loadId,
      inputs: Object.entries(manifest.tables).map(([table, hints]) => ({
        table,
        hints,
        files: (manifest.files[table] ?? []).map((f) => join(pkg.extractedDir, f)),
      })),
      wholeFiles,
      schema,
      outDir: pkg.normalizeOutDir,
      resetOutput: async () => {
        await pkg.resetNormalizing();
      },
      maxIdentifierLength: maxLen,
      ...(ctx.maxFileBytes ? { maxFileBytes: ctx.maxFileBytes } : {}),
      workers: ctx.normalizeWorkers,
      ...(streamed ? { streamed } : {}),
      log: ctx.log,
      onProgress: (table, items) => ctx.emit({ stage: "normalize", table, items, loadId: pkg.loadId }),
    })
      .then((r) => {
        // Before any SQL: a merge on key columns the records do not have would fail in the destination.
        const rows = Object.fromEntries(Object.entries(r.index.tables).map(([t, v]) => [t, v.rows]));
        checkMergeKeys(schema, manifest.tables, rows, maxLen);
        return r;
      })
      .catch(async (err: unknown) => {
        // Data the contract rejects fails the same way every time: set the package aside so the next run
        // (with a changed contract or fixed data) is not blocked by it. Its state was never committed.
        if (isFerryError(err, "schema_contract") || isFerryError(err, "bad_data")) {
          const moved = await ctx.store.markFailed(pkg);
          await recordPackageFailure(moved.dir, err);
          ctx.log.error(
            `load package ${pkg.loadId} was rejected while normalizing; its files are kept in ${moved.dir}`,
          );
        }
        throw err;
      });
    schema.bumpVersion();
    const rows = Object.fromEntries(Object.entries(result.index.tables).map(([t, v]) => [t, v.rows]));
    await pkg.commitNormalized(schema.toStored(), {
      index: result.index,
      // Declared tables, even those without rows (a replace that yields nothing must still empty them).
      roots: Object.keys(manifest.tables).map((t) => identifierWithin(t, maxLen)),
      schemaChanges: result.schemaChanges,
      warnings: result.stats.warnings,
      rows,
    });
    for (const w of result.stats.warnings) ctx.log.warn(w);
    ctx.warnings.push(...result.stats.warnings);
    info.loadIds.push(pkg.loadId);
    addCounts(info.rows, rows);
    info.schemaChanges.push(...result.schemaChanges);
    info.warnings.push(...result.stats.warnings);
    ctx.emit({ stage: "normalize", event: "end", loadId: pkg.loadId });
  }
  return info;
}
