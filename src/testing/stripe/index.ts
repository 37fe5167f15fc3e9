export { FakeStripe, type FakeStripeOptions, type FakeStripeType } from "./fake-stripe.js";
