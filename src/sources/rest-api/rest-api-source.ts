import { type Resource, type ResourceContext, resource, transformer } from "../../extract/resource.js";
import { type Source, source } from "../../extract/source.js";
import type { Auth } from "../../http/auth.js";
import { HttpClient } from "../../http/client.js";
import { ConfigError, errorMessage } from "../../util/errors.js";
import { type Logger, silentLogger } from "../../util/log.js";
import { isAuthObject } from "./auth/auth-config.js";
import { createAuth } from "./auth/index.js";
import { mergeConcurrent } from "./concurrent.js";
import type { PaginatorSetting, RestApiConfig } from "./config.js";

import { fetchPages } from "./fetch-pages.js";
import { createPaginator } from "./paginators/index.js";
import type { Paginator, PaginatorConfig } from "./paginators/paginator.js";
import { buildRequest } from "./request.js";
import { type ResolvedResource, resolveConfig } from "./resolve-config.js";
import { applySteps, resourceOptions } from "./resource-options.js";
import { throwConfig } from "./validate.js";

type RestResource = Extract<ResolvedResource, { kind: "rest" }>;

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

const isPaginatorObject = (p: unknown): p is Paginator =>
  typeof p === "object" && p !== null && typeof (p as Paginator).next === "function";

/** A fresh paginator for one request chain from a setting (a config, a factory, or a custom paginator). */
function makePaginator(setting: PaginatorSetting | null | undefined, log: Logger): Paginator {
  if (typeof setting === "function") return setting();
  if (isPaginatorObject(setting)) return setting;
  return createPaginator((setting ?? undefined) as PaginatorConfig | undefined, log);
}

/** Builds every paginator and auth of the config once, so their errors come before any request. */
function checkBuildable(config: RestApiConfig, resolved: RestResource[]): void {
  const errors: string[] = [];
  const attempt = (where: string, make: () => unknown) => {
    try {
      make();
    } catch (err) {
      errors.push(`${where}: ${errorMessage(err)}`);
    }
  };
  const client = config.client;
  if (typeof client.paginator !== "function")
    attempt("config.client.paginator", () => makePaginator(client.paginator, silentLogger));
  if (client.auth) attempt("config.client.auth", () => createAuth(client.auth!));
  for (const r of resolved) {
    const where = `config.resources[${r.index}].endpoint`;
    const p = r.endpoint.paginator;
    if (typeof p !== "function") attempt(`${where}.paginator`, () => makePaginator(p, silentLogger));
    const shared = isPaginatorObject(p)
      ? `${where}.paginator`
      : p === undefined && isPaginatorObject(client.paginator)
        ? "config.client.paginator"
        : undefined;
    if (r.parent && shared) {
      errors.push(
        `${shared}: one paginator object would be shared by the requests of every "${r.parent}" record of resource "${r.name}"; give a function that returns a new paginator`,
      );
    }
    if (r.endpoint.auth) attempt(`${where}.auth`, () => createAuth(r.endpoint.auth!));
  }
  if (errors.length > 0) throwConfig(errors);
}

export interface RestApiSourceOptions {
  /**
   * The client to send every request with, instead of one made from `config.client` (whose `auth`, `headers`,
   * limits and retries are then not used). Sources built on this one pass the client their own resources use, so
   * all requests share one concurrency and rate limit.
   */
  http?: HttpClient;
}

/**
 * A source from a declarative REST API config (dlt's `rest_api` options): one resource per endpoint, dependent
 * endpoints as transformers that request once per parent record (concurrently, up to `client.concurrency`).
 * Ferry resources in `resources` are included as they are, and REST resources can depend on them.
 *
 * @example
 * import { restApiSource } from "ferry/sources/rest-api";
 * await pipeline({ name: "gh" }).run(restApiSource({ client: { base_url: "https://api.example.com" }, resources: ["users"] }));
 */
export function restApiSource(config: RestApiConfig, options: RestApiSourceOptions = {}): Source {
  const resolved = resolveConfig(config);
  const rest = resolved.filter((r): r is RestResource => r.kind === "rest");
  checkBuildable(config, rest);
  const { log, target } = forwardingLogger();
  const client = config.client;
  const http =
    options.http ??
    new HttpClient({
      baseUrl: client.base_url,
      ...(client.headers
        ? { headers: Object.fromEntries(Object.entries(client.headers).map(([k, v]) => [k, String(v)])) }
        : {}),
      ...(client.auth ? { auth: createAuth(client.auth) } : {}),
      ...(client.timeout !== undefined ? { timeoutMs: client.timeout * 1000 } : {}),
      ...(client.max_attempts !== undefined ? { retry: { attempts: client.max_attempts } } : {}),
      ...(client.concurrency !== undefined ? { concurrency: client.concurrency } : {}),
      ...(client.requests_per_second !== undefined ? { requestsPerSecond: client.requests_per_second } : {}),
      log,
    });
  const concurrency = client.concurrency ?? 5;
  const endpointAuth = new Map<string, Auth | null>();
  for (const r of rest) {
    const a = r.endpoint.auth;
    if (a === null) endpointAuth.set(r.name, null);
    else if (a !== undefined) endpointAuth.set(r.name, isAuthObject(a) ? a : createAuth(a));
  }

  async function* pages(
    r: RestResource,
    ctx: ResourceContext,
    parent?: { name: string; item: Record<string, unknown> },
  ): AsyncGenerator<unknown[]> {
    const request = buildRequest(r.endpoint, {
      resource: r.name,
      incremental: ctx.incremental,
      ...(parent ? { parent } : {}),
    });
    const auth = endpointAuth.get(r.name);
    const chain = fetchPages({
      client: http,
      request,
      paginator: makePaginator(r.endpoint.paginator ?? client.paginator, ctx.log),
      ...(r.endpoint.dataSelector ? { dataSelector: r.endpoint.dataSelector } : {}),
      responseActions: r.endpoint.responseActions,
      ...(auth !== undefined ? { auth } : {}),
      signal: ctx.signal,
      log: ctx.log,
    });
    yield* chain;
  }

  /** A chain's pages after the resource's processing steps (pages left empty are skipped). */
  async function* processed(r: RestResource, chain: AsyncIterable<unknown[]>): AsyncGenerator<unknown[]> {
    for await (const records of chain) {
      const out = applySteps(records, r.config.processing_steps);
      if (out.length > 0) yield out;
    }
  }

  const byName = new Map(resolved.map((r) => [r.name, r]));
  const built = new Map<string, Resource>();
  const build = (r: ResolvedResource): Resource => {
    const done = built.get(r.name);
    if (done) return done;
    let res: Resource;
    if (r.kind === "resource") res = r.resource;
    else if (r.parent === undefined) {
      res = resource(resourceOptions(r.config, r.endpoint), (ctx) => {
        target.current = ctx.log;
        return processed(r, pages(r, ctx));
      });
    } else {
      const parentName = r.parent;
      const parent = build(byName.get(parentName)!);
      const limit = r.config.parallelized === false ? 1 : concurrency;
      res = transformer({ ...resourceOptions(r.config, r.endpoint), parent }, (page, ctx) => {
        target.current = ctx.log;
        const items = (Array.isArray(page) ? page : [page]) as unknown[];
        return mergeConcurrent(items, limit, (item) => processed(r, childPages(r, ctx, item, parentName)));
      });
    }
    built.set(r.name, res);
    return res;
  };

  async function* childPages(
    r: RestResource,
    ctx: ResourceContext,
    item: unknown,
    parentName: string,
  ): AsyncGenerator<unknown[]> {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new ConfigError(
        `resource "${r.name}": parent "${parentName}" yielded ${JSON.stringify(item)}, not a record`,
        { hint: `make "${parentName}" yield objects (records) for its children to request` },
      );
    }
    const record = item as Record<string, unknown>;
    const extra: Record<string, unknown> = {};
    for (const f of r.config.include_from_parent ?? []) {
      if (!(f in record)) {
        throw new ConfigError(
          `resource "${r.name}": include_from_parent names "${f}", which the "${parentName}" record does not have (it has ${Object.keys(record).join(", ")})`,
          { hint: "list fields the parent's records have in include_from_parent" },
        );
      }
      extra[`_${parentName}_${f}`] = record[f];
    }
    for await (const records of pages(r, ctx, { name: parentName, item: record })) {
      if (Object.keys(extra).length === 0) yield records;
      else
        yield records.map((rec) =>
          rec !== null && typeof rec === "object" && !Array.isArray(rec) ? { ...rec, ...extra } : rec,
        );
    }
  }

  return source({ name: config.name ?? "rest_api", resources: resolved.map(build) });
}
