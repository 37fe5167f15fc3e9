export {
  FakeHubSpot,
  type FakeHubSpotOptions,
  HUBSPOT_OBJECT_TYPES,
  type HubSpotObjectType,
} from "./fake-hubspot.js";
export type { FakeObject as FakeHubSpotObject, FakeProperty as FakeHubSpotProperty } from "./hubspot-data.js";
export type { RateLimits as HubSpotRateLimits } from "./hubspot-limits.js";
