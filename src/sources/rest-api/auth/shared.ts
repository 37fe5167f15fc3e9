import type { HttpRequest } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";

/** Sets a header, replacing any header of the same name in another letter case. */
export function setHeader(request: HttpRequest, name: string, value: string): void {
  const headers = { ...request.headers };
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
  headers[name] = value;
  request.headers = headers;
}

/** The value of a header, whatever its letter case. */
export function getHeader(request: HttpRequest, name: string): string | undefined {
  const key = Object.keys(request.headers ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : request.headers?.[key];
}

/** Checks a required string option; empty strings count as missing unless `allowEmpty`. */
export function requireString(value: unknown, field: string, type: string, allowEmpty = false): string {
  if (typeof value === "string" && (allowEmpty || value.length > 0)) return value;
  throw new ConfigError(`auth.${field} is required for type ${type}`, {
    hint: `set auth.${field} (secrets usually come from \${env:NAME})`,
  });
}
