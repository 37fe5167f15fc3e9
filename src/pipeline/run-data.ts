import {
  type Item,
  type ItemSource,
  isResource,
  type Resource,
  type ResourceOptions,
  resource,
} from "../extract/resource.js";
import { isSource, Source } from "../extract/source.js";
import type { ColumnHint, SchemaContractSetting, WriteDisposition } from "../schema/types.js";
import { ConfigError } from "../util/errors.js";

/** Options of `run()` / `extract()` that apply to the data of this call. */
export interface RunOptions {
  /** Table name for plain data (arrays, iterables); overrides a single resource's table. */
  table?: string;
  writeDisposition?: WriteDisposition;
  primaryKey?: string | string[];
  mergeKey?: string | string[];
  columns?: Record<string, ColumnHint>;
  /** Wins over the resources' own contracts for this run. */
  schemaContract?: SchemaContractSetting;
  maxTableNesting?: number;
  /**
   * How many root resources extract at once (default 4, or `FERRY_EXTRACT_CONCURRENCY`): a source of many API
   * endpoints or database tables waits on all of them together.
   */
  extractConcurrency?: number;
  /**
   * Stops extraction at the next page when aborted (a job's timeout, a shutdown): the run fails and nothing of the
   * new package is kept. Normalize and load, once started, finish (they are short and end atomically).
   */
  signal?: AbortSignal;
  /**
   * The load id of the package this call extracts (default: a new one). Makes extraction idempotent for an
   * orchestrator that may run the same step twice (a worker killed after extracting): when a package of this id is
   * already extracted or loaded, nothing is extracted again. Load ids sort by time: `<epoch ms>.<random>`.
   */
  loadId?: string;
}

/** Anything `run()` accepts. */
export type RunData = Source | Resource | Resource[] | Item[] | ItemSource | (() => ItemSource);

/** Turns what the user passed into one source (its name names the schema). */
export function toSource(data: RunData, options: RunOptions, pipelineName: string): Source {
  // Brands, not instanceof: a module loaded through another loader (tsx) has its own copy of the classes.
  if (isSource(data)) return applyToAll(data, options);
  if (isResource(data)) {
    return new Source({ name: pipelineName, resources: [withRunOptions(data as Resource, options)] });
  }
  if (Array.isArray(data) && data.length > 0 && data.every(isResource)) {
    return new Source({
      name: pipelineName,
      resources: (data as Resource[]).map((r) => withRunOptions(r, options)),
    });
  }
  const isData =
    typeof data === "function" ||
    (data !== null && typeof data === "object" && (Symbol.iterator in data || Symbol.asyncIterator in data));
  if (!isData) {
    throw new ConfigError(
      "run() needs a source, a resource, a list of resources, or data (an array or iterable)",
    );
  }
  if (!options.table) {
    throw new ConfigError("plain data needs a table name", {
      hint: 'pass { table: "name" } as the run options',
    });
  }
  const r = resource({ name: options.table }, data as ItemSource);
  return new Source({ name: pipelineName, resources: [withRunOptions(r, options)] });
}

function runHints(options: RunOptions): Partial<ResourceOptions> {
  const out: Partial<ResourceOptions> = {};
  if (options.table !== undefined) out.table = options.table;
  if (options.writeDisposition !== undefined) out.writeDisposition = options.writeDisposition;
  if (options.primaryKey !== undefined) out.primaryKey = options.primaryKey;
  if (options.mergeKey !== undefined) out.mergeKey = options.mergeKey;
  if (options.columns !== undefined) out.columns = options.columns;
  if (options.maxTableNesting !== undefined) out.maxTableNesting = options.maxTableNesting;
  return out;
}

function withRunOptions(r: Resource, options: RunOptions): Resource {
  const hints = runHints(options);
  return Object.keys(hints).length > 0 ? r.with(hints) : r;
}

function applyToAll(src: Source, options: RunOptions): Source {
  const { table: _table, ...rest } = runHints(options);
  if (Object.keys(rest).length === 0) return src;
  return new Source({
    name: src.name,
    resources: src.resources.map((r) => r.with(rest)),
    ...(src.schemaContract !== undefined ? { schemaContract: src.schemaContract } : {}),
    ...(src.maxTableNesting !== undefined ? { maxTableNesting: src.maxTableNesting } : {}),
  });
}
