import type { EndpointConfig, ResourceConfig, RestApiConfig } from "./config.js";
import { findParentRefs, type ParentRef, usesIncremental } from "./placeholders.js";
import { shapeErrors, throwConfig } from "./validate.js";

/** A resource with defaults merged, its endpoint expanded, and its parent (if any) identified. */
export interface ResolvedResource {
  config: ResourceConfig;
  endpoint: EndpointConfig & { path: string; method: "GET" | "POST" };
  parent: ParentRef | undefined;
  index: number;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep-merges defaults under values (objects merge, anything else the value wins). */
function mergeDefaults<T>(defaults: unknown, value: T): T {
  if (!isPlainObject(defaults) || !isPlainObject(value)) return (value === undefined ? defaults : value) as T;
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(value)) out[k] = k in defaults ? mergeDefaults(defaults[k], v) : v;
  return out as T;
}

/**
 * Validates the config (shape, then references) and returns resources ready to build. Every problem is reported
 * with its path, e.g. `config.resources[2].endpoint.path: {resources.isues.id} names no resource`.
 */
export function resolveConfig(config: RestApiConfig): ResolvedResource[] {
  // Shape and reference problems are reported together, so one run shows everything to fix.
  const errors = shapeErrors(config);
  if (!isPlainObject(config) || !Array.isArray(config.resources)) throwConfig(errors);
  if (config.resources.length === 0) errors.push("config.resources: is empty; list at least one resource");
  const names = new Set<string>();
  const resolved: ResolvedResource[] = [];
  config.resources.forEach((raw, index) => {
    if (typeof raw !== "string" && !isPlainObject(raw)) return; // reported by the shape check
    const base: ResourceConfig = typeof raw === "string" ? { name: raw } : raw;
    const defaults = config.resource_defaults ?? {};
    const merged = mergeDefaults<ResourceConfig>(defaults, base);
    const endpointRaw = base.endpoint ?? defaults.endpoint;
    const defaultEndpoint = isPlainObject(defaults.endpoint) ? defaults.endpoint : {};
    const endpointObj: EndpointConfig =
      typeof endpointRaw === "string"
        ? { ...defaultEndpoint, path: endpointRaw }
        : mergeDefaults(defaultEndpoint, typeof base.endpoint === "object" ? base.endpoint : {});
    const path = `config.resources[${index}]`;
    if (names.has(merged.name)) errors.push(`${path}.name: "${merged.name}" is used by two resources`);
    if (typeof merged.name === "string") names.add(merged.name);
    const endpoint = {
      ...endpointObj,
      path: endpointObj.path ?? merged.name,
      method: endpointObj.method ?? "GET",
    };
    const refs = findParentRefs([endpoint.path, endpoint.params, endpoint.json, endpoint.headers]);
    const parents = [...new Set(refs.map((r) => r.resource))];
    if (parents.length > 1) {
      errors.push(`${path}.endpoint: a resource can depend on one parent, found ${parents.join(", ")}`);
    }
    if (usesIncremental([endpoint.path, endpoint.params, endpoint.json]) && !endpoint.incremental) {
      errors.push(`${path}.endpoint: uses {incremental.start_value} but has no endpoint.incremental`);
    }
    if (merged.include_from_parent && refs.length === 0) {
      errors.push(
        `${path}.include_from_parent: the resource has no parent ({resources.<parent>.<field>} placeholder)`,
      );
    }
    resolved.push({ config: merged, endpoint, parent: refs[0], index });
  });
  for (const r of resolved) {
    if (!r.parent) continue;
    const where = `config.resources[${r.index}].endpoint`;
    if (!names.has(r.parent.resource)) {
      errors.push(
        `${where}: {resources.${r.parent.resource}.${r.parent.field}} names no resource; resources: ${[...names].join(", ")}`,
      );
    } else if (r.parent.resource === r.config.name) {
      errors.push(`${where}: a resource cannot depend on itself`);
    }
  }
  // Dependency cycles (a -> b -> a) would never start.
  // Self-dependencies are reported above.
  const parentOf = new Map(
    resolved.map((r) => [
      r.config.name,
      r.parent?.resource === r.config.name ? undefined : r.parent?.resource,
    ]),
  );
  for (const r of resolved) {
    const seen = new Set<string>([r.config.name]);
    let p = parentOf.get(r.config.name);
    while (p !== undefined) {
      if (seen.has(p)) {
        errors.push(`config.resources[${r.index}]: dependency cycle through "${p}"`);
        break;
      }
      seen.add(p);
      p = parentOf.get(p);
    }
  }
  if (errors.length > 0) throwConfig(errors);
  return resolved;
}
