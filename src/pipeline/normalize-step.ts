import { join } from "node:path";
import type { TableHints } from "../extract/extractor.js";
import { compareLoadIds, type LoadPackage } from "../load/package.js";
import { recordPackageFailure } from "../load/package-failure.js";
import { checkMergeKeys } from "../normalize/merge-keys.js";
import { finishStreamed, type NormalizeFilesOptions, normalizeFiles } from "../normalize/normalize-files.js";
import { addTypedCsv } from "../normalize/typed-csv-input.js";
import { identifierWithin } from "../schema/naming.js";
import { Schema, type SchemaChange } from "../schema/schema.js";
import { DataError, SchemaContractError } from "../util/errors.js";
import { addCounts, type PipelineContext } from "./context.js";

export interface NormalizeInfo {
  loadIds: string[];
  rows: Record<string, number>;
  schemaChanges: SchemaChange[];
  warnings: string[];
}

/** The schema a package normalizes against: the newest older pending package's, else the committed one. */
export async function schemaBefore(
  ctx: PipelineContext,
  schemaName: string,
  pkg: LoadPackage,
): Promise<Schema> {
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

/** Normalizes every extracted package, oldest first, evolving each package's copy of the schema. */
export async function normalizeStep(ctx: PipelineContext): Promise<NormalizeInfo> {
  const info: NormalizeInfo = { loadIds: [], rows: {}, schemaChanges: [], warnings: [] };
  const destination = await ctx.destination();
  for (const pkg of await ctx.store.list()) {
    if ((await pkg.stage()) !== "extracted") continue;
    const manifest = (await pkg.manifest())!;
    const schema = await schemaBefore(ctx, manifest.schemaName, pkg);
    const streamed = ctx.streamed.get(pkg.loadId);
    ctx.streamed.delete(pkg.loadId);
    ctx.emit({ stage: "normalize", event: "start", loadId: pkg.loadId });
    const inputs = Object.entries(manifest.tables).map(([table, hints]) => ({
      table,
      hints,
      files: (manifest.files[table] ?? []).map((f) => join(pkg.extractedDir, f)),
    }));
    const options = async (): Promise<NormalizeFilesOptions> => ({
      inputs,
      schema,
      loadId: pkg.loadId,
      outDir: await pkg.resetNormalizing(),
      maxIdentifierLength: destination.capabilities.maxIdentifierLength,
      ...(ctx.maxFileBytes ? { maxFileBytes: ctx.maxFileBytes } : {}),
      workers: ctx.normalizeWorkers,
      log: ctx.log,
      onProgress: (table, items) => ctx.emit({ stage: "normalize", table, items, loadId: pkg.loadId }),
    });
    const typedCsv = Object.entries(manifest.typedCsv ?? {}).flatMap(([table, entries]) =>
      entries.map((e) => ({
        table,
        hints: manifest.tables[table] as TableHints,
        path: join(pkg.extractedDir, e.file),
        columns: e.columns,
        rows: e.rows,
      })),
    );
    const result = await (streamed
      ? finishStreamed(streamed, schema, inputs, options)
      : options().then(normalizeFiles)
    )
      .then((r) =>
        addTypedCsv(r, {
          inputs: typedCsv,
          schema,
          loadId: pkg.loadId,
          outDir: pkg.normalizeOutDir,
          maxIdentifierLength: destination.capabilities.maxIdentifierLength,
          ...(ctx.maxFileBytes ? { maxFileBytes: ctx.maxFileBytes } : {}),
        }),
      )
      .then((r) => {
        // Before any SQL: a merge on key columns the records do not have would fail in the destination.
        checkMergeKeys(schema, manifest.tables, destination.capabilities.maxIdentifierLength);
        return r;
      })
      .catch(async (err: unknown) => {
        // Data the contract rejects fails the same way every time: set the package aside so the next run
        // (with a changed contract or fixed data) is not blocked by it. Its state was never committed.
        if (err instanceof SchemaContractError || err instanceof DataError) {
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
    const maxLen = destination.capabilities.maxIdentifierLength;
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
