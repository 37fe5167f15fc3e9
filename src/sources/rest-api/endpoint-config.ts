import type { IncrementalOptions } from "../../extract/incremental.js";
import type { AuthConfig } from "./auth/auth-config.js";
import type {
  EndpointConfig,
  IncrementalArgs,
  PaginatorSetting,
  ResponseAction,
  RestIncrementalConfig,
} from "./config.js";
import { classify, expressionsIn, parseTemplate, TemplateError } from "./placeholders.js";

/** Incremental loading of an endpoint, whichever form the config used. */
export interface ResolvedIncremental {
  options: IncrementalOptions;
  startParam?: string;
  endParam?: string;
  convert?: (value: unknown) => unknown;
  /** The config as written, for `{incremental.initial_value}` and the like. */
  args: IncrementalArgs & { end_value?: unknown };
}

/** An endpoint ready to request: path params bound, binding params taken out, defaults applied. */
export interface ResolvedEndpoint {
  method: "GET" | "POST";
  /** A template: `{resources.*}`, `{incremental.*}` and resolve-param names are filled per request. */
  path: string;
  /** Query parameters (values may hold placeholders; lists repeat the parameter). */
  params: Record<string, unknown>;
  json?: unknown;
  data?: Record<string, unknown> | string;
  headers?: Record<string, unknown>;
  /** undefined: the client's paginator (or auto). */
  paginator: PaginatorSetting | undefined;
  dataSelector: string | undefined;
  responseActions: ResponseAction[];
  incremental: ResolvedIncremental | undefined;
  /** undefined: the client's auth; null: none. */
  auth: AuthConfig | null | undefined;
  /** Resolve params: the path name and the parent field it takes. */
  bindings: Record<string, string>;
  /** The parent resources the endpoint names, each with where (`{resources.a.id}`, `params.id`). */
  parents: Map<string, string>;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Literal text back into template form (braces doubled). */
const escapeBraces = (s: string) => s.replace(/[{}]/g, (b) => b + b);

/** A dlt cursor path as ferry's incremental reads it (`a.b`), or undefined when it is more than field names. */
function cursorField(path: string): string | undefined {
  const fields: string[] = [];
  let rest = path.trim().replace(/^\$\.?/, "");
  while (rest.length > 0) {
    const m = /^(?:\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\]|([A-Za-z_@][\w@$-]*))(?:\.(?=.))?/.exec(rest);
    if (!m) return undefined;
    fields.push(m[1] ?? m[2] ?? m[3] ?? "");
    rest = rest.slice(m[0].length);
  }
  return fields.length > 0 ? fields.join(".") : undefined;
}

function incrementalOf(
  args: IncrementalArgs & { end_value?: unknown },
  where: string,
  errors: string[],
): IncrementalOptions | undefined {
  const cursor = cursorField(args.cursor_path);
  if (cursor === undefined) {
    errors.push(
      `${where}.cursor_path: "${args.cursor_path}" must name a field (a.b.c or $.a.b), not a query`,
    );
    return undefined;
  }
  const pk = args.primary_key;
  if (Array.isArray(pk) && pk.length === 0) {
    errors.push(
      `${where}.primary_key: an empty list turns off boundary deduplication, which ferry always does`,
    );
  }
  return {
    cursor,
    ...(args.initial_value !== undefined && args.initial_value !== null
      ? { initialValue: args.initial_value }
      : {}),
    ...(args.end_value !== undefined && args.end_value !== null ? { endValue: args.end_value } : {}),
    ...(args.last_value_func ? { lastValueFunc: args.last_value_func } : {}),
    ...(args.lag !== undefined ? { lag: args.lag } : {}),
    ...(args.on_cursor_value_missing ? { onCursorMissing: args.on_cursor_value_missing } : {}),
    ...(pk !== undefined && !(Array.isArray(pk) && pk.length === 0) ? { primaryKey: pk } : {}),
  };
}

/** The one incremental setting of an endpoint: `endpoint.incremental` or a `type: incremental` param. */
function resolveIncremental(
  e: EndpointConfig,
  where: string,
  errors: string[],
): ResolvedIncremental | undefined {
  const fromParams = Object.entries(e.params ?? {}).filter(
    ([, v]) => isObject(v) && (v as { type?: unknown }).type === "incremental",
  );
  if (fromParams.length > 1) {
    errors.push(
      `${where}.params: one incremental parameter per endpoint, found ${fromParams.map(([k]) => k).join(", ")}`,
    );
    return undefined;
  }
  const param = fromParams[0];
  if (param && e.incremental) {
    errors.push(`${where}.params.${param[0]}: the endpoint also has endpoint.incremental; keep one of them`);
    return undefined;
  }
  const convertOf = (a: IncrementalArgs) => a.convert ?? a.transform;
  if (param) {
    const [name, raw] = param;
    const { type: _t, ...args } = raw as IncrementalArgs & { type: string };
    const options = incrementalOf(args, `${where}.params.${name}`, errors);
    const convert = convertOf(args);
    return options ? { options, startParam: name, args, ...(convert ? { convert } : {}) } : undefined;
  }
  const inc: RestIncrementalConfig | undefined = e.incremental;
  if (!inc) return undefined;
  const options = incrementalOf(inc, `${where}.incremental`, errors);
  const convert = convertOf(inc);
  return options
    ? {
        options,
        args: inc,
        ...(inc.start_param ? { startParam: inc.start_param } : {}),
        ...(inc.end_param ? { endParam: inc.end_param } : {}),
        ...(convert ? { convert } : {}),
      }
    : undefined;
}

/** dlt's single-entity detection: a path whose last segment has a placeholder (`users/{id}`) returns one object. */
function isSingleEntityPath(path: string): boolean {
  const last = path.replace(/\/+$/, "").split("/").pop() ?? "";
  return /\{([a-zA-Z0-9.\-_]+)\}/.test(last);
}

/**
 * Binds the path's bare placeholders: a resolve param stays a placeholder (filled per parent record); a plain
 * param is written into the path and leaves the query (dlt's `{org}/{repo}` with `params: { org, repo }`).
 */
function bindPath(
  path: string,
  params: Record<string, unknown>,
  hasIncremental: boolean,
  where: string,
  errors: string[],
): { path: string; bindings: Record<string, string>; bound: Set<string> } {
  const bindings: Record<string, string> = {};
  const bound = new Set<string>();
  let out = "";
  let parts: ReturnType<typeof parseTemplate>;
  try {
    parts = parseTemplate(path);
  } catch (err) {
    errors.push(`${where}.path: ${(err as Error).message}`);
    return { path, bindings, bound };
  }
  for (const p of parts) {
    if ("text" in p) {
      out += escapeBraces(p.text);
      continue;
    }
    const e = classify(p.expr);
    if (e.kind === "invalid") errors.push(`${where}.path: ${e.problem}`);
    else if (e.kind === "incremental" && !hasIncremental) {
      errors.push(`${where}.path: uses {${p.expr}} but the endpoint has no incremental`);
    } else if (e.kind === "name") {
      const v = params[e.name];
      if (isObject(v) && v.type === "resolve") {
        bindings[e.name] = String(v.field);
        bound.add(e.name);
      } else if (isObject(v)) {
        errors.push(
          `${where}.path: {${e.name}} is bound to a ${String(v.type)} param; a path takes resolve params or values`,
        );
      } else if (v === undefined || v === null) {
        errors.push(
          `${where}.path: {${e.name}} has no value: add params.${e.name} (a value, or { type: resolve, resource, field }), or write {resources.<parent>.<field>}`,
        );
      } else {
        out += escapeBraces(String(v));
        bound.add(e.name);
        continue;
      }
    }
    out += `{${p.expr}}`;
  }
  return { path: out, bindings, bound };
}

/**
 * Checks the placeholders of params, json, data and headers: `resources.*`, `incremental.*`, and the names of the
 * endpoint's resolve params.
 */
function checkPlaceholders(
  value: unknown,
  where: string,
  hasIncremental: boolean,
  errors: string[],
  parents: Map<string, string>,
  resolved: { names: Set<string>; used: Set<string> },
): void {
  let exprs: string[];
  try {
    exprs = expressionsIn(value);
  } catch (err) {
    if (err instanceof TemplateError) errors.push(`${where}: ${err.message}`);
    return;
  }
  for (const x of exprs) {
    const e = classify(x);
    if (e.kind === "invalid") errors.push(`${where}: ${e.problem}`);
    else if (e.kind === "name") {
      if (resolved.names.has(e.name)) resolved.used.add(e.name);
      else {
        errors.push(
          `${where}: {${x}} is not a placeholder here; use {resources.<parent>.<field>} (bare names go in the path, or name a resolve param)`,
        );
      }
    } else if (e.kind === "incremental" && !hasIncremental) {
      errors.push(`${where}: uses {${x}} but the endpoint has no incremental (endpoint.incremental)`);
    } else if (e.kind === "parent" && !parents.has(e.resource)) parents.set(e.resource, `{${x}}`);
  }
}

/**
 * Resolves a merged endpoint: incremental, path binding, resolve params, placeholders, single-entity defaults.
 * Problems are added to `errors` with their config path.
 */
export function resolveEndpoint(
  e: EndpointConfig & { path: string },
  where: string,
  errors: string[],
): ResolvedEndpoint {
  const incremental = resolveIncremental(e, where, errors);
  const hasIncremental = incremental !== undefined || e.incremental !== undefined;
  const params = { ...(e.params ?? {}) } as Record<string, unknown>;
  const single = isSingleEntityPath(e.path);
  const { path, bindings, bound } = bindPath(e.path, params, hasIncremental, `${where}`, errors);
  const parents = new Map<string, string>();
  const resolved = { names: new Set<string>(), used: new Set(bound) };
  for (const [name, v] of Object.entries(params)) {
    if (!isObject(v) || v.type !== "resolve") continue;
    resolved.names.add(name);
    bindings[name] = String(v.field);
    if (!parents.has(String(v.resource))) parents.set(String(v.resource), `params.${name}`);
  }
  const resolveParams = Object.fromEntries(
    [...resolved.names].map((n) => [n, params[n] as Record<string, unknown>]),
  );
  for (const name of bound) delete params[name];
  for (const [name, v] of Object.entries(params)) if (isObject(v)) delete params[name];
  for (const x of expressionsInSafe(path)) {
    const c = classify(x);
    if (c.kind === "parent" && !parents.has(c.resource)) parents.set(c.resource, `{${x}}`);
  }
  const method = e.method ?? "GET";
  for (const [key, value] of [
    ["params", params],
    ["json", e.json],
    ["data", e.data],
    ["headers", e.headers],
  ] as const) {
    checkPlaceholders(value, `${where}.${key}`, hasIncremental, errors, parents, resolved);
  }
  for (const [name, v] of Object.entries(resolveParams)) {
    if (!resolved.used.has(name)) {
      errors.push(
        `${where}.params.${name}: a resolve param must be used as {${name}} in the path (or in a param, the body or a header); or write "{resources.${String(v.resource)}.${String(v.field)}}" where the value goes`,
      );
    }
  }
  for (const name of Object.keys(e.headers ?? {})) {
    let literal: string | undefined;
    try {
      const parts = parseTemplate(name);
      literal = parts.every((p) => "text" in p)
        ? parts.map((p) => ("text" in p ? p.text : "")).join("")
        : undefined;
    } catch {
      literal = undefined; // reported by checkPlaceholders
    }
    if (literal !== undefined && !HEADER_NAME.test(literal)) {
      errors.push(
        `${where}.headers: ${JSON.stringify(literal)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`,
      );
    }
  }
  if (method === "GET" && e.json !== undefined) {
    errors.push(
      `${where}.json: a GET request carries no body; set method: POST (or move the values to params)`,
    );
  }
  if (method === "GET" && e.data !== undefined) {
    errors.push(
      `${where}.data: a GET request carries no body; set method: POST (or move the values to params)`,
    );
  }
  if (e.json !== undefined && e.data !== undefined) errors.push(`${where}.data: give json or data, not both`);
  return {
    method,
    path,
    params,
    ...(e.json !== undefined ? { json: e.json } : {}),
    ...(e.data !== undefined ? { data: e.data } : {}),
    ...(e.headers ? { headers: e.headers } : {}),
    paginator: e.paginator ?? (single ? "single_page" : undefined),
    dataSelector: e.data_selector ?? (single ? "$" : undefined),
    responseActions: (e.response_actions ?? []).map(normalizeAction),
    incremental,
    auth: e.auth,
    bindings,
    parents,
  };
}

function expressionsInSafe(s: string): string[] {
  try {
    return expressionsIn(s);
  } catch {
    return [];
  }
}

function normalizeAction(a: ResponseAction): ResponseAction {
  const code = a.status_code as unknown;
  return typeof code === "string" ? { ...a, status_code: Number(code) } : a;
}
