/** Test helpers for users of ferry: `import { FakeApi } from "ferry/testing"`. */
export {
  FakeApi,
  type FakeHandler,
  type FakeRequest,
  type FakeResponse,
  type FakeRoute,
  pathParams,
} from "./fake-api.js";
export { FakeStripe, type FakeStripeOptions, type FakeStripeType } from "./stripe/index.js";
