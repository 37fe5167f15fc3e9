import { type Resource, type ResourceContext, resource } from "../../extract/resource.js";
import type { HttpClient } from "../../http/client.js";
import type { HttpResponse } from "../../http/types.js";
import { shortHash } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import { type CrmObject, LIST_PAGE, MAX_PROPERTIES_IN_URL } from "./objects.js";
import { columnHints, type PropertyDef } from "./properties.js";
import {
  batchRead,
  type CallContext,
  type RawObject,
  serverTime,
  shapeRecord,
  withAssociations,
} from "./records.js";
import { type Position, SearchFeed } from "./search.js";

export interface CrmDeps {
  http: HttpClient;
  search: HttpClient;
  logTarget: { current: Logger };
  properties: PropertyDef[];
  associations: readonly string[];
  includeArchived: boolean;
  /** What the stored positions depend on besides the API: the chosen associations and listed properties. */
  fingerprint: string;
}

interface CrmState {
  fingerprint?: string;
  position?: Position;
  archived?: Position;
}

/**
 * A CRM object type (contacts, companies, ...) with all its properties (typed columns) and its associations
 * (`<name>__associations`). The first run lists every object; later runs ask the search API for objects whose
 * last-modified time is at or after the stored position, and merge them. Archived objects are listed every run and
 * the ones archived since the last run are merged with `archived = true`.
 */
export function crmResource(o: CrmObject, d: CrmDeps): Resource {
  const byName = new Map(d.properties.map((p) => [p.name, p]));
  const names = d.properties.map((p) => p.name);
  return resource(
    {
      name: o.name,
      primaryKey: "id",
      writeDisposition: "merge",
      columns: columnHints(d.properties),
      jsonItems: true,
    },
    async function* (ctx: ResourceContext) {
      d.logTarget.current = ctx.log;
      const c: CallContext = { http: d.http, signal: ctx.signal, log: ctx.log };
      const state = ctx.state as CrmState;
      if (state.fingerprint !== undefined && state.fingerprint !== d.fingerprint) {
        ctx.log.info("properties or associations changed since the last run: listing every object again");
        delete state.position;
        delete state.archived;
      }
      const finish = async (raws: RawObject[]) =>
        withAssociations(
          c,
          o.name,
          d.associations,
          raws.map((r) => shapeRecord(r, byName)),
        );

      if (state.position) {
        const feed = new SearchFeed({ ...c, http: d.search }, o.name, o.lastModified, names, state.position);
        let n = 0;
        for await (const raws of feed.pages()) {
          n += raws.length;
          yield await finish(raws);
        }
        ctx.log.info(
          `${n} changed since ${new Date(state.position.value).toISOString()} (search, ${feed.windows} window(s))`,
        );
        state.position = feed.position;
      } else {
        let listedAt: number | undefined;
        for await (const raws of listAll(c, o.name, names, false, (res) => {
          listedAt ??= serverTime(res.headers);
        })) {
          yield await finish(raws);
        }
        // Changes made while the list was read are read again (by the search API) on the next run.
        state.position = { value: (listedAt ?? Date.now() - 300_000) - 1000, ids: [] };
      }

      if (d.includeArchived) {
        const from = state.archived ?? { value: 0, ids: [] };
        let top = from.value;
        let topIds = new Set(from.ids);
        for await (const raws of listAll(c, o.name, names, true)) {
          const fresh = raws.filter((r) => {
            const at = Date.parse(r.archivedAt ?? "") || 0;
            if (at < from.value || (at === from.value && from.ids.includes(r.id))) return false;
            if (at > top) {
              top = at;
              topIds = new Set();
            }
            if (at === top) topIds.add(r.id);
            return true;
          });
          if (fresh.length > 0) yield fresh.map((r) => ({ ...shapeRecord(r, byName), archived: true }));
        }
        state.archived = { value: top, ids: [...topIds] };
      }
      state.fingerprint = d.fingerprint;
    },
  );
}

/**
 * Every object of a type (or every archived one), a page at a time, with all the properties: in the list URL when
 * they fit, else read by batch (a POST) for each page's ids. `onResponse` sees each list response (its headers).
 */
async function* listAll(
  c: CallContext,
  objectType: string,
  properties: string[],
  archived: boolean,
  onResponse?: (res: HttpResponse) => void,
): AsyncGenerator<RawObject[]> {
  const joined = properties.join(",");
  const inUrl = joined.length <= MAX_PROPERTIES_IN_URL;
  const seen = new Set<string>();
  let after: string | undefined;
  do {
    const res = await c.http.request(
      {
        method: "GET",
        url: `crm/v3/objects/${objectType}`,
        params: {
          limit: LIST_PAGE,
          archived,
          ...(inUrl && joined ? { properties: joined } : {}),
          ...(after ? { after } : {}),
        },
      },
      { signal: c.signal, log: c.log },
    );
    onResponse?.(res);
    const body = res.json() as { results?: RawObject[]; paging?: { next?: { after?: string } } } | null;
    const raws = body?.results ?? [];
    if (raws.length > 0) {
      if (inUrl) yield raws;
      else
        yield await batchRead(
          c,
          objectType,
          properties,
          raws.map((r) => String(r.id)),
          archived,
        );
    }
    after = body?.paging?.next?.after;
    // A cursor the API already gave would read the same pages again.
    if (after !== undefined && seen.has(after)) {
      c.log.warn(`${objectType}: the API gave the paging cursor ${after} twice; stopping here`);
      break;
    }
    if (after !== undefined) seen.add(after);
  } while (after);
}

/** What the positions of a CRM table depend on besides the data: a change lists everything again. */
export function crmFingerprint(associations: readonly string[], listed: string[] | undefined): string {
  return shortHash(JSON.stringify([[...associations].sort(), listed ? [...listed].sort() : "all"]), 12);
}
