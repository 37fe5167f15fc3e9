import { join } from "node:path";
import { setting } from "../config/settings.js";
import { extractSource, type TableHints } from "../extract/extractor.js";
import { TYPED_CSV } from "../formats/typed-csv.js";
import type { LoadPackage } from "../load/package.js";
import { StreamingNormalize } from "../normalize/streaming-normalize.js";
import { newLoadId } from "../util/hash.js";
import type { Logger } from "../util/log.js";
import type { PipelineContext } from "./context.js";
import { assertDispositionsSupported } from "./disposition-check.js";
import { PackageExtractSink } from "./extract-sink.js";
import { schemaBefore } from "./normalize-step.js";
import { emptyState, type PipelineState } from "./pipeline-state.js";
import { type RunData, type RunOptions, toSource } from "./run-data.js";

export interface ExtractInfo {
  loadId: string;
  items: Record<string, number>;
}

/** The state extraction starts from: the newest pending package's, else the committed one. */
async function baseState(ctx: PipelineContext): Promise<PipelineState> {
  const pending = await ctx.store.list();
  for (let i = pending.length - 1; i >= 0; i--) {
    const s = await pending[i]?.state();
    if (s) return s as unknown as PipelineState;
  }
  return ctx.committedState() ?? emptyState(ctx.name);
}

/**
 * Runs the source's resources into a new load package. The package becomes "extracted" only when its manifest is
 * written, after the items and the new state; on any error it is removed, so nothing half-extracted survives.
 */
export async function extractStep(
  ctx: PipelineContext,
  data: RunData,
  options: RunOptions,
  streamNormalize = false,
): Promise<ExtractInfo> {
  const src = toSource(data, options, ctx.name);
  const target = await ctx.destination();
  assertDispositionsSupported(target, src);
  const base = await baseState(ctx);
  const loadId = newLoadId();
  const pkg = await ctx.store.create(loadId);
  const streaming = streamNormalize ? await streamingNormalizer(ctx, pkg, src.name) : undefined;
  const sink = new PackageExtractSink(pkg.extractedDir, streaming?.onFile);
  ctx.emit({ stage: "extract", event: "start", loadId });
  const controller = new AbortController();
  // What resources log as warnings (ctx.log.warn) are warnings of the run: they reach LoadInfo.warnings too.
  const logged: string[] = [];
  const log: Logger = {
    debug: (m) => ctx.log.debug(m),
    info: (m) => ctx.log.info(m),
    warn: (m) => {
      logged.push(m);
      ctx.log.warn(m);
    },
    error: (m) => ctx.log.error(m),
  };
  try {
    const result = await extractSource(src, {
      sink,
      resourceStates: base.sources[src.name]?.resources ?? {},
      signal: controller.signal,
      log,
      ...(options.schemaContract !== undefined ? { schemaContract: options.schemaContract } : {}),
      onProgress: (p) => ctx.emit({ stage: "extract", resource: p.resource, items: p.items }),
      concurrency: options.extractConcurrency ?? setting("extractConcurrency"),
      // Resources with a bulk export hand over typed CSV files when the destination reads them as they are.
      ...(target.capabilities.supportedFileFormats.includes(TYPED_CSV)
        ? { typedCsvDir: join(pkg.dir, "typed-csv") }
        : {}),
    });
    streaming?.closing();
    const files = await sink.close();
    const sinkWarnings = sink.warnings();
    for (const w of sinkWarnings) ctx.log.warn(w);
    const warnings = [...logged, ...sinkWarnings];
    ctx.warnings.push(...warnings);
    const destination = target;
    const state: PipelineState = {
      ...base,
      pipelineName: ctx.name,
      version: base.version + 1,
      destination: destination.url,
      dataset: ctx.datasetName,
      defaultSchema: base.defaultSchema ?? src.name,
      schemaNames: base.schemaNames.includes(src.name) ? base.schemaNames : [...base.schemaNames, src.name],
      sources: { ...base.sources, [src.name]: { resources: result.resourceStates } },
      lastLoadId: loadId,
    };
    await pkg.writeState(state);
    await pkg.writeManifest({
      loadId,
      pipelineName: ctx.name,
      schemaName: src.name,
      createdAt: new Date().toISOString(),
      tables: sink.tables,
      files,
      ...(Object.keys(sink.typedCsv).length > 0 ? { typedCsv: sink.typedCsv } : {}),
      items: result.items,
      warnings,
    });
    const streamed = streaming?.normalizer();
    if (streamed) ctx.streamed.set(loadId, streamed);
    ctx.emit({ stage: "extract", event: "end", loadId });
    return { loadId, items: result.items };
  } catch (err) {
    controller.abort();
    await streaming?.normalizer()?.abort();
    await sink.close().catch(() => undefined);
    await pkg.remove();
    throw err;
  }
}

/**
 * Hands the package's extracted files to a streaming normalizer as they are completed, once a file has been
 * completed while extraction goes on (a package of one file, completed at the end, is normalized as usual).
 */
async function streamingNormalizer(ctx: PipelineContext, pkg: LoadPackage, schemaName: string) {
  if (ctx.normalizeWorkers <= 1) return undefined;
  const destination = await ctx.destination();
  // A new package: its normalize folder does not exist yet (workers' writers create it with their first file).
  const outDir = pkg.normalizeOutDir;
  const baseSchema = (await schemaBefore(ctx, schemaName, pkg)).toStored();
  let streamed: StreamingNormalize | undefined;
  let ending = false;
  return {
    onFile(table: string, hints: TableHints, file: string): void {
      if (streamed === undefined && ending) return;
      streamed ??= new StreamingNormalize({
        loadId: pkg.loadId,
        outDir,
        baseSchema,
        maxIdentifierLength: destination.capabilities.maxIdentifierLength,
        ...(ctx.maxFileBytes ? { maxFileBytes: ctx.maxFileBytes } : {}),
        workers: ctx.normalizeWorkers,
        onProgress: (t, items) => ctx.emit({ stage: "normalize", table: t, items, loadId: pkg.loadId }),
      });
      streamed.add(table, hints, file);
    },
    /** Extraction is over: the files completed from now on are the last ones. */
    closing(): void {
      ending = true;
    },
    normalizer: () => streamed,
  };
}
