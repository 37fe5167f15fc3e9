/** Test helpers for users of ferry: `import { FakeApi, pluginHarness, createPageview } from "ferry/testing"`. */

export { MemoryCache } from "../events/plugins/memory-cache.js";
export type {
  CacheExtension,
  Plugin,
  PluginEvent,
  PluginFetch,
  PluginFetchInit,
  PluginLogger,
  PluginMeta,
  PluginResponse,
  ProcessedPluginEvent,
  Properties,
  StorageExtension,
  Webhook,
} from "../events/plugins/plugin-api.js";
export {
  createAutocapture,
  createCustomEvent,
  createEvent,
  createIdentify,
  createPageview,
  sampleEvents,
} from "../events/plugins/sample-events.js";
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
export {
  type CapturedRequest,
  type FakeFetchHandler,
  getMeta,
  type HarnessOptions,
  type LogLine,
  MemoryStorage,
  PluginHarness,
  pluginHarness,
  type TestMeta,
} from "./plugin-harness.js";
export { FakeStripe, type FakeStripeOptions, type FakeStripeType } from "./stripe/index.js";
export { FakeZendesk, type FakeZendeskAgent, type FakeZendeskOptions } from "./zendesk/index.js";
