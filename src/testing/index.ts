/** Test helpers for users of ferry: `import { FakeApi } from "ferry/testing"`. */
export {
  FakeApi,
  type FakeHandler,
  type FakeRequest,
  type FakeResponse,
  type FakeRoute,
  pathParams,
} from "./fake-api.js";
export {
  FakeHubSpot,
  type FakeHubSpotObject,
  type FakeHubSpotOptions,
  type FakeHubSpotProperty,
  HUBSPOT_OBJECT_TYPES,
  type HubSpotObjectType,
  type HubSpotRateLimits,
} from "./hubspot/index.js";
export { FakeStripe, type FakeStripeOptions, type FakeStripeType } from "./stripe/index.js";
export { FakeZendesk, type FakeZendeskAgent, type FakeZendeskOptions } from "./zendesk/index.js";
