import { ConfigError } from "../../util/errors.js";
import { checkOptions, type OptionSpec, toUnixSeconds } from "../common/options.js";

/**
 * Options of the Zendesk Support source (YAML spec `source: { type: zendesk, ... }` and `zendeskSource(...)`).
 * Credentials: `email` with `api_token`, or `oauth_token`.
 *
 * @example
 * zendeskSource({ subdomain: "acme", email: "admin@acme.com", api_token: process.env.ZENDESK_TOKEN! });
 */
export interface ZendeskOptions {
  /** The account's subdomain (`acme` for acme.zendesk.com); not needed with `base_url`. */
  subdomain?: string;
  /** An agent's (admin's, for exports) email, with `api_token`. */
  email?: string;
  /** An API token (Admin Center > Apps and integrations > Zendesk API), with `email`. */
  api_token?: string;
  /** An OAuth access token, instead of email and API token. */
  oauth_token?: string;
  /** Resources to load (default: all, see `ZENDESK_RESOURCES`). */
  resources?: string[];
  /** Where the first run's exports start (ISO date or Unix seconds; default: the beginning). */
  start_date?: string | number;
  /** Leave deleted tickets out of the ticket export (default false: they come with `status = deleted`). */
  exclude_deleted?: boolean;
  /** Records per export page (default and most 1000). */
  page_size?: number;
  /** The API's address (default `https://<subdomain>.zendesk.com`), e.g. a local server. */
  base_url?: string;
  /** Source and schema name (default `zendesk`). */
  name?: string;
  /** Cap on requests started per second (default: none; Zendesk's 429s say when to wait). */
  requests_per_second?: number;
  /** Requests in flight at once (default 3). */
  concurrency?: number;
  /** Attempts per request, the first included (default 8). */
  max_attempts?: number;
  /** Seconds per request (default 120: an export page can be large). */
  timeout?: number;
}

const SPECS: Record<keyof ZendeskOptions, OptionSpec> = {
  subdomain: { type: "string" },
  email: { type: "string" },
  api_token: { type: "string", secret: true },
  oauth_token: { type: "string", secret: true },
  resources: { type: "string[]" },
  start_date: { type: "date" },
  exclude_deleted: { type: "boolean" },
  page_size: { type: "number", min: 1, max: 1000 },
  base_url: { type: "string" },
  name: { type: "string" },
  requests_per_second: { type: "number", min: 0.01 },
  concurrency: { type: "number", min: 1, max: 64 },
  max_attempts: { type: "number", min: 1, max: 50 },
  timeout: { type: "number", min: 1 },
};

export interface CheckedZendeskOptions extends ZendeskOptions {
  baseUrl: string;
  startSeconds: number;
}

export function checkZendeskOptions(options: ZendeskOptions): CheckedZendeskOptions {
  const hint = `set subdomain with email and api_token (source: { type: zendesk, subdomain: acme, email: admin@acme.com, api_token: "${"$"}{env:ZENDESK_API_TOKEN}" }), or oauth_token`;
  checkOptions("zendesk", options as unknown as Record<string, unknown>, SPECS, hint);
  const basic = options.email !== undefined || options.api_token !== undefined;
  if (basic && options.oauth_token !== undefined) {
    throw new ConfigError("zendesk: give email with api_token, or oauth_token, not both", { hint });
  }
  if (!options.oauth_token && !(options.email && options.api_token)) {
    throw new ConfigError(
      options.email || options.api_token
        ? `zendesk: ${options.email ? "api_token" : "email"} is missing (an API token goes with the email of its user)`
        : "zendesk: credentials are missing",
      { hint },
    );
  }
  if (!options.base_url && !options.subdomain)
    throw new ConfigError("zendesk: subdomain is required", { hint });
  if (options.subdomain && !/^[a-z0-9][a-z0-9-]*$/i.test(options.subdomain)) {
    throw new ConfigError(`zendesk: subdomain "${options.subdomain}" is not a subdomain`, {
      hint: 'give the first part of the address only: "acme" for https://acme.zendesk.com',
    });
  }
  return {
    ...options,
    baseUrl: (options.base_url ?? `https://${options.subdomain}.zendesk.com`).replace(/\/+$/, ""),
    startSeconds: toUnixSeconds(options.start_date) ?? 0,
  };
}
