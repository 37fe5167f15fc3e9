import type { IncrementalOptions } from "../../extract/incremental.js";
import {
  type Resource,
  type ResourceContext,
  type ResourceOptions,
  resource,
  transformer,
} from "../../extract/resource.js";
import { type Source, source } from "../../extract/source.js";
import { HttpClient } from "../../http/client.js";
import type { HttpRequest } from "../../http/types.js";
import type { SchemaContractSetting } from "../../schema/types.js";
import { ConfigError, errorMessage } from "../../util/errors.js";
import { type Logger, silentLogger } from "../../util/log.js";
import { createAuth } from "./auth/index.js";
import { mergeConcurrent } from "./concurrent.js";
import { type RestApiConfig, toColumnHints } from "./config.js";
import { fetchPages } from "./fetch-pages.js";
import { createPaginator } from "./paginators/index.js";
import { fill, type PlaceholderValues } from "./placeholders.js";
import { type ResolvedResource, resolveConfig } from "./resolve-config.js";

/**
 * Logs through the resource that ran last, for what the client logs outside a request (auth, origin warnings);
 * requests log under their own resource (fetchPages passes it).
 */
function forwardingLogger(): { log: Logger; target: { current: Logger } } {
  const target = { current: silentLogger };
  return {
    target,
    log: {
      debug: (m) => target.current.debug(m),
      info: (m) => target.current.info(m),
      warn: (m) => target.current.warn(m),
      error: (m) => target.current.error(m),
    },
  };
}

function incrementalOptions(r: ResolvedResource): IncrementalOptions | undefined {
  const inc = r.endpoint.incremental;
  if (!inc) return undefined;
  return {
    cursor: inc.cursor_path,
    ...(inc.initial_value !== undefined ? { initialValue: inc.initial_value } : {}),
    ...(inc.end_value !== undefined ? { endValue: inc.end_value } : {}),
    ...(inc.last_value_func ? { lastValueFunc: inc.last_value_func } : {}),
    ...(inc.lag !== undefined ? { lag: inc.lag } : {}),
    ...(inc.on_cursor_value_missing ? { onCursorMissing: inc.on_cursor_value_missing } : {}),
  };
}

function resourceOptions(r: ResolvedResource): ResourceOptions {
  const c = r.config;
  const incremental = incrementalOptions(r);
  const columns = toColumnHints(c.columns);
  return {
    name: c.name,
    // Records come straight from JSON.parse (map steps, if any, switch this off in the extractor).
    jsonItems: true,
    ...(c.table_name ? { table: c.table_name } : {}),
    ...(c.primary_key !== undefined ? { primaryKey: c.primary_key } : {}),
    ...(c.merge_key !== undefined ? { mergeKey: c.merge_key } : {}),
    ...(c.write_disposition !== undefined ? { writeDisposition: c.write_disposition } : {}),
    ...(columns ? { columns } : {}),
    ...(incremental ? { incremental } : {}),
    ...(c.selected !== undefined ? { selected: c.selected } : {}),
    ...(c.max_table_nesting !== undefined ? { maxTableNesting: c.max_table_nesting } : {}),
    ...(c.schema_contract !== undefined
      ? { schemaContract: c.schema_contract as SchemaContractSetting }
      : {}),
  };
}

/** The first request of a chain, placeholders filled and incremental parameters set. */
function firstRequest(
  r: ResolvedResource,
  ctx: ResourceContext,
  parent?: Record<string, unknown>,
): HttpRequest {
  const e = r.endpoint;
  const values: PlaceholderValues = {
    ...(parent ? { parent } : {}),
    start_value: ctx.incremental.startValue,
    end_value: ctx.incremental.endValue,
  };
  const params = { ...((fill(e.params ?? {}, values) as Record<string, unknown>) ?? {}) };
  const inc = e.incremental;
  if (inc?.start_param && ctx.incremental.startValue !== undefined)
    params[inc.start_param] = ctx.incremental.startValue;
  if (inc?.end_param && ctx.incremental.endValue !== undefined)
    params[inc.end_param] = ctx.incremental.endValue;
  const query: Record<string, string | number | boolean | undefined> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    query[k] = typeof v === "object" ? JSON.stringify(v) : (v as string | number | boolean);
  }
  return {
    method: e.method,
    url: fill(e.path, values, true) as string,
    params: query,
    ...(e.headers ? { headers: fill(e.headers, values) as Record<string, string> } : {}),
    ...(e.json !== undefined ? { json: fill(e.json, values) } : {}),
  };
}

function withSteps(res: Resource, r: ResolvedResource): Resource {
  let out = res;
  for (const step of r.config.processing_steps ?? []) {
    out = "filter" in step ? out.filter(step.filter) : out.map(step.map);
  }
  return out;
}

/**
 * A source from a declarative REST API config: one resource per endpoint, dependent endpoints as transformers
 * that request once per parent record (concurrently, up to `client.concurrency`).
 *
 * @example
 * import { restApiSource } from "ferry/sources/rest-api";
 * await pipeline({ name: "gh" }).run(restApiSource({ client: { base_url: "https://api.example.com" }, resources: ["users"] }));
 */
export function restApiSource(config: RestApiConfig): Source {
  const resolved = resolveConfig(config);
  const { log, target } = forwardingLogger();
  const client = config.client;
  const http = new HttpClient({
    baseUrl: client.base_url,
    ...(client.headers ? { headers: client.headers } : {}),
    ...(client.auth ? { auth: createAuth(client.auth) } : {}),
    ...(client.timeout !== undefined ? { timeoutMs: client.timeout * 1000 } : {}),
    ...(client.max_attempts !== undefined ? { retry: { attempts: client.max_attempts } } : {}),
    ...(client.concurrency !== undefined ? { concurrency: client.concurrency } : {}),
    ...(client.requests_per_second !== undefined ? { requestsPerSecond: client.requests_per_second } : {}),
    log,
  });
  const concurrency = client.concurrency ?? 5;
  const paginatorFor = (r: ResolvedResource, ctx: ResourceContext) =>
    createPaginator(r.endpoint.paginator ?? client.paginator, ctx.log);
  const pages = (r: ResolvedResource, ctx: ResourceContext, parent?: Record<string, unknown>) =>
    fetchPages({
      client: http,
      request: firstRequest(r, ctx, parent),
      paginator: paginatorFor(r, ctx),
      ...(r.endpoint.data_selector ? { dataSelector: r.endpoint.data_selector } : {}),
      ...(r.endpoint.response_actions ? { responseActions: r.endpoint.response_actions } : {}),
      signal: ctx.signal,
      log: ctx.log,
    });

  const built = new Map<string, Resource>();
  const build = (r: ResolvedResource): Resource => {
    const done = built.get(r.config.name);
    if (done) return done;
    let res: Resource;
    const ref = r.parent;
    if (!ref) {
      res = resource(resourceOptions(r), (ctx) => {
        target.current = ctx.log;
        return pages(r, ctx);
      });
    } else {
      const parentResolved = resolved.find((p) => p.config.name === ref.resource)!;
      const parent = build(parentResolved);
      const include = r.config.include_from_parent ?? [];
      res = transformer({ ...resourceOptions(r), parent }, (page, ctx) => {
        target.current = ctx.log;
        const items = (Array.isArray(page) ? page : [page]) as Record<string, unknown>[];
        return mergeConcurrent(items, concurrency, (item) => childPages(r, ctx, item, include, ref.resource));
      });
    }
    res = withSteps(res, r);
    built.set(r.config.name, res);
    return res;
  };

  async function* childPages(
    r: ResolvedResource,
    ctx: ResourceContext,
    item: Record<string, unknown>,
    include: string[],
    parentName: string,
  ): AsyncGenerator<unknown[]> {
    if (item === null || typeof item !== "object") {
      throw new ConfigError(
        `resource "${r.config.name}": parent "${parentName}" yielded ${JSON.stringify(item)}, not a record`,
      );
    }
    let iterator: AsyncGenerator<unknown[]>;
    try {
      iterator = pages(r, ctx, item);
    } catch (err) {
      throw new ConfigError(`resource "${r.config.name}": ${errorMessage(err)}`, {
        hint: `check the {resources.${parentName}.<field>} placeholders against the parent's records`,
      });
    }
    for await (const records of iterator) {
      if (include.length === 0) {
        yield records;
        continue;
      }
      const extra: Record<string, unknown> = {};
      for (const f of include) extra[`_${parentName}_${f}`] = item[f];
      yield records.map((rec) =>
        rec !== null && typeof rec === "object" && !Array.isArray(rec) ? { ...rec, ...extra } : rec,
      );
    }
  }

  return source({ name: config.name ?? "rest_api", resources: resolved.map(build) });
}
