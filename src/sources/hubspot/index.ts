/**
 * The HubSpot source: `import { hubspotSource } from "ferry/sources/hubspot"`.
 */

export { hubspotPolicy } from "./client.js";
export { hubspotSource } from "./hubspot-source.js";
export { CRM_OBJECTS, type CrmObject, HUBSPOT_RESOURCES } from "./objects.js";
export type { HubSpotOptions } from "./options.js";
