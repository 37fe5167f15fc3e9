import type { HttpRequest, HttpResponse, QueryParams } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";

/** A copy of the request with these query parameters set (the others kept). */
export function withParams(request: HttpRequest, params: QueryParams): HttpRequest {
  return { ...request, params: { ...request.params, ...params } };
}

/** Where a paginator puts a value: a query parameter, or a dotted path in the JSON body. */
export type ValueTarget = { param: string } | { bodyPath: string };

/** A copy of the request with `value` at `target`. */
export function withValue(request: HttpRequest, target: ValueTarget, value: string | number): HttpRequest {
  if ("param" in target) return withParams(request, { [target.param]: value });
  return { ...request, json: setAtPath(request.json, target.bodyPath, value) };
}

/** The target of a value given as a query parameter name or a body path (the body path wins when both are set). */
export function targetOf(
  param: string | undefined,
  bodyPath: string | undefined,
  defaultParam: string,
  bodyOption: string,
): ValueTarget {
  if (bodyPath !== undefined) {
    checkBodyPath(bodyPath, bodyOption);
    return { bodyPath };
  }
  return { param: param ?? defaultParam };
}

/**
 * A copy of the request that goes to `url` (resolved against `baseUrl` when relative). The old query parameters
 * are dropped: a next-page URL carries its own.
 */
export function withUrl(request: HttpRequest, url: string, baseUrl: string): HttpRequest {
  const next: HttpRequest = { ...request, url: resolveUrl(url, baseUrl) };
  delete next.params;
  return next;
}

/** Resolves a possibly relative URL against the URL of the response that held it. */
export function resolveUrl(ref: string, baseUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return ref;
  try {
    return new URL(ref, baseUrl).toString();
  } catch {
    return ref;
  }
}

/** The JSON body of a response, or undefined when it is not JSON (for detection only). */
export function tryJson(response: HttpResponse): unknown {
  try {
    return response.json();
  } catch {
    return undefined;
  }
}

const DOTTED = /^(\$\.)?[\w-]+(\.[\w-]+)*$/;

/** Checks a dotted path given for a request body (`a.b.c`, optionally `$.a.b.c`). */
export function checkBodyPath(path: string, option: string): void {
  if (!DOTTED.test(path)) {
    throw new ConfigError(`paginator option ${option} "${path}" is not a dotted path`, {
      hint: `write ${option} as field names joined by dots, e.g. "query.cursor"`,
    });
  }
}

/** A copy of `root` (an object, else {}) with `value` at the dotted `path`; objects on the way are copied too. */
export function setAtPath(root: unknown, path: string, value: unknown): Record<string, unknown> {
  const parts = path.replace(/^\$\./, "").split(".");
  const out: Record<string, unknown> = isRecord(root) ? { ...root } : {};
  let cur = out;
  parts.forEach((part, i) => {
    if (i === parts.length - 1) {
      cur[part] = value;
      return;
    }
    const child = cur[part];
    const copy: Record<string, unknown> = isRecord(child) ? { ...child } : {};
    cur[part] = copy;
    cur = copy;
  });
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An integer from a number or a numeric string; undefined when absent, null when present but not an integer. */
export function readInteger(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) ? n : null;
}

const TRUE = new Set(["true", "t", "yes", "y", "on", "1"]);
const FALSE = new Set(["false", "f", "no", "n", "off", "0"]);

/** A boolean from a boolean, 0/1 or a string like "true"/"no"; undefined when absent, null when unreadable. */
export function readBoolean(value: unknown): boolean | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
  }
  return null;
}

/** Short JSON of a value for error messages. */
export function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
