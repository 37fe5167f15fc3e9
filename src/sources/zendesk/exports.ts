import type { HttpClient } from "../../http/client.js";
import type { QueryParams } from "../../http/types.js";
import type { Logger } from "../../util/log.js";

export interface CallContext {
  http: HttpClient;
  signal: AbortSignal;
  log: Logger;
}

/** Where a cursor-based export continues: the `after_cursor` of its last page, or (never run) a start time. */
export type CursorPosition = { cursor: string } | { start_time: number };

type Json = Record<string, unknown>;

/**
 * A cursor-based incremental export (tickets, users): the first request gives `start_time`, the next ones the
 * `after_cursor` of the page before, until `end_of_stream`. The last `after_cursor` is where the next run
 * continues (Zendesk returns an item again when it changed after it was exported).
 */
export class CursorExport {
  position: CursorPosition;
  readonly #c: CallContext;
  readonly #path: string;
  readonly #params: QueryParams;

  constructor(c: CallContext, path: string, from: CursorPosition, params: QueryParams) {
    this.#c = c;
    this.#path = path;
    this.position = from;
    this.#params = params;
  }

  /** Each page's body (the records under their key, side-loads beside them). */
  async *pages(): AsyncGenerator<Json> {
    const seen = new Set<string>();
    let at: CursorPosition = this.position;
    for (;;) {
      const res = await this.#c.http.request(
        { method: "GET", url: this.#path, params: { ...this.#params, ...at } },
        { signal: this.#c.signal, log: this.#c.log },
      );
      const body = (res.json() as Json | null) ?? {};
      yield body;
      const next = body.after_cursor;
      if (typeof next === "string" && next.length > 0) {
        at = { cursor: next };
        this.position = at;
      }
      if (body.end_of_stream === true) return;
      if (typeof next !== "string" || next.length === 0 || seen.has(next)) {
        this.#c.log.warn(
          `${this.#path}: the export gave no new cursor before its end; continuing from here next run`,
        );
        return;
      }
      seen.add(next);
    }
  }
}

/** Where a time-based export continues: its last `end_time`, and the ids of that second already loaded. */
export interface TimePosition {
  start_time: number;
  ids: number[];
}

const seconds = (iso: unknown) => (typeof iso === "string" ? Math.floor(Date.parse(iso) / 1000) : Number.NaN);

/**
 * A time-based incremental export (organizations): `start_time`, then each page's `next_page` until
 * `end_of_stream`. Items of the last second come again next run; those already loaded (same id, same
 * `updated_at`) are skipped.
 */
export async function* timeExport(
  c: CallContext,
  path: string,
  key: string,
  from: TimePosition,
  done: (p: TimePosition) => void,
): AsyncGenerator<Json[]> {
  let url = path;
  let params: QueryParams = { start_time: from.start_time };
  // Items of the second a page starts at that were already loaded (by the last run, or by the page before).
  let position: TimePosition = { start_time: from.start_time, ids: [...from.ids] };
  const seen = new Set<string>();
  for (;;) {
    const res = await c.http.request({ method: "GET", url, params }, { signal: c.signal, log: c.log });
    const body = (res.json() as Json | null) ?? {};
    const skip = new Set(position.ids);
    const items = ((body[key] as Json[] | undefined) ?? []).filter(
      (it) => !(seconds(it.updated_at) === position.start_time && skip.has(Number(it.id))),
    );
    const end = Number(body.end_time);
    if (Number.isFinite(end)) {
      const ids = items.filter((it) => seconds(it.updated_at) === end).map((it) => Number(it.id));
      position =
        end === position.start_time
          ? { start_time: end, ids: [...new Set([...position.ids, ...ids])] }
          : { start_time: end, ids };
    }
    if (items.length > 0) yield items;
    const next = body.next_page;
    if (body.end_of_stream === true || typeof next !== "string" || seen.has(next)) break;
    seen.add(next);
    url = next;
    params = {};
  }
  done(position);
}
