import { ConfigError } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";

/** What an option of a SaaS source accepts. `secret` options are masked in every log line and error. */
export interface OptionSpec {
  type: "string" | "number" | "boolean" | "string[]" | "date" | "object";
  required?: boolean;
  secret?: boolean;
  /** For numbers: the smallest and largest accepted values. */
  min?: number;
  max?: number;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "string" ? JSON.stringify(v) : typeof v;
}

function problem(name: string, spec: OptionSpec, v: unknown): string | undefined {
  switch (spec.type) {
    case "string":
      return typeof v === "string" && v.length > 0
        ? undefined
        : `${name} must be a non-empty string, got ${describe(v)}`;
    case "number":
      if (typeof v !== "number" || !Number.isFinite(v)) return `${name} must be a number, got ${describe(v)}`;
      if (spec.min !== undefined && v < spec.min) return `${name} must be at least ${spec.min}, got ${v}`;
      if (spec.max !== undefined && v > spec.max) return `${name} must be at most ${spec.max}, got ${v}`;
      return undefined;
    case "boolean":
      return typeof v === "boolean" ? undefined : `${name} must be true or false, got ${describe(v)}`;
    case "string[]":
      return Array.isArray(v) && v.every((x) => typeof x === "string")
        ? undefined
        : `${name} must be a list of names, got ${describe(v)}`;
    case "date":
      return toUnixSeconds(v) === undefined
        ? `${name} must be an ISO date ("2024-01-01", "2024-01-01T00:00:00Z") or Unix seconds, got ${describe(v)}`
        : undefined;
    case "object":
      return v !== null && typeof v === "object" && !Array.isArray(v)
        ? undefined
        : `${name} must be a mapping, got ${describe(v)}`;
  }
}

/**
 * Checks a source's options against their specs before any request: unknown keys, missing required ones and wrong
 * types are listed together in one error. Secrets are registered for masking first, so no message shows them.
 *
 * @example
 * checkOptions("stripe", config, { api_key: { type: "string", required: true, secret: true } });
 */
export function checkOptions(
  source: string,
  config: Record<string, unknown>,
  specs: Record<string, OptionSpec>,
  hint: string,
): void {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError(`${source}: the options must be a mapping`, { hint });
  }
  for (const [name, spec] of Object.entries(specs)) {
    const v = config[name];
    if (spec.secret && typeof v === "string") registerSecret(v);
  }
  const problems: string[] = [];
  for (const key of Object.keys(config)) {
    if (!(key in specs) && key !== "type") problems.push(`unknown option "${key}"`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    const v = config[name];
    if (v === undefined) {
      if (spec.required) problems.push(`${name} is required`);
      continue;
    }
    const p = problem(name, spec, v);
    if (p) problems.push(p);
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid ${source} options:\n  ${problems.join("\n  ")}`, {
      hint: `${hint}; options: ${Object.keys(specs).join(", ")}`,
    });
  }
}

/**
 * The resources to load: all the source knows when `requested` is undefined, else the listed ones (each once,
 * every name known).
 *
 * @example
 * selectResources("stripe", ["customers"], ["customers", "charges"]) // ["customers"]
 */
export function selectResources(source: string, requested: unknown, known: readonly string[]): string[] {
  if (requested === undefined) return [...known];
  const list = requested as string[];
  const unknown = list.filter((r) => !known.includes(r));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${source}: unknown resource${unknown.length > 1 ? "s" : ""} ${unknown.map((r) => `"${r}"`).join(", ")}`,
      { hint: `resources the ${source} source knows: ${known.join(", ")}` },
    );
  }
  if (list.length === 0) {
    throw new ConfigError(`${source}: resources is empty`, {
      hint: `leave resources out to load all of them (${known.join(", ")}), or list some`,
    });
  }
  return known.filter((r) => list.includes(r));
}

/** Unix seconds of an ISO date/time string, a Date, or a number of seconds; undefined for anything else. */
export function toUnixSeconds(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : Math.floor(v.getTime() / 1000);
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
    return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
  }
  return undefined;
}

/** Strips trailing slashes so paths join the same way whatever the user wrote. */
export function trimBaseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}
