import type { Auth } from "../../../http/auth.js";
import { ConfigError } from "../../../util/errors.js";
import { apiKeyAuth } from "./api-key.js";
import type { AuthConfig } from "./auth-config.js";
import { bearerAuth } from "./bearer.js";
import { httpBasicAuth } from "./http-basic.js";
import { oauth2ClientCredentials } from "./oauth2-client-credentials.js";

export { type ApiKeyLocation, type ApiKeyOptions, apiKeyAuth } from "./api-key.js";
export type { AuthConfig } from "./auth-config.js";
export { bearerAuth } from "./bearer.js";
export { httpBasicAuth } from "./http-basic.js";
export { type OAuth2ClientCredentialsOptions, oauth2ClientCredentials } from "./oauth2-client-credentials.js";

const TYPES = ["bearer", "api_key", "http_basic", "oauth2_client_credentials"];

/**
 * Makes the `Auth` of an `auth:` spec (dlt's types and option names).
 *
 * @example
 * const auth = createAuth({ type: "api_key", name: "api_key", api_key: key, location: "query" });
 */
export function createAuth(config: AuthConfig): Auth {
  if (config === null || typeof config !== "object") {
    throw new ConfigError("auth must be an object with a type", { hint: `use one of ${TYPES.join(", ")}` });
  }
  switch (config.type) {
    case "bearer":
      return bearerAuth(config.token);
    case "api_key":
      return apiKeyAuth(config.api_key, {
        ...(config.name !== undefined ? { name: config.name } : {}),
        ...(config.location !== undefined ? { location: config.location } : {}),
      });
    case "http_basic":
      return httpBasicAuth(config.username, config.password);
    case "oauth2_client_credentials": {
      const { type: _type, ...options } = config;
      return oauth2ClientCredentials(options);
    }
    default: {
      const type = (config as { type?: unknown }).type;
      throw new ConfigError(
        type === undefined ? "auth.type is required" : `auth.type "${String(type)}" is not supported`,
        { hint: `use one of ${TYPES.join(", ")}` },
      );
    }
  }
}
