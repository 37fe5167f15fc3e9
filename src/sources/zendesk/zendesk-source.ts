import type { Resource } from "../../extract/resource.js";
import type { Source } from "../../extract/source.js";
import { Carried } from "../common/carried.js";
import { forwardingLogger } from "../common/forwarding-logger.js";
import { selectResources } from "../common/options.js";
import type { ResourceConfig } from "../rest-api/config.js";
import { restApiSource } from "../rest-api/rest-api-source.js";
import { zendeskClient } from "./client.js";
import { checkZendeskOptions, type ZendeskOptions } from "./options.js";
import {
  type ExportDeps,
  organizationsResource,
  ticketMetricsTransformer,
  ticketsResource,
  usersResource,
} from "./resources.js";

/** Resource names of the Zendesk source. */
export const ZENDESK_RESOURCES: readonly string[] = [
  "tickets",
  "ticket_metrics",
  "users",
  "organizations",
  "groups",
  "ticket_fields",
];

/** A small list endpoint with Zendesk's cursor pagination (`page[size]`, `links.next`), replaced whole each run. */
function listed(name: string): ResourceConfig {
  return {
    name,
    write_disposition: "replace",
    endpoint: {
      path: `api/v2/${name}.json`,
      params: { "page[size]": 100 },
      data_selector: name,
      paginator: { type: "json_link", next_url_path: "links.next" },
    },
  };
}

/**
 * The Zendesk Support source: tickets and users through the cursor-based incremental exports, their ticket
 * metrics side-loaded, organizations through their time-based export, groups and ticket fields. Later runs load
 * what changed since the stored cursors; deleted tickets and users keep their rows (`status = deleted`,
 * `active = false`).
 *
 * @example
 * import { zendeskSource } from "ferry/sources/zendesk";
 * await pipeline({ name: "zendesk" }).run(
 *   zendeskSource({ subdomain: "acme", email: "admin@acme.com", api_token: process.env.ZENDESK_API_TOKEN! }),
 * );
 */
export function zendeskSource(options: ZendeskOptions): Source {
  const opts = checkZendeskOptions(options);
  const selected = selectResources("zendesk", opts.resources, ZENDESK_RESOURCES);
  const { log, target } = forwardingLogger();
  const http = zendeskClient(opts, log);
  const deps: ExportDeps = {
    http,
    logTarget: target,
    startSeconds: opts.startSeconds,
    pageSize: opts.page_size ?? 1000,
  };
  const metrics = new Carried<Record<string, unknown> | null>();
  let tickets: Resource | undefined;
  const ticketsOnce = () => {
    tickets ??= ticketsResource(deps, metrics, opts.exclude_deleted === true);
    return tickets;
  };
  const resources: (Resource | ResourceConfig)[] = [];
  for (const name of selected) {
    if (name === "tickets") resources.push(ticketsOnce());
    else if (name === "ticket_metrics")
      resources.push(ticketMetricsTransformer(ticketsOnce(), deps, metrics));
    else if (name === "users") resources.push(usersResource(deps));
    else if (name === "organizations") resources.push(organizationsResource(deps));
    else resources.push(listed(name));
  }
  return restApiSource(
    { name: opts.name ?? "zendesk", client: { base_url: opts.baseUrl }, resources },
    { http },
  );
}
