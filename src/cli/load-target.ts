import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isResource } from "../extract/resource.js";
import { isSource } from "../extract/source.js";
import { isPipeline, Pipeline, type PipelineOptions } from "../pipeline/pipeline.js";
import type { RunData } from "../pipeline/run-data.js";
import { kindOf } from "../util/brand.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import { loadSpec } from "./spec.js";

export interface CliOverrides {
  pipeline?: string;
  destination?: string;
  dataset?: string;
  dir?: string;
}

export interface RunTarget {
  pipeline: Pipeline;
  data: RunData;
}

const isData = (x: unknown) =>
  isSource(x) || isResource(x) || (Array.isArray(x) && x.length > 0 && x.every(isResource));

/** Imports a TS/JS module (TypeScript through tsx) or reads a YAML/JSON spec, and builds what to run. */
export async function loadRunTarget(
  file: string,
  overrides: CliOverrides,
  base: Partial<PipelineOptions>,
): Promise<RunTarget> {
  const path = resolve(file);
  const ext = extname(path).toLowerCase();
  if ([".yaml", ".yml", ".json"].includes(ext)) {
    const spec = await loadSpec(await readFile(path, "utf8").catch((e) => missing(file, e)), path);
    return {
      pipeline: buildPipeline(spec.pipeline, overrides, base),
      data: spec.data,
    };
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path, ext);
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
      String(errorMessage(err)).includes(path)
    ) {
      missing(file, err);
    }
    throw new ConfigError(`cannot load ${file}: ${errorMessage(err)}`, {
      cause: err,
      hint: "fix the module so that it imports and runs",
    });
  }
  // A .ts file outside a `"type": "module"` package is compiled to CommonJS by tsx: the namespace's default is
  // then `module.exports` ({ __esModule, default, ...named }). Unwrap it so `export default` means the same.
  const inner = mod.default as Record<string, unknown> | undefined;
  if (inner && typeof inner === "object" && !kindOf(inner) && inner.__esModule === true) mod = inner;
  let exported = mod.default;
  if (typeof exported === "function" && !kindOf(exported)) exported = await (exported as () => unknown)();
  const namedPipeline = Object.values(mod).find((v) => isPipeline(v)) as Pipeline | undefined;
  if (isPipeline(exported)) {
    const data = mod.source ?? mod.data ?? mod.resources;
    if (!isData(data)) {
      throw new ConfigError(`${file} exports a pipeline but no data to run`, {
        hint: "also export `source` (a source or resource), or make the default export the source",
      });
    }
    return { pipeline: buildPipeline(exported.options, overrides, base), data: data as RunData };
  }
  if (isData(exported)) {
    const name = namedPipeline?.name ?? (exported as { name?: string }).name ?? "ferry";
    const opts: PipelineOptions = namedPipeline ? { ...namedPipeline.options } : { name };
    return { pipeline: buildPipeline(opts, overrides, base), data: exported as RunData };
  }
  throw new ConfigError(`${file}: the default export is not a pipeline, source or resource`, {
    hint: "export default source({...}) or resource(...), or a pipeline together with `export const source = ...`",
  });
}

/**
 * Modules imported so far, by path. A scheduler runs the same module again and again: tsx's `tsImport` would load a
 * new copy each time (memory growing with every run), while Node keeps one copy of a plain .js module anyway.
 */
const imported = new Map<string, Promise<Record<string, unknown>>>();

function importModule(path: string, ext: string): Promise<Record<string, unknown>> {
  let mod = imported.get(path);
  if (!mod) {
    mod = (async () => {
      if ([".ts", ".mts", ".cts", ".tsx"].includes(ext)) {
        const { tsImport } = await import("tsx/esm/api");
        return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
      }
      return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    })();
    // A module that failed to import is tried again next time (it may have been fixed).
    mod.catch(() => imported.delete(path));
    imported.set(path, mod);
  }
  return mod;
}

function buildPipeline(opts: PipelineOptions, o: CliOverrides, base: Partial<PipelineOptions>): Pipeline {
  return new Pipeline({
    ...opts,
    ...base,
    ...(o.pipeline ? { name: o.pipeline } : {}),
    ...(o.destination ? { destination: o.destination } : {}),
    ...(o.dataset ? { dataset: o.dataset } : {}),
    ...(o.dir ? { dir: o.dir } : {}),
  });
}

function missing(file: string, cause: unknown): never {
  throw new ConfigError(`file not found: ${file}`, {
    cause,
    hint: "pass the path of a .ts/.js module or a .yaml/.json spec",
  });
}
