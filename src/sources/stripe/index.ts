/**
 * The Stripe source: `import { stripeSource } from "ferry/sources/stripe"`.
 */

export { stripePolicy } from "./client.js";
export { STRIPE_OBJECTS, STRIPE_RESOURCES, type StripeObject } from "./objects.js";
export type { StripeOptions } from "./options.js";
export { stripeSource } from "./stripe-source.js";
