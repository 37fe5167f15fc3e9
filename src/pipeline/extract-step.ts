import { join } from "node:path";
import { setting } from "../config/settings.js";
import { extractSource } from "../extract/extractor.js";
import { PackageExtractSink } from "../extract/package-sink.js";
import { SOURCE_WRITTEN_FORMATS } from "../formats/file-format.js";
import { newLoadId } from "../package/load-id.js";
import type { LoadPackage } from "../package/load-package.js";
import { emptyState, type PipelineState } from "../package/state.js";
import type { TableHints } from "../package/table-hints.js";
import { ConfigError } from "../util/errors.js";
import { exists } from "../util/fs.js";
import type { Logger } from "../util/log.js";
import type { PipelineContext } from "./context.js";
import { assertDispositionsSupported } from "./disposition-check.js";
import { type RunData, type RunOptions, toSource } from "./run-data.js";

export interface ExtractInfo {
  loadId: string;
  items: Record<string, number>;
}

/** Hears of a package's extracted files as each is completed (to normalize them while extraction goes on). */
export interface ExtractedFileListener {
  onFile(table: string, hints: TableHints, path: string): void;
  /** Extraction is over: the files completed from now on are the last ones. */
  closing(): void;
  /** The package is extracted (its manifest written), or was discarded after a failure. */
  done(extracted: boolean): Promise<void>;
}

/** Watches the packages the extract step writes. */
export interface ExtractObserver {
  watch(pkg: LoadPackage, schemaName: string): Promise<ExtractedFileListener | undefined>;
}

/**
 * The state extraction starts from: the newest pending package's, else the committed one. Read from disk: under a
 * `PipelineHold` the package just listed may commit (its state written locally, then the package removed) while this
 * reads, and the cached committed state is refreshed only after that.
 */
async function baseState(ctx: PipelineContext): Promise<PipelineState> {
  const pending = await ctx.store.list();
  for (let i = pending.length - 1; i >= 0; i--) {
    const s = await pending[i]?.state();
    if (s) return s;
  }
  return (await ctx.local.readState()) ?? ctx.committedState() ?? emptyState(ctx.name);
}

/** The package of that load id when it was extracted (it may be loaded since): the step has nothing to do. */
async function extractedBefore(ctx: PipelineContext, loadId: string): Promise<ExtractInfo | undefined> {
  if (!/^\d+\.[\w-]+$/.test(loadId))
    throw new ConfigError(`load id ${JSON.stringify(loadId)} is not <epoch ms>.<letters and digits>`);
  const pending = (await ctx.store.list()).find((p) => p.loadId === loadId);
  const manifest = await pending?.manifest();
  if (manifest) return { loadId, items: manifest.items };
  if (await exists(join(ctx.store.completedDir, `${loadId}.json`))) return { loadId, items: {} };
  return undefined;
}

/**
 * Runs the source's resources into a new load package. The package becomes "extracted" only when its manifest is
 * written, after the items and the new state; on any error it is removed, so nothing half-extracted survives.
 */
export async function extractStep(
  ctx: PipelineContext,
  data: RunData,
  options: RunOptions,
  observer?: ExtractObserver,
): Promise<ExtractInfo> {
  if (options.loadId !== undefined) {
    const done = await extractedBefore(ctx, options.loadId);
    if (done) return done;
  }
  const src = toSource(data, options, ctx.name);
  const target = await ctx.destination();
  assertDispositionsSupported(target, src);
  const base = await baseState(ctx);
  const loadId = options.loadId ?? newLoadId();
  const pkg = await ctx.store.create(loadId);
  const listener = await observer?.watch(pkg, src.name);
  const sink = new PackageExtractSink(pkg.extractedDir, listener?.onFile);
  ctx.emit({ stage: "extract", event: "start", loadId });
  const controller = new AbortController();
  options.signal?.throwIfAborted();
  const stop = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", stop, { once: true });
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
  const wholeFileFormats = target.capabilities.supportedFileFormats.filter((f) =>
    SOURCE_WRITTEN_FORMATS.includes(f),
  );
  try {
    const result = await extractSource(src, {
      sink,
      resourceStates: base.sources[src.name]?.resources ?? {},
      signal: controller.signal,
      log,
      ...(options.schemaContract !== undefined ? { schemaContract: options.schemaContract } : {}),
      onProgress: (p) => ctx.emit({ stage: "extract", resource: p.resource, items: p.items }),
      concurrency: options.extractConcurrency ?? setting("extractConcurrency"),
      // Resources with a bulk export hand over whole files (typed CSV) when the destination loads them as they are.
      ...(wholeFileFormats.length > 0
        ? { wholeFiles: { dir: join(pkg.dir, "typed-csv"), formats: wholeFileFormats } }
        : {}),
    });
    listener?.closing();
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
      ...(Object.keys(sink.wholeFiles).length > 0 ? { wholeFiles: sink.wholeFiles } : {}),
      items: result.items,
      warnings,
    });
    await listener?.done(true);
    ctx.emit({ stage: "extract", event: "end", loadId });
    return { loadId, items: result.items };
  } catch (err) {
    controller.abort();
    await listener?.done(false);
    await sink.close().catch(() => undefined);
    await pkg.remove();
    throw err;
  } finally {
    options.signal?.removeEventListener("abort", stop);
  }
}
