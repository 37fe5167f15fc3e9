import { checkOptions, type OptionSpec } from "../common/options.js";

/**
 * Options of the HubSpot source (YAML spec `source: { type: hubspot, ... }` and `hubspotSource(...)` alike).
 *
 * @example
 * await hubspotSource({ access_token: process.env.HUBSPOT_TOKEN!, resources: ["contacts", "companies", "owners"] });
 */
export interface HubSpotOptions {
  /** A private app's access token (`pat-...`), or an OAuth access token. */
  access_token: string;
  /** Resources to load (default: all, see `HUBSPOT_RESOURCES`). */
  resources?: string[];
  /** Properties per object instead of all of them (`{ contacts: ["email", "firstname"] }`). */
  properties?: Record<string, string[]>;
  /** Associated object types per object instead of the defaults (`{ deals: ["companies"] }`; `[]` for none). */
  associations?: Record<string, string[]>;
  /** Load archived objects too, with `archived = true` (default true). */
  include_archived?: boolean;
  /** The API's address (default `https://api.hubapi.com`), e.g. a local server. */
  base_url?: string;
  /** Source and schema name (default `hubspot`). */
  name?: string;
  /** Requests started per second outside the search API (default 10: 100 per 10 s, a private app's limit). */
  requests_per_second?: number;
  /** Search API requests per second (default 4; HubSpot allows 5). */
  search_requests_per_second?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Attempts per request, the first included (default 8). */
  max_attempts?: number;
  /** Seconds per request (default 60). */
  timeout?: number;
}

const SPECS: Record<keyof HubSpotOptions, OptionSpec> = {
  access_token: { type: "string", required: true, secret: true },
  resources: { type: "string[]" },
  properties: { type: "object" },
  associations: { type: "object" },
  include_archived: { type: "boolean" },
  base_url: { type: "string" },
  name: { type: "string" },
  requests_per_second: { type: "number", min: 0.1 },
  search_requests_per_second: { type: "number", min: 0.1 },
  concurrency: { type: "number", min: 1, max: 64 },
  max_attempts: { type: "number", min: 1, max: 50 },
  timeout: { type: "number", min: 1 },
};

export function checkHubSpotOptions(options: HubSpotOptions): HubSpotOptions {
  checkOptions(
    "hubspot",
    options as unknown as Record<string, unknown>,
    SPECS,
    `set access_token (source: { type: hubspot, access_token: "${"$"}{env:HUBSPOT_TOKEN}" })`,
  );
  return options;
}
