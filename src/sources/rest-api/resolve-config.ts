import type { Resource } from "../../extract/resource.js";
import { isResource } from "../../extract/resource.js";
import type { EndpointConfig, ResourceConfig, RestApiConfig, RestColumnHint } from "./config.js";
import { type ResolvedEndpoint, resolveEndpoint } from "./endpoint-config.js";
import { shapeErrors, throwConfig } from "./validate.js";

/** A resource of the config: a REST endpoint with defaults merged, or a ferry resource given as it is. */
export type ResolvedResource =
  | {
      kind: "rest";
      name: string;
      index: number;
      config: ResourceConfig;
      endpoint: ResolvedEndpoint;
      /** The resource whose records this one requests per record. */
      parent: string | undefined;
    }
  | { kind: "resource"; name: string; index: number; resource: Resource; parent: undefined };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Columns as a mapping by name (dlt also takes a list of hints with `name`). */
function columnMap(columns: ResourceConfig["columns"]): Record<string, RestColumnHint> | undefined {
  if (!columns) return undefined;
  if (!Array.isArray(columns)) return columns;
  return Object.fromEntries(columns.map((c) => [c.name, c]));
}

/**
 * Merges `resource_defaults` under a resource as dlt does: resource keys replace default keys (a paginator, an
 * incremental or a write disposition is taken whole), endpoint keys likewise, except `params` and `json`, which
 * merge key by key, and `columns`, which merge per column.
 */
function mergeDefaults(defaults: Partial<ResourceConfig>, resource: ResourceConfig): ResourceConfig {
  const base: EndpointConfig = isObject(defaults.endpoint) ? (defaults.endpoint as EndpointConfig) : {};
  const own = resource.endpoint as EndpointConfig;
  const endpoint: EndpointConfig = { ...base, ...own };
  if (own.params && base.params) endpoint.params = { ...base.params, ...own.params };
  if (isObject(own.json) && isObject(base.json)) endpoint.json = { ...base.json, ...own.json };
  const merged: ResourceConfig = { ...(defaults as ResourceConfig), ...resource, endpoint };
  const dc = columnMap(defaults.columns);
  const rc = columnMap(resource.columns);
  if (dc && rc) {
    const cols: Record<string, RestColumnHint> = {};
    for (const [k, v] of Object.entries(dc)) cols[k] = { ...v, ...rc[k] };
    for (const [k, v] of Object.entries(rc)) if (!(k in cols)) cols[k] = v;
    merged.columns = cols;
  }
  return merged;
}

/** A resource entry as an object with an endpoint object (dlt's `_make_endpoint_resource`). */
function expand(raw: string | ResourceConfig): ResourceConfig & { endpoint: EndpointConfig } {
  if (typeof raw === "string") return { name: raw, endpoint: { path: raw } };
  const endpoint: EndpointConfig =
    typeof raw.endpoint === "string" ? { path: raw.endpoint } : { ...(raw.endpoint ?? {}) };
  return { ...raw, endpoint };
}

/**
 * Validates the config (shape, then meaning) and returns its resources ready to build. Every problem is reported
 * with its path, e.g. `config.resources[2].endpoint.path: {resources.isues.id} names no resource`.
 */
export function resolveConfig(config: RestApiConfig): ResolvedResource[] {
  // Shape and meaning problems are reported together, so one run shows everything to fix.
  const errors = shapeErrors(config);
  if (!isObject(config) || !Array.isArray(config.resources)) throwConfig(errors);
  if (config.resources.length === 0) errors.push("config.resources: is empty; list at least one resource");
  if (isObject(config.resource_defaults) && typeof config.resource_defaults.endpoint === "string") {
    errors.push(
      "config.resource_defaults.endpoint: a default path would send every resource to it; give an object",
    );
  }
  const defaults = (
    isObject(config.resource_defaults) ? config.resource_defaults : {}
  ) as Partial<ResourceConfig>;
  const resolved: ResolvedResource[] = [];
  const names = new Set<string>();
  config.resources.forEach((raw, index) => {
    const where = `config.resources[${index}]`;
    if (isResource(raw)) {
      const resource = raw as Resource;
      if (names.has(resource.name))
        errors.push(`${where}: the name "${resource.name}" is used by two resources`);
      names.add(resource.name);
      resolved.push({ kind: "resource", name: resource.name, index, resource, parent: undefined });
      return;
    }
    if (typeof raw !== "string" && (!isObject(raw) || typeof raw.name !== "string")) return; // shape errors say why
    const merged = mergeDefaults(defaults, expand(raw as string | ResourceConfig));
    if (names.has(merged.name)) errors.push(`${where}.name: "${merged.name}" is used by two resources`);
    names.add(merged.name);
    const e = merged.endpoint as EndpointConfig;
    const endpoint = resolveEndpoint({ ...e, path: e.path ?? merged.name }, `${where}.endpoint`, errors);
    if (endpoint.parents.size > 1) {
      errors.push(
        `${where}.endpoint: a resource can depend on one parent, found ${[...endpoint.parents.keys()].join(", ")}`,
      );
    }
    const parent = [...endpoint.parents.keys()][0];
    if (merged.include_from_parent && parent === undefined) {
      errors.push(
        `${where}.include_from_parent: the resource has no parent ({resources.<parent>.<field>} placeholder)`,
      );
    }
    resolved.push({ kind: "rest", name: merged.name, index, config: merged, endpoint, parent });
  });
  checkGraph(resolved, names, errors);
  if (errors.length > 0) throwConfig(errors);
  return resolved;
}

/** Parents must exist, and dependencies must not go round in a cycle. */
function checkGraph(resolved: ResolvedResource[], names: Set<string>, errors: string[]): void {
  for (const r of resolved) {
    if (r.kind !== "rest" || r.parent === undefined || r.endpoint.parents.size > 1) continue;
    const where = `config.resources[${r.index}].endpoint`;
    if (!names.has(r.parent)) {
      const ref = r.endpoint.parents.get(r.parent) ?? "";
      const what = ref.startsWith("{") ? ref : `${ref} (resource "${r.parent}")`;
      errors.push(`${where}: ${what} names no resource; resources: ${[...names].join(", ")}`);
    } else if (r.parent === r.name) errors.push(`${where}: a resource cannot depend on itself`);
  }
  const parentOf = new Map(
    resolved.map((r) => [r.name, r.parent === r.name || r.kind !== "rest" ? undefined : r.parent]),
  );
  for (const r of resolved) {
    const seen = new Set<string>([r.name]);
    let p = parentOf.get(r.name);
    while (p !== undefined) {
      if (seen.has(p)) {
        errors.push(`config.resources[${r.index}]: dependency cycle through "${p}"`);
        break;
      }
      seen.add(p);
      p = parentOf.get(p);
    }
  }
}
