import type { HttpClient } from "../../http/client.js";
import type { Logger } from "../../util/log.js";
import { columnOf, convertValue, type PropertyDef } from "./properties.js";

/** A CRM object as the API returns it. */
export interface RawObject {
  id: string;
  properties?: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
  archived?: boolean;
  archivedAt?: string;
}

/** One association of a record: the other object, and one of the association's types (labels). */
export interface AssociationRow {
  to_object_type: string;
  to_id: string;
  type_id: number | null;
  category: string | null;
  label: string | null;
}

export interface CallContext {
  http: HttpClient;
  signal: AbortSignal;
  log: Logger;
}

/**
 * A table row from a CRM object: its properties as columns (typed from their definitions), then the API's own
 * fields (`id`, `createdAt`, `updatedAt`, `archived`, `archivedAt`).
 */
export function shapeRecord(raw: RawObject, props: Map<string, PropertyDef>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw.properties ?? {})) {
    const def = props.get(k);
    if (def) out[columnOf(k)] = convertValue(def.type, v);
  }
  out.id = raw.id;
  out.createdAt = raw.createdAt ?? null;
  out.updatedAt = raw.updatedAt ?? null;
  out.archived = raw.archived === true;
  if (raw.archivedAt) out.archivedAt = raw.archivedAt;
  return out;
}

interface AssocTo {
  toObjectId: number | string;
  associationTypes?: { category?: string; typeId?: number; label?: string | null }[];
}

interface AssocResult {
  from: { id: string };
  to: AssocTo[];
  paging?: { next?: { after?: string } };
}

function rowsOf(toType: string, to: AssocTo[]): AssociationRow[] {
  return to.flatMap((t) => {
    const types = t.associationTypes?.length ? t.associationTypes : [{}];
    return types.map((a) => ({
      to_object_type: toType,
      to_id: String(t.toObjectId),
      type_id: a.typeId ?? null,
      category: a.category ?? null,
      label: a.label ?? null,
    }));
  });
}

/**
 * The associations of some objects to one other object type (v4 batch read; an object with more than one page of
 * them gets the rest from its own associations endpoint). Objects without any are absent from the map.
 */
export async function readAssociations(
  c: CallContext,
  from: string,
  to: string,
  ids: string[],
): Promise<Map<string, AssociationRow[]>> {
  const out = new Map<string, AssociationRow[]>();
  if (ids.length === 0) return out;
  const res = await c.http.request(
    {
      method: "POST",
      url: `crm/v4/associations/${from}/${to}/batch/read`,
      json: { inputs: ids.map((id) => ({ id })) },
    },
    { signal: c.signal, log: c.log },
  );
  const results = (res.json() as { results?: AssocResult[] } | null)?.results ?? [];
  for (const r of results) {
    const rows = rowsOf(to, r.to ?? []);
    let after = r.paging?.next?.after;
    while (after) {
      const more = await c.http.request(
        {
          method: "GET",
          url: `crm/v4/objects/${from}/${encodeURIComponent(r.from.id)}/associations/${to}`,
          params: { limit: 500, after },
        },
        { signal: c.signal, log: c.log },
      );
      const body = more.json() as { results?: AssocTo[]; paging?: { next?: { after?: string } } } | null;
      rows.push(...rowsOf(to, body?.results ?? []));
      after = body?.paging?.next?.after;
    }
    out.set(String(r.from.id), [...(out.get(String(r.from.id)) ?? []), ...rows]);
  }
  return out;
}

/** Adds `associations` (to every listed object type) to each record of a page; an empty list when there are none. */
export async function withAssociations(
  c: CallContext,
  from: string,
  targets: readonly string[],
  records: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const ids = records.map((r) => String(r.id));
  const maps = await Promise.all(targets.map((to) => readAssociations(c, from, to, ids)));
  for (const r of records) r.associations = maps.flatMap((m) => m.get(String(r.id)) ?? []);
  return records;
}

/** Full properties of some objects (batch read, a POST: no URL length limit), in the order of `ids`. */
export async function batchRead(
  c: CallContext,
  objectType: string,
  properties: string[],
  ids: string[],
  archived: boolean,
): Promise<RawObject[]> {
  const res = await c.http.request(
    {
      method: "POST",
      url: `crm/v3/objects/${objectType}/batch/read`,
      params: { archived },
      json: { properties, inputs: ids.map((id) => ({ id })) },
    },
    { signal: c.signal, log: c.log },
  );
  const byId = new Map(
    ((res.json() as { results?: RawObject[] } | null)?.results ?? []).map((r) => [String(r.id), r]),
  );
  return ids.map((id) => byId.get(id)).filter((r): r is RawObject => r !== undefined);
}

/** The server's clock (`Date` header) in milliseconds, or undefined. */
export function serverTime(headers: Headers): number | undefined {
  const d = headers.get("date");
  const t = d ? Date.parse(d) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}
