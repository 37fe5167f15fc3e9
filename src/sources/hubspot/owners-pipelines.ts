import { type Resource, type ResourceContext, resource } from "../../extract/resource.js";
import type { HttpClient } from "../../http/client.js";
import type { Logger } from "../../util/log.js";
import { fetchPages } from "../rest-api/fetch-pages.js";
import { createPaginator } from "../rest-api/paginators/index.js";
import { LIST_PAGE, PIPELINE_OBJECTS } from "./objects.js";

/**
 * `owners`: the users records can be assigned to, active and archived (`archived = true`), merged by id; only
 * owners changed since the last run (`updatedAt`) are loaded.
 */
export function ownersResource(
  http: HttpClient,
  logTarget: { current: Logger },
  includeArchived: boolean,
): Resource {
  return resource(
    {
      name: "owners",
      primaryKey: "id",
      writeDisposition: "merge",
      jsonItems: true,
      incremental: { cursor: "updatedAt", initialValue: "1970-01-01T00:00:00.000Z" },
      columns: {
        createdAt: { type: "timestamp" },
        updatedAt: { type: "timestamp" },
        archived: { type: "bool" },
      },
    },
    async function* (ctx: ResourceContext) {
      logTarget.current = ctx.log;
      for (const archived of includeArchived ? [false, true] : [false]) {
        yield* fetchPages({
          client: http,
          request: { method: "GET", url: "crm/v3/owners", params: { limit: LIST_PAGE, archived } },
          paginator: createPaginator({
            type: "cursor",
            cursor_path: "paging.next.after",
            cursor_param: "after",
          }),
          dataSelector: "results",
          signal: ctx.signal,
          log: ctx.log,
        });
      }
    },
  );
}

/**
 * `pipelines`: the pipelines of deals and tickets with their stages (`pipelines__stages`), each with its
 * `object_type`. Small and without a change feed: replaced whole on every run.
 */
export function pipelinesResource(http: HttpClient, logTarget: { current: Logger }): Resource {
  return resource(
    { name: "pipelines", writeDisposition: "replace", jsonItems: true },
    async function* (ctx: ResourceContext) {
      logTarget.current = ctx.log;
      for (const objectType of PIPELINE_OBJECTS) {
        const res = await http.request(
          { method: "GET", url: `crm/v3/pipelines/${objectType}` },
          { signal: ctx.signal, log: ctx.log },
        );
        const results = (res.json() as { results?: Record<string, unknown>[] } | null)?.results ?? [];
        if (results.length > 0) yield results.map((p) => ({ object_type: objectType, ...p }));
      }
    },
  );
}
