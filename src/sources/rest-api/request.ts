import type { IncrementalContext } from "../../extract/incremental.js";
import type { HttpRequest, QueryParams } from "../../http/types.js";
import { ConfigError } from "../../util/errors.js";
import type { ResolvedEndpoint, ResolvedIncremental } from "./endpoint-config.js";
import { findValues } from "./jsonpath.js";
import { classify, fillString, fillValue, PlaceholderError } from "./placeholders.js";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What placeholders of one request chain are filled from. */
export interface RequestContext {
  resource: string;
  incremental: IncrementalContext;
  /** The parent record of a dependent request, and the parent's name. */
  parent?: { name: string; item: Record<string, unknown> };
}

/** The value of `{incremental.<name>}`; start, initial, last and end values go through `convert` when set. */
function incrementalValue(
  inc: ResolvedIncremental | undefined,
  ctx: IncrementalContext,
  name: string,
): unknown {
  if (!inc) return undefined;
  const convert = (v: unknown) => (v === undefined || v === null || !inc.convert ? v : inc.convert(v));
  switch (name) {
    case "start_value":
    case "last_value":
      return convert(ctx.startValue);
    case "initial_value":
      return convert(inc.args.initial_value ?? undefined);
    case "end_value":
      return convert(ctx.endValue);
    case "lag":
      return inc.args.lag;
    case "cursor_path":
      return inc.args.cursor_path;
    case "last_value_func":
      return inc.args.last_value_func ?? "max";
    case "on_cursor_value_missing":
      return inc.args.on_cursor_value_missing ?? "raise";
    default:
      return undefined;
  }
}

function parentValue(ctx: RequestContext, expr: string, field: string): unknown {
  const parent = ctx.parent;
  if (!parent) throw new PlaceholderError(`placeholder {${expr}} needs a parent record`);
  const found = findValues(parent.item, field)[0];
  if (found === undefined || found === null) {
    throw new PlaceholderError(
      `placeholder {${expr}} has no value in the parent record (the "${parent.name}" record has ${Object.keys(parent.item).join(", ") || "no fields"})`,
    );
  }
  return found;
}

/** Looks placeholders up for one request chain. */
function lookupFor(e: ResolvedEndpoint, ctx: RequestContext): (expr: string) => unknown {
  return (expr) => {
    const x = classify(expr);
    if (x.kind === "parent") return parentValue(ctx, expr, x.field);
    if (x.kind === "name") return parentValue(ctx, expr, e.bindings[x.name] ?? x.name);
    if (x.kind === "incremental") return incrementalValue(e.incremental, ctx.incremental, x.name);
    throw new PlaceholderError(x.problem);
  };
}

function queryValue(v: unknown): string | number | boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return v.toString();
  throw new PlaceholderError(`the value ${JSON.stringify(v)} is not a query value`);
}

/**
 * The first request of a chain: placeholders filled from the parent record and the incremental cursor, the
 * incremental start/end parameters set. Errors name the resource and say what to fix.
 */
export function buildRequest(e: ResolvedEndpoint, ctx: RequestContext): HttpRequest {
  try {
    return build(e, ctx);
  } catch (err) {
    if (!(err instanceof PlaceholderError)) throw err;
    throw new ConfigError(`resource "${ctx.resource}": ${err.message}`, {
      fields: { resource: ctx.resource },
      hint: ctx.parent
        ? `check the {resources.${ctx.parent.name}.<field>} placeholders against the parent's records`
        : "set incremental.initial_value, or check the placeholders of the endpoint",
    });
  }
}

function build(e: ResolvedEndpoint, ctx: RequestContext): HttpRequest {
  const lookup = lookupFor(e, ctx);
  const url = fillString(e.path, lookup, { encode: true });
  if (typeof url !== "string")
    throw new PlaceholderError(`the path "${e.path}" has a placeholder without a value`);
  const params: QueryParams = {};
  for (const [rawKey, raw] of Object.entries(e.params)) {
    const key = fillString(rawKey, lookup);
    if (typeof key !== "string") throw new PlaceholderError(`the parameter name "${rawKey}" has no value`);
    const filled = fillValue(raw, lookup, false);
    if (Array.isArray(filled)) params[key] = filled.map(queryValue).filter((v) => v !== undefined);
    else if (filled !== undefined) params[key] = queryValue(filled);
  }
  const inc = e.incremental;
  if (inc?.startParam)
    params[inc.startParam] = queryValue(incrementalValue(inc, ctx.incremental, "start_value"));
  if (inc?.endParam) params[inc.endParam] = queryValue(incrementalValue(inc, ctx.incremental, "end_value"));
  const request: HttpRequest = { method: e.method, url, params };
  const headers: Record<string, string> = {};
  if (e.headers) {
    for (const [name, value] of Object.entries(
      fillValue(e.headers, lookup, false) as Record<string, unknown>,
    )) {
      if (!HEADER_NAME.test(name))
        throw new PlaceholderError(`the header name ${JSON.stringify(name)} is not valid`);
      headers[name] = String(queryValue(value));
    }
  }
  if (e.json !== undefined) request.json = fillValue(e.json, lookup, true) ?? null;
  if (typeof e.data === "string") request.body = String(fillString(e.data, lookup) ?? "");
  else if (e.data !== undefined) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fillValue(e.data, lookup, false) as Record<string, unknown>)) {
      for (const item of Array.isArray(v) ? v : [v]) {
        const q = queryValue(item);
        if (q !== undefined) form.append(k, String(q));
      }
    }
    request.body = form.toString();
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
  }
  if (Object.keys(headers).length > 0) request.headers = headers;
  return request;
}
