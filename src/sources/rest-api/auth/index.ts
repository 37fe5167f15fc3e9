import type { Auth } from "../../../http/auth.js";
import { ConfigError } from "../../../util/errors.js";
import { apiKeyAuth } from "./api-key.js";
import { AUTH_TYPES, type AuthConfig, authTypeOf, isAuthObject } from "./auth-config.js";
import { bearerAuth } from "./bearer.js";
import { httpBasicAuth } from "./http-basic.js";
import { oauth2ClientCredentials } from "./oauth2-client-credentials.js";

export { type ApiKeyLocation, type ApiKeyOptions, apiKeyAuth } from "./api-key.js";
export { type AuthConfig, authProblems, isAuthObject } from "./auth-config.js";
export { bearerAuth } from "./bearer.js";
export { httpBasicAuth } from "./http-basic.js";
export { type OAuth2ClientCredentialsOptions, oauth2ClientCredentials } from "./oauth2-client-credentials.js";

const TYPES = Object.keys(AUTH_TYPES);

/**
 * Makes the `Auth` of an `auth:` spec (dlt's types and option names; `{ token }` alone is bearer). A ferry `Auth`
 * object is used as it is.
 *
 * @example
 * const auth = createAuth({ type: "api_key", name: "api_key", api_key: key, location: "query" });
 * const bearer = createAuth({ token: process.env.API_TOKEN! });
 */
export function createAuth(config: AuthConfig): Auth {
  if (isAuthObject(config)) return config;
  if (config === null || typeof config !== "object") {
    throw new ConfigError("auth must be an object with a type (or a token)", {
      hint: `use one of ${TYPES.join(", ")}`,
    });
  }
  const c = config as Record<string, unknown>;
  const type = authTypeOf(c);
  switch (type) {
    case "bearer":
      return bearerAuth(c.token as string);
    case "api_key": {
      const location =
        c.location === "param" ? "query" : (c.location as "header" | "query" | "cookie" | undefined);
      return apiKeyAuth(c.api_key as string, {
        ...(c.name !== undefined ? { name: c.name as string } : {}),
        ...(location !== undefined ? { location } : {}),
      });
    }
    case "http_basic":
      return httpBasicAuth(c.username as string, c.password as string);
    case "oauth2_client_credentials": {
      const { type: _type, ...options } = c;
      return oauth2ClientCredentials(options as Parameters<typeof oauth2ClientCredentials>[0]);
    }
    default:
      throw new ConfigError(`auth.type "${String(type)}" is not supported`, {
        hint: `use one of ${TYPES.join(", ")}`,
      });
  }
}
