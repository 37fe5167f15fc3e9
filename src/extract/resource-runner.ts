import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ResourceState } from "../package/state.js";
import type { TableHints } from "../package/table-hints.js";
import { normalizeIdentifier } from "../schema/naming.js";
import { resolveWriteDisposition } from "../schema/types.js";
import { ExtractError, errorMessage, isFerryError } from "../util/errors.js";
import { shortHash } from "../util/hash.js";
import { childLogger } from "../util/log.js";
import type { ExtractOptions } from "./extractor.js";
import { type IncrementalContext, IncrementalTracker } from "./incremental.js";
import { isJsonLines, type JsonLines } from "./json-lines.js";
import type { Item, ItemSource, Resource, ResourceContext } from "./resource.js";
import type { Source } from "./source.js";
import { isTypedCsvFile, type TypedCsvFile, type TypedCsvOffer } from "./typed-csv.js";

const toArray = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

function isIterable(v: unknown): v is ItemSource {
  return v !== null && typeof v === "object" && (Symbol.iterator in v || Symbol.asyncIterator in v);
}

class LimitReached extends Error {}

/**
 * Runs one resource of an extraction: calls its function (or transformer) with its context, applies the incremental
 * filter and its steps to each item, writes what it keeps to the sink and hands it on to its transformers.
 */
export class ResourceRunner {
  readonly #r: Resource;
  readonly #state: ResourceState;
  readonly #opts: ExtractOptions;
  readonly #items: Record<string, number>;
  readonly #tracker: IncrementalTracker | undefined;
  readonly #ctx: ResourceContext;
  #typedCsv: TypedCsvOffer | undefined;
  /** Why this resource may not yield typed CSV files (undefined: it may). */
  readonly #csvBlocker: string | undefined;
  readonly #hints: TableHints;
  readonly #staticTable: string | undefined;
  readonly #declared = new Set<string>();
  readonly #limit: number | undefined;
  /** Plain JSON records, unless a map step may have put other values in. */
  readonly #jsonItems: boolean;
  /** Transformers take this resource's items. */
  readonly #feeds: boolean;
  #count = 0;

  constructor(
    r: Resource,
    src: Source,
    state: ResourceState,
    opts: ExtractOptions,
    items: Record<string, number>,
    feeds: boolean,
    selection: readonly string[] = r.selected ? [r.name] : [],
  ) {
    this.#r = r;
    this.#feeds = feeds;
    this.#state = state;
    this.#opts = opts;
    this.#items = items;
    const o = r.options;
    const pk = toArray(o.primaryKey);
    const inc = o.incremental;
    this.#signal = opts.signal;
    this.#tracker = inc
      ? new IncrementalTracker(r.name, inc, state.incremental?.[inc.cursor], pk)
      : undefined;
    state.state ??= {};
    const userState = state.state;
    const incremental: IncrementalContext = this.#tracker ?? {
      cursor: "",
      startValue: undefined,
      endValue: undefined,
      lastValue: undefined,
    };
    const runner = this;
    this.#ctx = {
      resourceName: r.name,
      incremental,
      state: userState,
      // The signal of the run, or of the concurrent group this root resource runs in.
      get signal() {
        return runner.#signal;
      },
      log: childLogger(opts.log, r.name),
      selection: Object.freeze([...selection]),
      get typedCsv() {
        return runner.#typedCsv;
      },
    };
    const wd = resolveWriteDisposition(o.writeDisposition);
    const mk = toArray(o.mergeKey);
    const contract = opts.schemaContract ?? o.schemaContract ?? src.schemaContract;
    const nesting = o.maxTableNesting ?? src.maxTableNesting;
    this.#hints = {
      resource: r.name,
      writeDisposition: wd.disposition,
      ...(wd.strategy ? { mergeStrategy: wd.strategy } : {}),
      ...(pk ? { primaryKey: pk } : {}),
      ...(mk ? { mergeKey: mk } : {}),
      ...(o.columns ? { columns: o.columns } : {}),
      ...(contract !== undefined ? { schemaContract: contract } : {}),
      ...(nesting !== undefined ? { maxTableNesting: nesting } : {}),
      ...(o.tableFormat !== undefined ? { tableFormat: o.tableFormat } : {}),
      ...(o.storage ? { storage: o.storage } : {}),
    };
    if (wd.disposition === "merge" && !pk && !mk) {
      throw new ExtractError(`resource "${r.name}" uses merge but has no primaryKey or mergeKey`, {
        fields: { resource: r.name },
        hint: "set primaryKey (or mergeKey) on the resource, or use append",
      });
    }
    this.#staticTable = typeof o.table === "function" ? undefined : normalizeIdentifier(o.table ?? r.name);
    // Declaring static tables up front lets "replace" empty a table even when the resource yields nothing.
    if (this.#staticTable && r.selected) this.#declare(this.#staticTable);
    const limitStep = r.steps.find((s) => s.kind === "limit");
    this.#limit = limitStep?.kind === "limit" ? limitStep.count : undefined;
    this.#jsonItems = o.jsonItems === true && !r.steps.some((s) => s.kind === "map");
    this.#csvBlocker = this.#typedCsvBlocker(wd.disposition);
    const root = opts.wholeFiles?.dir;
    if (root !== undefined && this.#csvBlocker === undefined) {
      // A folder of its own for the resource's typed CSV files (see `ResourceContext.typedCsv`).
      const dir = join(root, shortHash(r.name, 10));
      mkdirSync(dir, { recursive: true });
      this.#typedCsv = { dir };
    }
  }

  /** What keeps this resource from handing over typed CSV files, if anything. */
  #typedCsvBlocker(disposition: string): string | undefined {
    if (!this.#opts.wholeFiles?.formats.includes("typed_csv"))
      return "a destination that does not read typed CSV";
    if (disposition !== "append" && disposition !== "replace") return `write disposition ${disposition}`;
    if (this.#feeds) return "transformers fed by it";
    return this.#recordBlocker();
  }

  /** What needs each record at extract: an incremental cursor, steps, a limit, a table function. */
  #recordBlocker(): string | undefined {
    return this.#tracker
      ? "an incremental cursor"
      : this.#r.steps.some((s) => s.kind === "map" || s.kind === "filter")
        ? "map or filter steps"
        : this.#limit !== undefined
          ? "a limit"
          : this.#staticTable === undefined
            ? "a table function"
            : undefined;
  }

  async runRoot(emit: (chunk: Item) => Promise<void>, signal: AbortSignal): Promise<void> {
    const body = this.#r.body;
    if (body.kind !== "function") return;
    if (this.#limit === 0) return;
    this.#signal = signal;
    await this.#drain(() => body.fn(this.#ctx), emit);
  }

  #signal: AbortSignal;

  async runTransformer(input: Item, emit: (chunk: Item) => Promise<void>): Promise<void> {
    const body = this.#r.body;
    if (body.kind !== "transformer") return;
    if (this.#limit !== undefined && this.#count >= this.#limit) return;
    await this.#drain(() => body.fn(input, this.#ctx), emit);
  }

  async #drain(call: () => unknown, emit: (chunk: Item) => Promise<void>): Promise<void> {
    let produced: unknown;
    try {
      produced = await call();
    } catch (err) {
      throw this.#wrap(err);
    }
    if (!isIterable(produced)) {
      // A transformer may return a single item (or a promise of one) instead of yielding.
      if (produced !== undefined) await this.#handleChunk(produced, emit);
      return;
    }
    try {
      if (Symbol.asyncIterator in produced || !Array.isArray(produced)) {
        for await (const chunk of produced as AsyncIterable<Item>) {
          this.#signal.throwIfAborted();
          await this.#handleChunk(chunk, emit);
        }
      } else {
        // A plain array returned by a resource function is a list of records, not one page per element.
        await this.#handleChunk(produced, emit);
      }
    } catch (err) {
      if (err instanceof LimitReached) return;
      throw this.#wrap(err);
    }
  }

  async #handleChunk(chunk: Item, emit: (chunk: Item) => Promise<void>): Promise<void> {
    if (isJsonLines(chunk)) return this.#handleLines(chunk, emit);
    if (isTypedCsvFile(chunk)) return this.#handleTypedCsv(chunk);
    const isPage = Array.isArray(chunk);
    const records = isPage ? (chunk as Item[]) : [chunk];
    const kept: Item[] = [];
    let limitHit = false;
    for (let rec of records) {
      if (this.#tracker && !this.#tracker.accept(rec)) continue;
      let keep = true;
      for (const step of this.#r.steps) {
        if (step.kind === "map") rec = step.fn(rec);
        else if (step.kind === "filter" && !step.fn(rec)) {
          keep = false;
          break;
        }
      }
      if (!keep) continue;
      if (this.#limit !== undefined && this.#count >= this.#limit) {
        limitHit = true;
        break;
      }
      this.#count++;
      kept.push(rec);
      if (this.#r.selected) {
        const pending = this.#write(rec);
        if (pending) await pending;
      }
    }
    if (this.#count > 0 && this.#count % 1000 < kept.length) this.#progress();
    if (kept.length > 0) await emit(isPage ? kept : kept[0]);
    if (limitHit || (this.#limit !== undefined && this.#count >= this.#limit)) throw new LimitReached();
  }

  /** NDJSON lines go to the package unparsed; only what needs each record at extract rules them out. */
  async #handleLines(chunk: JsonLines, emit: (chunk: Item) => Promise<void>): Promise<void> {
    const blocker = this.#recordBlocker();
    if (blocker !== undefined) {
      throw new ExtractError(
        `resource "${this.#r.name}" yielded jsonLines(), which cannot go through ${blocker}: that needs each record at extract`,
        {
          fields: { resource: this.#r.name },
          hint: "yield parsed records (JSON.parse each line) from this resource instead",
        },
      );
    }
    if (chunk.lines === 0) return;
    this.#count += chunk.lines;
    if (this.#r.selected) {
      const table = this.#staticTable as string;
      this.#items[table] = (this.#items[table] ?? 0) + chunk.lines;
      const pending = this.#opts.sink.writeLines(table, chunk);
      if (pending) await pending;
    }
    if (this.#count % 1000 < chunk.lines) this.#progress();
    if (this.#feeds) await emit(chunk.records());
  }

  /** A typed CSV file goes into the package whole; only a resource offered `ctx.typedCsv` may yield one. */
  async #handleTypedCsv(file: TypedCsvFile): Promise<void> {
    const blocker = this.#typedCsvBlocker(
      resolveWriteDisposition(this.#r.options.writeDisposition).disposition,
    );
    if (blocker !== undefined) {
      throw new ExtractError(
        `resource "${this.#r.name}" yielded a TypedCsvFile, which cannot go through ${blocker}`,
        {
          fields: { resource: this.#r.name },
          hint: "yield typed CSV files only when ctx.typedCsv is set; yield records otherwise",
        },
      );
    }
    this.#count += file.rows;
    if (this.#r.selected) {
      const table = this.#staticTable as string;
      this.#items[table] = (this.#items[table] ?? 0) + file.rows;
      await this.#opts.sink.writeWholeFile(table, file);
    }
    this.#progress();
  }

  #write(rec: Item): Promise<void> | undefined {
    let table = this.#staticTable;
    if (table === undefined) {
      const fn = this.#r.options.table as (item: Item) => string;
      const raw = fn(rec);
      if (typeof raw !== "string" || raw.trim() === "") {
        throw new ExtractError(
          `resource "${this.#r.name}": the table function returned ${JSON.stringify(raw)}`,
          {
            fields: { resource: this.#r.name },
            hint: "return a non-empty table name for every item",
          },
        );
      }
      table = normalizeIdentifier(raw);
      if (!this.#declared.has(table)) this.#declare(table);
    }
    this.#items[table] = (this.#items[table] ?? 0) + 1;
    return this.#opts.sink.write(table, rec, this.#jsonItems);
  }

  #declare(table: string): void {
    this.#declared.add(table);
    this.#opts.sink.declareTable(table, this.#hints);
  }

  #progress(): void {
    this.#opts.onProgress?.({ resource: this.#r.name, items: this.#count });
  }

  #wrap(err: unknown): unknown {
    if (isFerryError(err)) {
      if (err.fields.resource === undefined) (err.fields as Record<string, unknown>).resource = this.#r.name;
      return err;
    }
    if (err instanceof LimitReached) return err;
    return new ExtractError(`resource "${this.#r.name}" failed: ${errorMessage(err)}`, {
      cause: err,
      fields: { resource: this.#r.name },
      hint: "the error was raised by the resource's own code; fix it and run again (nothing was loaded)",
    });
  }

  finish(): void {
    this.#progress();
    const inc = this.#r.options.incremental;
    // A resource that only ran to feed its transformers loaded nothing: its cursor must not move, or the next full
    // run would skip records that were never loaded.
    if (this.#tracker && inc && this.#r.selected) {
      const next = this.#tracker.nextState();
      if (next) this.#state.incremental = { ...(this.#state.incremental ?? {}), [inc.cursor]: next };
      if (this.#tracker.boundarySize > 10_000) {
        this.#ctx.log.warn(
          `${this.#tracker.boundarySize} records share the last cursor value; their hashes are kept for deduplication. Use a finer cursor to keep state small.`,
        );
      }
    }
    if (this.#state.state && Object.keys(this.#state.state).length === 0) delete this.#state.state;
  }
}
