import type { FakeRequest } from "../fake-api.js";
import {
  type FakeObject,
  type FakeProperty,
  lastModifiedOf,
  listDefaults,
  matches,
  type SearchFilter,
  sortBy,
} from "./hubspot-data.js";
import { HUBSPOT_OBJECT_TYPES, type HubSpotPortal } from "./hubspot-portal.js";

/**
 * The answers of the fake HubSpot's endpoints, from HubSpot's CRM API reference, over a portal's data.
 */

export type Json = Record<string, unknown>;
export type Answer = { status?: number; json: unknown };

/** A HubSpot error answer (`{ status: "error", message, category }`). */
export class HubSpotHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message));
  }
}

export const validation = (message: string) =>
  new HubSpotHttpError(400, { status: "error", message, category: "VALIDATION_ERROR" });

/** An object as the API shows it: the properties asked for (null when unset), its own fields. */
export function render(p: HubSpotPortal, type: string, o: FakeObject, names: string[]): Json {
  const properties: Record<string, string | null> = {};
  for (const n of names) if (definitionsOf(p, type).has(n)) properties[n] = o.properties[n] ?? null;
  return {
    id: o.id,
    properties,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    archived: o.archived,
    ...(o.archivedAt ? { archivedAt: o.archivedAt } : {}),
  };
}

function definitionsOf(p: HubSpotPortal, type: string): Map<string, FakeProperty> {
  return new Map(p.definitions(type).map((d) => [d.name, d]));
}

/** `limit` of a query or body, checked against the endpoint's most. */
function limitOf(q: URLSearchParams | Json, max: number, fallback: number): number {
  const raw = q instanceof URLSearchParams ? q.get("limit") : (q.limit as unknown);
  const n = raw === null || raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw validation(`limit must be between 1 and ${max}, got ${String(raw)}`);
  return n;
}

/** `GET /crm/v3/objects/{type}`: by id, `limit` up to 100, `after` cursor, `properties`, `archived`. */
export function listObjects(p: HubSpotPortal, url: string, type: string, r: FakeRequest): Json {
  const q = r.query;
  const limit = limitOf(q, 100, 10);
  const archived = q.get("archived") === "true";
  const names = q.get("properties") ? (q.get("properties") as string).split(",") : listDefaults(type);
  const all = p
    .objectsOf(type)
    .filter((o) => o.archived === archived)
    .sort((a, b) => Number(a.id) - Number(b.id));
  const after = q.get("after");
  const from = after ? all.findIndex((o) => Number(o.id) >= Number(after)) : 0;
  const page = from < 0 ? [] : all.slice(from, from + limit);
  const next = from < 0 ? undefined : all[from + limit];
  return {
    results: page.map((o) => render(p, type, o, names)),
    ...(next ? { paging: { next: { after: next.id, link: `${url}${r.path}?after=${next.id}` } } } : {}),
  };
}

/** `POST /crm/v3/objects/{type}/search`: filter groups, one sort, 200 a page, offsets up to 10,000. */
export function search(p: HubSpotPortal, type: string, body: Json): Json {
  const limit = limitOf(body, 200, 10);
  const after = body.after === undefined ? 0 : Number(body.after);
  if (!Number.isInteger(after) || after < 0)
    throw validation(`after must be a non-negative integer, got ${String(body.after)}`);
  if (after >= 10_000) {
    throw validation(
      "Search results are limited to 10,000 per query: paging past 10,000 results is not supported. Narrow the query with filters.",
    );
  }
  const defs = definitionsOf(p, type);
  const groups = (body.filterGroups as { filters?: SearchFilter[] }[] | undefined) ?? [];
  if (groups.length > 5) throw validation("At most 5 filter groups");
  const sorts = (body.sorts as { propertyName: string; direction?: string }[] | undefined) ?? [];
  if (sorts.length > 1) throw validation("Only one sort is supported");
  const hits = p
    .objectsOf(type)
    .filter(
      (o) =>
        !o.archived &&
        (groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => matches(o, f, defs)))),
    );
  const sorted = sortBy(hits, sorts[0], defs);
  const names = [
    ...new Set([
      ...(((body.properties as string[] | undefined) ?? []).length ? (body.properties as string[]) : []),
      "hs_object_id",
      "createdate",
      lastModifiedOf(type),
    ]),
  ];
  const end = Math.min(after + limit, sorted.length, 10_000);
  return {
    total: sorted.length,
    results: sorted.slice(after, end).map((o) => render(p, type, o, names)),
    ...(end < sorted.length ? { paging: { next: { after: String(end) } } } : {}),
  };
}

/** `POST /crm/v3/objects/{type}/batch/read`: up to 100 ids; 207 when some are missing. */
export function batchRead(p: HubSpotPortal, type: string, r: FakeRequest): Answer {
  const body = r.json() as { properties?: string[]; inputs?: { id: string }[] };
  const inputs = body.inputs ?? [];
  if (inputs.length > 100) throw validation("Batch read is limited to 100 inputs");
  const archived = r.query.get("archived") === "true";
  const names = body.properties?.length ? body.properties : listDefaults(type);
  const found: Json[] = [];
  const missing: string[] = [];
  for (const { id } of inputs) {
    const o = p.objectsOf(type).find((x) => x.id === String(id) && x.archived === archived);
    if (o) found.push(render(p, type, o, names));
    else missing.push(String(id));
  }
  const at = new Date(p.now).toISOString();
  return {
    status: missing.length > 0 ? 207 : 200,
    json: {
      status: "COMPLETE",
      results: found,
      startedAt: at,
      completedAt: at,
      ...(missing.length > 0
        ? {
            numErrors: 1,
            errors: [
              {
                status: "error",
                category: "OBJECT_NOT_FOUND",
                message: "Could not get some objects, they may be deleted or not exist.",
                context: { ids: missing },
              },
            ],
          }
        : {}),
    },
  };
}

/** `POST /crm/v4/associations/{from}/{to}/batch/read`: 500 a result, 207 for ids without associations. */
export function associationsBatch(p: HubSpotPortal, from: string, to: string, body: Json): Answer {
  if (!(HUBSPOT_OBJECT_TYPES as readonly string[]).includes(to))
    throw validation(`Unable to infer object type from: ${to}`);
  const inputs = (body.inputs as { id: string }[] | undefined) ?? [];
  if (inputs.length > 1000) throw validation("Batch read is limited to 1,000 inputs");
  const results: Json[] = [];
  const none: string[] = [];
  for (const { id } of inputs) {
    const all = p.associationsOf(from, String(id), to);
    if (all.length === 0) {
      none.push(String(id));
      continue;
    }
    results.push({
      from: { id: String(id) },
      to: all.slice(0, 500),
      ...(all.length > 500 ? { paging: { next: { after: String(all[500]?.toObjectId), link: null } } } : {}),
    });
  }
  const at = new Date(p.now).toISOString();
  return {
    status: none.length > 0 ? 207 : 200,
    json: {
      status: "COMPLETE",
      results,
      startedAt: at,
      completedAt: at,
      ...(none.length > 0
        ? {
            numErrors: none.length,
            errors: none.map((id) => ({
              status: "error",
              category: "OBJECT_NOT_FOUND",
              subCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
              context: { fromObjectId: [id] },
              message: `No ${to} is associated with ${from} ${id}.`,
            })),
          }
        : {}),
    },
  };
}

/** `GET /crm/v4/objects/{from}/{id}/associations/{to}`: the pages after a batch read's first. */
export function associationsPage(
  p: HubSpotPortal,
  from: string,
  id: string,
  to: string,
  q: URLSearchParams,
): Json {
  const limit = limitOf(q, 500, 500);
  const all = p.associationsOf(from, String(id), to);
  const after = q.get("after");
  const start = after ? all.findIndex((a) => a.toObjectId >= Number(after)) : 0;
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const next = start < 0 ? undefined : all[start + limit];
  return { results: page, ...(next ? { paging: { next: { after: String(next.toObjectId) } } } : {}) };
}

/** `GET /crm/v3/owners`: `limit`, `after`, `archived`. */
export function listOwners(p: HubSpotPortal, q: URLSearchParams): Json {
  const limit = limitOf(q, 500, 100);
  const archived = q.get("archived") === "true";
  const all = p.owners.filter((o) => o.archived === archived);
  const after = Number(q.get("after") ?? 0);
  const page = all.slice(after, after + limit);
  return {
    results: page.map((o) => structuredClone(o)),
    ...(after + limit < all.length ? { paging: { next: { after: String(after + limit) } } } : {}),
  };
}
