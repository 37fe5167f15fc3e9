import type { Auth } from "../../../http/auth.js";
import { ConfigError } from "../../../util/errors.js";
import { registerSecret } from "../../../util/log.js";
import { getHeader, requireString, setHeader } from "./shared.js";

export type ApiKeyLocation = "header" | "query" | "cookie";

export interface ApiKeyOptions {
  /** Header, query parameter or cookie name. Default "Authorization". */
  name?: string;
  /** Where the key goes. Default "header". */
  location?: ApiKeyLocation;
}

const LOCATIONS: readonly string[] = ["header", "query", "cookie"];

/**
 * An API key in a header (default `Authorization`), a query parameter or a cookie.
 *
 * @example
 * const auth = apiKeyAuth(process.env.KEY!, { name: "X-API-Key" });
 * const inQuery = apiKeyAuth(process.env.KEY!, { name: "api_key", location: "query" });
 */
export function apiKeyAuth(apiKey: string, options: ApiKeyOptions = {}): Auth {
  const key = requireString(apiKey, "api_key", "api_key");
  const name = options.name ?? "Authorization";
  if (typeof name !== "string" || name.length === 0) {
    throw new ConfigError("auth.name must be a non-empty string for type api_key", {
      hint: "name the header, query parameter or cookie that carries the key",
    });
  }
  const location = options.location ?? "header";
  if (!LOCATIONS.includes(location)) {
    throw new ConfigError(`auth.location "${String(location)}" is not supported for type api_key`, {
      hint: "use header, query or cookie",
    });
  }
  registerSecret(key);
  return {
    async apply(request) {
      if (location === "header") setHeader(request, name, key);
      else if (location === "query") request.params = { ...request.params, [name]: key };
      else {
        const cookie = getHeader(request, "Cookie");
        setHeader(request, "Cookie", cookie ? `${cookie}; ${name}=${key}` : `${name}=${key}`);
      }
    },
    secrets: () => [key],
  };
}
