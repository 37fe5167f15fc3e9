import { type Resource, type ResourceContext, resource, transformer } from "../../extract/resource.js";
import type { HttpClient } from "../../http/client.js";
import type { Logger } from "../../util/log.js";
import type { Carried } from "../common/carried.js";
import { coveredCursor, storeCursor } from "../common/cursor-state.js";
import {
  type CallContext,
  CursorExport,
  type CursorPosition,
  type TimePosition,
  timeExport,
} from "./exports.js";

type Json = Record<string, unknown>;

export interface ExportDeps {
  http: HttpClient;
  logTarget: { current: Logger };
  startSeconds: number;
  pageSize: number;
}

/**
 * `tickets`: the cursor-based ticket export (deleted tickets come with `status = deleted` unless excluded),
 * merged by id. When `ticket_metrics` is loaded too, the export side-loads each ticket's metric set and hands it to
 * that transformer: one export for both tables, and one cursor kept for the tables it covered.
 */
export function ticketsResource(
  d: ExportDeps,
  metrics: Carried<Json | null>,
  excludeDeleted: boolean,
): Resource {
  return resource(
    { name: "tickets", primaryKey: "id", writeDisposition: "merge", jsonItems: true },
    async function* (ctx: ResourceContext) {
      d.logTarget.current = ctx.log;
      const c: CallContext = { http: d.http, signal: ctx.signal, log: ctx.log };
      const withMetrics = ctx.selection.includes("ticket_metrics");
      const from = coveredCursor<CursorPosition>(ctx.state, "export", ctx.selection) ?? {
        start_time: d.startSeconds,
      };
      const feed = new CursorExport(c, "api/v2/incremental/tickets/cursor.json", from, {
        per_page: d.pageSize,
        ...(withMetrics ? { include: "metric_sets" } : {}),
        ...(excludeDeleted ? { exclude_deleted: true } : {}),
      });
      for await (const body of feed.pages()) {
        const tickets = (body.tickets as Json[] | undefined) ?? [];
        if (withMetrics) {
          const byTicket = new Map(
            ((body.metric_sets as Json[] | undefined) ?? []).map((m) => [m.ticket_id, m]),
          );
          // null: the export said this ticket has no metric set (a deleted ticket), nothing to ask for.
          for (const t of tickets) metrics.set(t, byTicket.get(t.id) ?? null);
        }
        if (tickets.length > 0) yield tickets;
      }
      storeCursor(ctx.state, "export", feed.position, ctx.selection);
    },
  );
}

/**
 * `ticket_metrics`: the metric set of each exported ticket (reply and resolution times, reopens...), side-loaded by
 * the ticket export; a ticket whose set did not come along (a `map` step replaced it) is asked for it.
 */
export function ticketMetricsTransformer(
  tickets: Resource,
  d: ExportDeps,
  metrics: Carried<Json | null>,
): Resource {
  return transformer(
    { name: "ticket_metrics", parent: tickets, primaryKey: "id", writeDisposition: "merge", jsonItems: true },
    async function* (page, ctx) {
      d.logTarget.current = ctx.log;
      const out: Json[] = [];
      for (const t of (Array.isArray(page) ? page : [page]) as Json[]) {
        const m = metrics.get(t);
        if (m) out.push(m);
        else if (m === undefined && t.status !== "deleted" && t.id !== undefined) {
          const res = await d.http.request(
            { method: "GET", url: `api/v2/tickets/${encodeURIComponent(String(t.id))}/metrics.json` },
            { signal: ctx.signal, log: ctx.log, accept: (s) => s === 404 },
          );
          const one =
            res.status === 404 ? undefined : (res.json() as { ticket_metric?: Json } | null)?.ticket_metric;
          if (one) out.push(one);
        }
      }
      if (out.length > 0) yield out;
    },
  );
}

/** `users`: the cursor-based user export (deleted users come with `active = false`), merged by id. */
export function usersResource(d: ExportDeps): Resource {
  return resource(
    { name: "users", primaryKey: "id", writeDisposition: "merge", jsonItems: true },
    async function* (ctx: ResourceContext) {
      d.logTarget.current = ctx.log;
      const c: CallContext = { http: d.http, signal: ctx.signal, log: ctx.log };
      const from = coveredCursor<CursorPosition>(ctx.state, "export", ctx.selection) ?? {
        start_time: d.startSeconds,
      };
      const feed = new CursorExport(c, "api/v2/incremental/users/cursor.json", from, {
        per_page: d.pageSize,
      });
      for await (const body of feed.pages()) {
        const users = (body.users as Json[] | undefined) ?? [];
        if (users.length > 0) yield users;
      }
      storeCursor(ctx.state, "export", feed.position, ctx.selection);
    },
  );
}

/** `organizations`: the time-based organization export (deleted ones carry `deleted_at`), merged by id. */
export function organizationsResource(d: ExportDeps): Resource {
  return resource(
    { name: "organizations", primaryKey: "id", writeDisposition: "merge", jsonItems: true },
    async function* (ctx: ResourceContext) {
      d.logTarget.current = ctx.log;
      const c: CallContext = { http: d.http, signal: ctx.signal, log: ctx.log };
      const from = coveredCursor<TimePosition>(ctx.state, "export", ctx.selection) ?? {
        start_time: d.startSeconds,
        ids: [],
      };
      let reached = from;
      yield* timeExport(c, "api/v2/incremental/organizations.json", "organizations", from, (p) => {
        reached = p;
      });
      storeCursor(ctx.state, "export", reached, ctx.selection);
    },
  );
}
