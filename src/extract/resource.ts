import type {
  ColumnHint,
  SchemaContractSetting,
  TableFormat,
  TableStorage,
  WriteDisposition,
} from "../schema/types.js";
import { brand, isKind } from "../util/brand.js";
import type { Logger } from "../util/log.js";
import type { IncrementalContext, IncrementalOptions } from "./incremental.js";
import type { TypedCsvOffer } from "./typed-csv.js";

/** Any record-like value a resource yields. */
export type Item = unknown;
/** What a resource function may produce: records, pages (arrays) of records, sync or async. */
export type ItemSource = Iterable<Item> | AsyncIterable<Item>;

/** The context every resource and transformer function receives. */
export interface ResourceContext {
  readonly resourceName: string;
  /** Incremental cursor of this run; `startValue` is where to resume. Present even without `incremental` (cursor ""). */
  readonly incremental: IncrementalContext;
  /** Persistent JSON state of this resource; mutate it, it is committed with the load. */
  readonly state: Record<string, unknown>;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * Names of the resources this run loads from this resource's records: itself when selected, and the selected
   * transformers it feeds (directly or through others). A source that keeps one cursor for several tables (an export
   * with side-loads) stores it with this list, and starts over when a later run loads a table the cursor did not cover.
   */
  readonly selection: readonly string[];
  /**
   * Present when this resource may yield `TypedCsvFile`s: the destination reads typed CSV, and nothing needs each
   * record at extract (no incremental cursor, map/filter/limit step, table function or transformer; append or
   * replace). Sources with a bulk export (the SQL source's Postgres COPY) use it to skip per-row work.
   */
  readonly typedCsv?: TypedCsvOffer;
}

export type ResourceFunction = (ctx: ResourceContext) => ItemSource | Promise<ItemSource> | Item[];
export type TransformerFunction = (
  item: Item,
  ctx: ResourceContext,
) => ItemSource | Promise<ItemSource | Item> | Item;

export interface ResourceOptions {
  name: string;
  /** Target table: a name, or a function of each item for dynamic tables. Defaults to the resource name. */
  table?: string | ((item: Item) => string);
  primaryKey?: string | string[];
  mergeKey?: string | string[];
  writeDisposition?: WriteDisposition;
  columns?: Record<string, ColumnHint>;
  incremental?: IncrementalOptions;
  schemaContract?: SchemaContractSetting;
  /** How many levels of child tables to create; deeper data is stored as `json`. */
  maxTableNesting?: number;
  /**
   * `delta` stores the table and its child tables as Delta Lake tables on a file destination (merge, atomic
   * replace); `native` (the default) the destination's own way. A destination that does not offer the format
   * refuses the run before anything is extracted.
   */
  tableFormat?: TableFormat;
  /**
   * Sort key, partitions and deduplication of the resource's table, for destinations that lay tables out by them
   * (ClickHouse: `ORDER BY`, `PARTITION BY`, `ReplacingMergeTree`); others ignore it. Applied when the table is created.
   */
  storage?: TableStorage;
  /** Unselected resources are extracted only to feed their transformers. Default true. */
  selected?: boolean;
  /**
   * The records are plain JSON data (straight from `JSON.parse`: no Date, bigint, Buffer, NaN, functions), so
   * extraction can skip the checks for such values. Sources that parse JSON themselves (the REST source) set it.
   */
  jsonItems?: boolean;
}

export type Step =
  | { kind: "map"; fn: (item: Item) => Item }
  | { kind: "filter"; fn: (item: Item) => boolean }
  | { kind: "limit"; count: number };

type Body =
  | { kind: "function"; fn: ResourceFunction }
  | { kind: "transformer"; fn: TransformerFunction; parent?: Resource };

/**
 * A named stream of records that loads into a table. Immutable: steps return a new resource.
 *
 * @example
 * const users = resource({ name: "users", primaryKey: "id", writeDisposition: "merge" }, async function* () {
 *   yield [{ id: 1, name: "Ada" }];
 * }).filter((u) => u.id > 0).limit(100);
 */
export class Resource {
  readonly options: Readonly<ResourceOptions>;
  readonly steps: readonly Step[];
  readonly #body: Body;

  constructor(options: ResourceOptions, body: Body, steps: readonly Step[] = []) {
    if (!options.name || typeof options.name !== "string")
      throw new TypeError("a resource needs a non-empty name");
    this.options = Object.freeze({ ...options });
    this.#body = body;
    this.steps = Object.freeze([...steps]);
  }

  get name(): string {
    return this.options.name;
  }
  get isTransformer(): boolean {
    return this.#body.kind === "transformer";
  }
  get parent(): Resource | undefined {
    return this.#body.kind === "transformer" ? this.#body.parent : undefined;
  }
  get selected(): boolean {
    return this.options.selected ?? true;
  }
  /** @internal */
  get body(): Body {
    return this.#body;
  }

  /** Transforms every record. */
  map<T = Item>(fn: (item: T) => Item): Resource {
    return this.#withStep({ kind: "map", fn: fn as (item: Item) => Item });
  }
  /** Keeps records for which `fn` returns true. */
  filter<T = Item>(fn: (item: T) => boolean): Resource {
    return this.#withStep({ kind: "filter", fn: fn as (item: Item) => boolean });
  }
  /** Takes the first `count` records and stops the generator (for development runs). */
  limit(count: number): Resource {
    if (!Number.isInteger(count) || count < 0) throw new TypeError("limit needs a non-negative integer");
    return this.#withStep({ kind: "limit", count });
  }
  /** A copy with some options replaced (e.g. `{ writeDisposition: "replace" }`). */
  with(options: Partial<ResourceOptions>): Resource {
    return new Resource({ ...this.options, ...options }, this.#body, this.steps);
  }
  /** Feeds this resource's items into a transformer: `issues.pipe(issueDetails)`. */
  pipe(t: Resource): Resource {
    if (t.#body.kind !== "transformer") throw new TypeError(`"${t.name}" is not a transformer`);
    return new Resource(t.options, { kind: "transformer", fn: t.#body.fn, parent: this }, t.steps);
  }

  #withStep(step: Step): Resource {
    return new Resource(this.options, this.#body, [...this.steps, step]);
  }
}
brand(Resource, "resource");

/**
 * Defines a resource from a generator function (sync or async), a function returning an iterable, or a plain array.
 *
 * @example
 * resource({ name: "numbers" }, function* () { for (let i = 0; i < 3; i++) yield { i }; });
 * resource({ name: "fixed" }, [{ id: 1 }, { id: 2 }]);
 */
export function resource(
  options: ResourceOptions | string,
  data: ResourceFunction | Item[] | ItemSource,
): Resource {
  const opts = typeof options === "string" ? { name: options } : options;
  if (typeof data === "function")
    return new Resource(opts, { kind: "function", fn: data as ResourceFunction });
  if (
    data !== null &&
    typeof data === "object" &&
    (Symbol.iterator in data || Symbol.asyncIterator in data)
  ) {
    const src = data as ItemSource;
    return new Resource(opts, { kind: "function", fn: () => src });
  }
  throw new TypeError(`resource "${opts.name}": data must be a function, an array or an iterable`);
}

/**
 * Defines a transformer: it receives each item (or page) its parent yields and yields derived items.
 *
 * @example
 * const details = transformer({ name: "details", parent: issues }, async function* (page) {
 *   for (const issue of page as { id: number }[]) yield await fetchDetails(issue.id);
 * });
 */
export function transformer(
  options: ResourceOptions & { parent?: Resource },
  fn: TransformerFunction,
): Resource {
  const { parent, ...rest } = options;
  return new Resource(rest, parent ? { kind: "transformer", fn, parent } : { kind: "transformer", fn });
}

/** True for resources, also those created by another copy of the package (a user module's own import). */
export const isResource = (x: unknown): x is Resource => isKind(x, "resource");
