import type { Resource } from "../../extract/resource.js";
import { type Source, source } from "../../extract/source.js";
import { ConfigError } from "../../util/errors.js";
import { forwardingLogger } from "../common/forwarding-logger.js";
import { selectResources } from "../common/options.js";
import { hubspotClients } from "./client.js";
import { crmFingerprint, crmResource } from "./crm-resource.js";
import { CRM_OBJECTS, HUBSPOT_RESOURCES } from "./objects.js";
import { checkHubSpotOptions, type HubSpotOptions } from "./options.js";
import { ownersResource, pipelinesResource } from "./owners-pipelines.js";
import { chooseProperties, discoverProperties } from "./properties.js";

const CRM_NAMES = CRM_OBJECTS.map((o) => o.name);

function checkPerObject(
  what: string,
  map: Record<string, string[]> | undefined,
  values?: readonly string[],
): void {
  for (const [name, list] of Object.entries(map ?? {})) {
    if (!CRM_NAMES.includes(name)) {
      throw new ConfigError(`hubspot: ${what} names "${name}", which is not a CRM object`, {
        hint: `CRM objects: ${CRM_NAMES.join(", ")}`,
      });
    }
    if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) {
      throw new ConfigError(`hubspot: ${what}.${name} must be a list of names`);
    }
    const unknown = values ? list.filter((x) => !values.includes(x)) : [];
    if (unknown.length > 0) {
      throw new ConfigError(`hubspot: ${what}.${name} names ${unknown.map((u) => `"${u}"`).join(", ")}`, {
        hint: `associations can go to ${values?.join(", ")}`,
      });
    }
  }
}

/**
 * The HubSpot source: contacts, companies, deals, tickets, products, line items and quotes with all their
 * properties (read from the properties API when the source is built, so the columns are typed) and associations;
 * owners; pipelines with their stages. The first run lists every object; later runs read what changed through
 * the search API (past its 10,000-results limit by new windows) and merge it; archived objects are merged with
 * `archived = true`.
 *
 * @example
 * import { hubspotSource } from "ferry/sources/hubspot";
 * const hubspot = await hubspotSource({ access_token: process.env.HUBSPOT_TOKEN!, resources: ["contacts", "deals"] });
 * await pipeline({ name: "hubspot", destination: "duckdb:hubspot.duckdb" }).run(hubspot);
 */
export async function hubspotSource(options: HubSpotOptions): Promise<Source> {
  const opts = checkHubSpotOptions(options);
  checkPerObject("properties", opts.properties);
  checkPerObject("associations", opts.associations, CRM_NAMES);
  const selected = selectResources("hubspot", opts.resources, HUBSPOT_RESOURCES);
  const { log, target } = forwardingLogger();
  const { http, search } = hubspotClients(opts, log);
  const includeArchived = opts.include_archived ?? true;
  const crm = CRM_OBJECTS.filter((o) => selected.includes(o.name));
  const discovered = await Promise.all(crm.map((o) => discoverProperties(http, o.name)));
  const resources: Resource[] = [];
  for (const [i, o] of crm.entries()) {
    const listed = opts.properties?.[o.name];
    const associations = opts.associations?.[o.name] ?? o.associations;
    resources.push(
      crmResource(o, {
        http,
        search,
        logTarget: target,
        properties: chooseProperties(o.name, discovered[i] ?? [], listed),
        associations,
        includeArchived,
        fingerprint: crmFingerprint(associations, listed),
      }),
    );
  }
  if (selected.includes("owners")) resources.push(ownersResource(http, target, includeArchived));
  if (selected.includes("pipelines")) resources.push(pipelinesResource(http, target));
  return source({ name: opts.name ?? "hubspot", resources });
}
