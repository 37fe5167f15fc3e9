import type { QueryParams } from "../../http/types.js";
import { type ListContext, listPages, type StripeRecord } from "./lists.js";
import { MAX_EVENT_TYPES, type StripeObject } from "./objects.js";

/**
 * Where a table's changes were read up to: the `created` second of the newest event taken into account, and the
 * ids of the events of that second already applied (a later run reads that second again and skips them).
 */
export interface EventCursor {
  since: number;
  boundary: string[];
}

/** A change of one object, newest first: its latest snapshot (from the event), or its id to fetch it again. */
export type Change =
  | { kind: "snapshot"; record: StripeRecord }
  | { kind: "deleted"; record: StripeRecord }
  | { kind: "fetch"; id: string };

interface StripeEvent {
  id: string;
  type: string;
  created: number;
  data?: { object?: StripeRecord };
}

/** `created` of the account's newest event (Stripe's clock), or undefined when it has none. */
export async function newestEventCreated(c: ListContext): Promise<number | undefined> {
  const res = await c.http.request(
    { method: "GET", url: "v1/events", params: { limit: 1 } },
    { signal: c.signal, log: c.log },
  );
  const first = (res.json() as { data?: StripeEvent[] } | null)?.data?.[0];
  return typeof first?.created === "number" ? first.created : undefined;
}

function typeParams(o: StripeObject): QueryParams {
  const types = o.events ?? [];
  if (types.length > MAX_EVENT_TYPES) throw new Error(`${o.name}: more than ${MAX_EVENT_TYPES} event types`);
  return { "types[]": types };
}

/**
 * The cursor of a first run, taken before the objects are listed: the newest event's second, and the events of
 * this table's types in it (the listing that follows already shows their effect). An account without events
 * starts five minutes before now.
 */
export async function firstCursor(
  c: ListContext,
  o: StripeObject,
  newest: number | undefined,
): Promise<EventCursor> {
  if (newest === undefined) return { since: Math.floor(Date.now() / 1000) - 300, boundary: [] };
  const boundary: string[] = [];
  for await (const page of listPages(c, "v1/events", { ...typeParams(o), "created[gte]": newest })) {
    for (const e of page as StripeEvent[]) if (e.created >= newest) boundary.push(e.id);
  }
  return { since: newest, boundary };
}

/**
 * The changes of one table since a cursor, from its events (newest first, each object once: its newest event
 * wins). Deletions come as deleted snapshots; with `refetch` (the table needs expansions, which events never
 * carry) other changes come as ids to fetch again. `cursor` holds where the next run starts once all pages are read.
 */
export class EventFeed {
  cursor: EventCursor;
  readonly #c: ListContext;
  readonly #o: StripeObject;
  readonly #refetch: boolean;
  readonly #deletedType: string | undefined;

  constructor(c: ListContext, o: StripeObject, from: EventCursor, refetch: boolean, deletedType?: string) {
    this.#c = c;
    this.#o = o;
    this.cursor = { since: from.since, boundary: [...from.boundary] };
    this.#refetch = refetch;
    this.#deletedType = deletedType;
  }

  async *pages(): AsyncGenerator<Change[]> {
    const from = this.cursor;
    const skip = new Set(from.boundary);
    const seen = new Set<string>();
    let since = from.since;
    let boundary = new Set(from.boundary);
    for await (const page of listPages(this.#c, "v1/events", {
      ...typeParams(this.#o),
      "created[gte]": from.since,
    })) {
      const changes: Change[] = [];
      for (const e of page as StripeEvent[]) {
        if (skip.has(e.id) || typeof e.created !== "number" || e.created < from.since) continue;
        if (e.created > since) {
          since = e.created;
          boundary = new Set();
        }
        if (e.created === since) boundary.add(e.id);
        const change = this.#change(e);
        if (!change) continue;
        const id = change.kind === "fetch" ? change.id : (change.record.id as string);
        if (seen.has(id)) continue; // an older event of an object already taken
        seen.add(id);
        changes.push(change);
      }
      if (changes.length > 0) yield changes;
    }
    this.cursor = { since, boundary: [...boundary] };
  }

  #change(e: StripeEvent): Change | undefined {
    const obj = e.data?.object;
    if (!obj || typeof obj !== "object") return undefined;
    const o = this.#o;
    if (obj.object === o.object && typeof obj.id === "string") {
      if (e.type === this.#deletedType) return { kind: "deleted", record: { ...obj, deleted: true } };
      return this.#refetch ? { kind: "fetch", id: obj.id } : { kind: "snapshot", record: obj };
    }
    const rel = o.related;
    if (this.#refetch && rel && obj.object === rel.object) {
      const id = obj[rel.field];
      if (typeof id === "string") return { kind: "fetch", id };
    }
    return undefined;
  }
}
