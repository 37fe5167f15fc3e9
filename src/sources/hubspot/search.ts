import type { HttpResponse } from "../../http/types.js";
import { SEARCH_PAGE, SEARCH_RESULT_LIMIT } from "./objects.js";
import { type CallContext, type RawObject, serverTime } from "./records.js";

/** Where a table's changes were read up to: a last-modified time (ms) and the ids at that time already loaded. */
export interface Position {
  value: number;
  ids: string[];
}

type Filter = { propertyName: string; operator: "GT" | "GTE" | "EQ"; value: string };

/** A query window: by last-modified time, or (more than 10,000 objects share one time) by id within that time. */
type Window =
  | { kind: "time"; operator: "GT" | "GTE"; value: number }
  | { kind: "drain"; at: number; afterId: number };

/** Changes read this close to the server's present may not be in the search index yet: read them again next run. */
const INDEX_LAG_MS = 30_000;

const modifiedAt = (r: RawObject): number => Date.parse(r.updatedAt ?? "");

/**
 * The objects of one type changed since a position, through the search API sorted by last-modified time. A query
 * returns at most 10,000 results, so when a window is full the next one starts at the newest time read (the ids
 * already loaded at that time are skipped); when 10,000 objects share one time, that time is read by object id.
 * `position` holds where the next run starts once every page is read.
 */
export class SearchFeed {
  position: Position;
  /** Queries sent (windows), for logs and tests. */
  windows = 0;
  readonly #c: CallContext;
  readonly #type: string;
  readonly #lastModified: string;
  readonly #properties: string[];

  constructor(
    c: CallContext,
    objectType: string,
    lastModified: string,
    properties: string[],
    from: Position,
  ) {
    this.#c = c;
    this.#type = objectType;
    this.#lastModified = lastModified;
    this.#properties = properties;
    this.position = { value: from.value, ids: [...from.ids] };
  }

  async *pages(): AsyncGenerator<RawObject[]> {
    let boundary = this.position.value;
    let boundaryIds = new Set(this.position.ids);
    let window: Window = { kind: "time", operator: "GTE", value: boundary };
    let now: number | undefined;
    for (;;) {
      this.windows++;
      let after: string | undefined;
      let full = false;
      let lastId: number = window.kind === "drain" ? window.afterId : 0;
      // Whether the last page held one time only: then a window starting at that time would not move on.
      let crowded = false;
      for (;;) {
        const res = await this.#search(window, after);
        now = serverTime(res.headers) ?? now;
        const body = res.json() as { results?: RawObject[]; paging?: { next?: { after?: string } } } | null;
        const out: RawObject[] = [];
        const results = body?.results ?? [];
        crowded =
          results.length > 1 && results.every((r) => modifiedAt(r) === modifiedAt(results[0] as RawObject));
        for (const r of results) {
          const ts = modifiedAt(r);
          lastId = Math.max(lastId, Number(r.id));
          if (Number.isNaN(ts) || ts < boundary) continue;
          if (ts === boundary && boundaryIds.has(r.id)) continue;
          if (ts > boundary) {
            boundary = ts;
            boundaryIds = new Set();
          }
          boundaryIds.add(r.id);
          out.push(r);
        }
        if (out.length > 0) yield out;
        after = body?.paging?.next?.after;
        if (!after) break;
        if (Number(after) >= SEARCH_RESULT_LIMIT) {
          full = true;
          break;
        }
      }
      if (full) {
        // The next window: from the newest time read, or through one crowded time by id.
        if (window.kind === "drain") window = { kind: "drain", at: window.at, afterId: lastId };
        else if (boundary > window.value && !crowded)
          window = { kind: "time", operator: "GTE", value: boundary };
        else window = { kind: "drain", at: boundary, afterId: 0 };
        continue;
      }
      if (window.kind === "drain") {
        window = { kind: "time", operator: "GT", value: window.at };
        continue;
      }
      break;
    }
    const safe = (now ?? Date.now()) - INDEX_LAG_MS;
    this.position = boundary > safe ? { value: safe, ids: [] } : { value: boundary, ids: [...boundaryIds] };
  }

  #search(w: Window, after: string | undefined): Promise<HttpResponse> {
    const lm = this.#lastModified;
    const filters: Filter[] =
      w.kind === "time"
        ? [{ propertyName: lm, operator: w.operator, value: String(w.value) }]
        : [
            { propertyName: lm, operator: "EQ", value: String(w.at) },
            { propertyName: "hs_object_id", operator: "GT", value: String(w.afterId) },
          ];
    return this.#c.http.request(
      {
        method: "POST",
        url: `crm/v3/objects/${this.#type}/search`,
        json: {
          filterGroups: [{ filters }],
          sorts: [{ propertyName: w.kind === "time" ? lm : "hs_object_id", direction: "ASCENDING" }],
          properties: this.#properties,
          limit: SEARCH_PAGE,
          ...(after ? { after } : {}),
        },
      },
      { signal: this.#c.signal, log: this.#c.log },
    );
  }
}
