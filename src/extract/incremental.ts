import type { IncrementalState } from "../package/state.js";
import { ConfigError, ExtractError } from "../util/errors.js";
import { shortHash } from "../util/hash.js";

/**
 * Incremental loading options for a resource.
 *
 * @example
 * incremental: { cursor: "updated_at", initialValue: "2024-01-01T00:00:00Z" }
 */
export interface IncrementalOptions<T = unknown> {
  /** Field path of the cursor in each record: `updated_at`, `meta.updated`, or `a.b.c`. */
  cursor: string;
  initialValue?: T;
  /** Exclusive upper bound; with it set the run is a backfill and the stored cursor is not moved. */
  endValue?: T;
  lastValueFunc?: "max" | "min";
  /** Re-read this much before the stored value (seconds for dates, units for numbers). Meant for merge. */
  lag?: number;
  /** What to do with records that lack the cursor (or have null): raise (default), include, exclude. */
  onCursorMissing?: "raise" | "include" | "exclude";
  /** Fields that identify a record for boundary deduplication; defaults to the resource's primary key. */
  primaryKey?: string | string[];
}

/** What a resource function sees as `ctx.incremental`. */
export interface IncrementalContext {
  readonly cursor: string;
  /** Where this run starts: the stored last value (minus lag) or the initial value. */
  readonly startValue: unknown;
  readonly endValue: unknown;
  /** The highest (or lowest, for min) cursor value seen so far in this run. */
  readonly lastValue: unknown;
}

export const BOUNDARY_WARN_LIMIT = 10_000;

/** Reads `a.b.c` from a record. */
export function getPath(item: unknown, path: string): unknown {
  if (item === null || typeof item !== "object") return undefined;
  const direct = (item as Record<string, unknown>)[path];
  if (direct !== undefined || !path.includes(".")) return direct;
  let cur: unknown = item;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Compares cursor values: numbers and bigints numerically, dates and ISO strings by instant, else as strings. */
export function compareCursor(a: unknown, b: unknown): number {
  let na = toComparable(a);
  let nb = toComparable(b);
  // State stores a bigint cursor as a decimal string: compare it with bigints numerically again.
  if (typeof na === "bigint" && typeof nb === "string" && INTEGER_RE.test(nb)) nb = BigInt(nb);
  else if (typeof nb === "bigint" && typeof na === "string" && INTEGER_RE.test(na)) na = BigInt(na);
  const numeric = typeof na !== "string" && typeof nb !== "string"; // number vs bigint compares fine in JS
  if (typeof na === typeof nb || numeric) return na < nb ? -1 : na > nb ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

const INTEGER_RE = /^-?\d+$/;

function toComparable(v: unknown): number | bigint | string {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return String(v);
}

function applyLag(value: unknown, lag: number, func: "max" | "min"): unknown {
  const sign = func === "max" ? -1 : 1;
  if (typeof value === "number") return value + sign * lag;
  if (typeof value === "bigint") return value + BigInt(sign * Math.ceil(lag));
  // A bigint cursor restored from state (a decimal string): not a date.
  if (typeof value === "string" && INTEGER_RE.test(value))
    return BigInt(value) + BigInt(sign * Math.ceil(lag));
  const t =
    value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) return value;
  const shifted = new Date(t + sign * lag * 1000);
  return value instanceof Date ? shifted : shifted.toISOString();
}

/**
 * Filters records of one run against the stored cursor and tracks the new boundary.
 * Records strictly before the start are dropped; records equal to the stored boundary that were already
 * loaded (same hash) are dropped too, so re-reading the boundary never duplicates rows.
 */
export class IncrementalTracker implements IncrementalContext {
  readonly cursor: string;
  readonly startValue: unknown;
  readonly endValue: unknown;
  readonly #opts: IncrementalOptions;
  readonly #func: "max" | "min";
  readonly #previous: IncrementalState | undefined;
  /** The stored last value this run continues from; none for an endValue backfill, which starts at initialValue. */
  readonly #stored: unknown;
  readonly #previousHashes: Set<string>;
  readonly #keyFields: string[] | undefined;
  #last: unknown;
  #boundary = new Set<string>();
  readonly #resource: string;

  constructor(
    resource: string,
    opts: IncrementalOptions,
    previous: IncrementalState | undefined,
    primaryKey?: string[],
  ) {
    if (!opts.cursor) throw new ConfigError(`resource "${resource}": incremental needs a cursor field path`);
    this.#resource = resource;
    this.#opts = opts;
    this.cursor = opts.cursor;
    this.#func = opts.lastValueFunc ?? "max";
    this.#previous = previous;
    this.#previousHashes = new Set(previous?.boundaryHashes ?? []);
    const pk = opts.primaryKey ?? primaryKey;
    this.#keyFields = pk === undefined ? undefined : Array.isArray(pk) ? pk : [pk];
    const stored = opts.endValue !== undefined ? undefined : previous?.lastValue;
    this.#stored = stored;
    let start = stored ?? opts.initialValue;
    if (stored !== undefined && opts.lag) start = applyLag(stored, opts.lag, this.#func);
    this.startValue = start;
    this.endValue = opts.endValue;
    this.#last = stored;
    if (stored !== undefined) for (const h of this.#previousHashes) this.#boundary.add(h);
  }

  get lastValue(): unknown {
    return this.#last;
  }

  /** Returns true when the record belongs in this run. */
  accept(item: unknown): boolean {
    const value = getPath(item, this.cursor);
    if (value === undefined || value === null) {
      const mode = this.#opts.onCursorMissing ?? "raise";
      if (mode === "include") return true;
      if (mode === "exclude") return false;
      throw new ExtractError(
        `cursor "${this.cursor}" is missing or null in a record of resource "${this.#resource}"`,
        {
          fields: { resource: this.#resource },
          hint: 'set incremental.onCursorMissing to "include" or "exclude", or fix the cursor path',
        },
      );
    }
    const dir = this.#func === "max" ? 1 : -1;
    if (this.startValue !== undefined && dir * compareCursor(value, this.startValue) < 0) return false;
    if (this.endValue !== undefined && dir * compareCursor(value, this.endValue) >= 0) return false;
    const stored = this.#stored;
    const hash = stored !== undefined || this.#last !== undefined ? this.#hash(item) : undefined;
    if (stored !== undefined && !this.#opts.lag && compareCursor(value, stored) === 0 && hash !== undefined) {
      if (this.#previousHashes.has(hash)) return false;
    }
    this.#track(value, item, hash);
    return true;
  }

  #track(value: unknown, item: unknown, knownHash: string | undefined): void {
    const dir = this.#func === "max" ? 1 : -1;
    const cmp = this.#last === undefined ? 1 : dir * compareCursor(value, this.#last);
    if (cmp > 0) {
      this.#last = value;
      this.#boundary = new Set([knownHash ?? this.#hash(item)]);
    } else if (cmp === 0) {
      this.#boundary.add(knownHash ?? this.#hash(item));
    }
  }

  #hash(item: unknown): string {
    if (this.#keyFields)
      return shortHash(JSON.stringify(this.#keyFields.map((k) => String(getPath(item, k)))), 12);
    return shortHash(
      JSON.stringify(item, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
      12,
    );
  }

  /** The state to store after this run; undefined when the run must not move the cursor (endValue backfills). */
  nextState(): IncrementalState | undefined {
    if (this.#opts.endValue !== undefined) return this.#previous;
    if (this.#last === undefined) return this.#previous;
    const lastValue = this.#last instanceof Date ? this.#last.toISOString() : this.#last;
    return {
      lastValue: typeof lastValue === "bigint" ? lastValue.toString() : lastValue,
      boundaryHashes: [...this.#boundary],
      ...(this.#opts.initialValue !== undefined ? { initialValue: this.#opts.initialValue } : {}),
    };
  }

  get boundarySize(): number {
    return this.#boundary.size;
  }
}
