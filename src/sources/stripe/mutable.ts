import { type Resource, type ResourceContext, resource } from "../../extract/resource.js";
import type { HttpClient } from "../../http/client.js";
import type { Logger } from "../../util/log.js";
import type { Carried } from "../common/carried.js";
import { coveredCursor, storeCursor } from "../common/cursor-state.js";
import { type EventCursor, EventFeed, firstCursor, newestEventCreated } from "./events.js";
import {
  expandParams,
  type ListContext,
  listPages,
  type StripeList,
  type StripeRecord,
  unwrapLists,
} from "./lists.js";
import { EVENT_RETENTION_SECONDS, type StripeObject } from "./objects.js";

export interface MutableDeps {
  http: HttpClient;
  logTarget: { current: Logger };
  /** Expansions of the table (defaults and the user's), fields of the object. */
  expand: readonly string[];
  startSeconds: number | undefined;
  endSeconds: number | undefined;
  /** Invoices: where their `lines` go for the line items transformer. */
  lines?: Carried<StripeList>;
}

const CURSOR_KEY = "events";

/**
 * A Stripe object that changes after it is created (customers, subscriptions, invoices, ...): the first run lists
 * every object; later runs read the object's events since the stored position and merge the newest state of
 * each changed object (deleted ones keep their row with `deleted: true`). A position older than Stripe keeps
 * events (30 days) lists everything again.
 */
export function mutableResource(o: StripeObject, d: MutableDeps): Resource {
  return resource(
    { name: o.name, primaryKey: "id", writeDisposition: "merge", jsonItems: true },
    async function* (ctx: ResourceContext) {
      d.logTarget.current = ctx.log;
      const c: ListContext = { http: d.http, signal: ctx.signal, log: ctx.log };
      const stored = coveredCursor<EventCursor>(ctx.state, CURSOR_KEY, ctx.selection);
      const newest = await newestEventCreated(c);
      if (stored && (newest === undefined || stored.since >= newest - EVENT_RETENTION_SECONDS)) {
        const feed = new EventFeed(c, o, stored, d.expand.length > 0, o.deleted);
        let changed = 0;
        for await (const changes of feed.pages()) {
          const records: StripeRecord[] = [];
          const fetched = await Promise.all(
            changes.map((ch) => (ch.kind === "fetch" ? fetchOne(c, o, ch.id, d.expand) : ch.record)),
          );
          for (const r of fetched) if (r && inWindow(r, d)) records.push(await prepare(c, o, r, d));
          changed += records.length;
          if (records.length > 0) yield records;
        }
        ctx.log.info(`${changed} changed since ${new Date(stored.since * 1000).toISOString()} (events)`);
        storeCursor(ctx.state, CURSOR_KEY, feed.cursor, ctx.selection);
        return;
      }
      if (stored) {
        ctx.log.warn(
          `the stored position (${new Date(stored.since * 1000).toISOString()}) is older than Stripe keeps events (30 days): listing every ${o.object} again`,
        );
      }
      const start = await firstCursor(c, o, newest);
      const params = {
        ...o.params,
        ...(d.startSeconds !== undefined ? { "created[gte]": d.startSeconds } : {}),
        ...(d.endSeconds !== undefined ? { "created[lt]": d.endSeconds } : {}),
        ...expandParams(d.expand, true),
      };
      for await (const page of listPages(c, o.path, params)) {
        const records: StripeRecord[] = [];
        for (const r of page as StripeRecord[]) records.push(await prepare(c, o, r, d));
        if (records.length > 0) yield records;
      }
      storeCursor(ctx.state, CURSOR_KEY, start, ctx.selection);
    },
  );
}

function inWindow(r: StripeRecord, d: MutableDeps): boolean {
  const created = r.created;
  if (typeof created !== "number") return true;
  if (d.startSeconds !== undefined && created < d.startSeconds) return false;
  return d.endSeconds === undefined || created < d.endSeconds;
}

/** Embedded lists become their records (the rest of their pages fetched); an invoice's lines go to its line items. */
async function prepare(
  c: ListContext,
  o: StripeObject,
  r: StripeRecord,
  d: MutableDeps,
): Promise<StripeRecord> {
  if (d.lines && "lines" in r) {
    const lines = r.lines;
    delete r.lines;
    if (lines && typeof lines === "object") d.lines.set(r, lines as StripeList);
  }
  return o.name === "invoices" ? unwrapLists(c, r, ["lines"]) : unwrapLists(c, r);
}

/** One object again, with the table's expansions; one that is gone comes back with `deleted: true`. */
async function fetchOne(
  c: ListContext,
  o: StripeObject,
  id: string,
  expand: readonly string[],
): Promise<StripeRecord | undefined> {
  const res = await c.http.request(
    { method: "GET", url: `${o.path}/${encodeURIComponent(id)}`, params: expandParams(expand, false) },
    { signal: c.signal, log: c.log, accept: (status) => status === 404 },
  );
  if (res.status === 404) {
    c.log.info(`${o.object} ${id} no longer exists (404); its row is kept with deleted = true`);
    return { id, object: o.object, deleted: true };
  }
  return res.json() as StripeRecord;
}
