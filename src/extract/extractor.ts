import type { LoadFileFormatName } from "../formats/file-format.js";
import type { ResourceState } from "../package/state.js";
import type { TableHints } from "../package/table-hints.js";
import type { SchemaContractSetting } from "../schema/types.js";
import type { Logger } from "../util/log.js";
import type { JsonLines } from "./json-lines.js";
import type { Item, Resource } from "./resource.js";
import { ResourceRunner } from "./resource-runner.js";
import type { Source } from "./source.js";
import type { TypedCsvFile } from "./typed-csv.js";

/** Where extracted items go (the pipeline gives a load-package writer). */
export interface ExtractSink {
  declareTable(table: string, hints: TableHints): void;
  /**
   * Returns a promise only when the caller must wait (backpressure). `json` says the item is plain JSON data.
   */
  write(table: string, item: Item, json: boolean): Promise<void> | undefined;
  /** Writes NDJSON lines as they are (they are parsed when normalized). */
  writeLines(table: string, lines: JsonLines): Promise<void> | undefined;
  /** Takes over a complete file a source handed over whole (moves it into the package). */
  writeWholeFile(table: string, file: TypedCsvFile): Promise<void>;
}

export interface ExtractProgress {
  resource: string;
  items: number;
}

export interface ExtractOptions {
  sink: ExtractSink;
  resourceStates: Record<string, ResourceState>;
  signal: AbortSignal;
  log: Logger;
  /** A per-run contract that wins over the resources' own. */
  schemaContract?: SchemaContractSetting;
  onProgress?: (p: ExtractProgress) => void;
  /** How many root resources (with their transformers) run at once; default 1. */
  concurrency?: number;
  /**
   * Set when the destination loads files sources hand over whole (load-file formats written by sources, such as
   * typed CSV): resources that may yield them get a folder of their own below `dir` (`ResourceContext.typedCsv`).
   */
  wholeFiles?: { dir: string; formats: readonly LoadFileFormatName[] };
}

export interface ExtractResult {
  /** Items written per table. */
  items: Record<string, number>;
  /** New per-resource state, to be committed with the load. */
  resourceStates: Record<string, ResourceState>;
}

/**
 * Runs every selected resource of a source (parents feed their transformers) and writes items to the sink.
 * Streaming: one item (or page) in flight per resource chain; up to `concurrency` root resources run at once.
 * When one fails the others are stopped at their next page and the first error is thrown.
 */
export async function extractSource(src: Source, opts: ExtractOptions): Promise<ExtractResult> {
  const items: Record<string, number> = {};
  const newStates: Record<string, ResourceState> = structuredClone(opts.resourceStates);
  const all = collectResources(src);
  const children = new Map<Resource, Resource[]>();
  for (const r of all) {
    const p = r.parent;
    if (p) children.set(resolveKey(all, p), [...(children.get(resolveKey(all, p)) ?? []), r]);
  }
  // Deselected resources that feed no selected one neither run (no API calls) nor advance their state.
  const needed = (r: Resource): boolean => r.selected || (children.get(r) ?? []).some(needed);
  const loadedThrough = (r: Resource): string[] => [
    ...(r.selected ? [r.name] : []),
    ...(children.get(r) ?? []).filter(needed).flatMap(loadedThrough),
  ];
  const runners = new Map<Resource, ResourceRunner>();
  for (const r of all) {
    newStates[r.name] ??= {};
    if (!needed(r)) continue;
    const state = newStates[r.name] as ResourceState;
    const feeds = (children.get(r) ?? []).some((c) => needed(c));
    runners.set(r, new ResourceRunner(r, src, state, opts, items, feeds, loadedThrough(r)));
  }
  const roots = all.filter((r) => !r.parent && runners.has(r));
  await runConcurrently(roots, Math.max(1, opts.concurrency ?? 1), opts.signal, (r, signal) =>
    (runners.get(r) as ResourceRunner).runRoot((chunk) => feedChildren(r, chunk), signal),
  );
  for (const runner of runners.values()) runner.finish();
  return { items, resourceStates: newStates };

  async function feedChildren(parent: Resource, chunk: Item): Promise<void> {
    for (const child of children.get(parent) ?? []) {
      const runner = runners.get(child);
      if (runner) await runner.runTransformer(chunk, (c) => feedChildren(child, c));
    }
  }
}

/** Resources of the source plus parents of its transformers that are not listed (extracted, not loaded). */
function collectResources(src: Source): Resource[] {
  const out: Resource[] = [...src.resources];
  const queue = [...src.resources];
  while (queue.length > 0) {
    const r = queue.shift()!;
    const p = r.parent;
    if (p && !out.some((x) => x.name === p.name)) {
      const implicit = p.with({ selected: false });
      out.unshift(implicit);
      queue.push(implicit);
    }
  }
  return out;
}

/**
 * Runs `task` for each item with at most `limit` at once. On the first failure the others are aborted (through the
 * signal they get), awaited, and the first error is thrown: nothing keeps writing after extraction has failed.
 */
async function runConcurrently<T>(
  items: T[],
  limit: number,
  outer: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort(outer.reason);
  outer.addEventListener("abort", stop, { once: true });
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await task(item, controller.signal);
      } catch (err) {
        failure ??= { err };
        controller.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  } finally {
    outer.removeEventListener("abort", stop);
  }
  if (failure) throw failure.err;
}

function resolveKey(all: Resource[], parent: Resource): Resource {
  return all.find((r) => r.name === parent.name) ?? parent;
}
