import { checkOptions, type OptionSpec, toUnixSeconds } from "../common/options.js";

/**
 * Options of the Stripe source (YAML spec `source: { type: stripe, ... }` and `stripeSource(...)` alike).
 *
 * @example
 * stripeSource({ api_key: process.env.STRIPE_API_KEY!, resources: ["customers", "invoices"] });
 */
export interface StripeOptions {
  /** A secret key (`sk_live_...`, `sk_test_...`) or a restricted key (`rk_...`) with read access. */
  api_key: string;
  /** Resources to load (default: all, see `STRIPE_RESOURCES`). */
  resources?: string[];
  /** Only objects created at or after this time (ISO date or Unix seconds) on the first run. */
  start_date?: string | number;
  /** Only objects created before this time; append-only tables then backfill without moving their cursor. */
  end_date?: string | number;
  /** Extra expansions per resource, fields of the object (`{ charges: ["balance_transaction"] }`). */
  expand?: Record<string, string[]>;
  /** `Stripe-Version` header (default: the account's API version). */
  stripe_version?: string;
  /** The API's address (default `https://api.stripe.com`), e.g. a local stripe-mock. */
  base_url?: string;
  /** Source and schema name (default `stripe`). */
  name?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Cap on requests started per second (default 20; Stripe allows 100 in live mode, 25 in test mode). */
  requests_per_second?: number;
  /** Attempts per request, the first included (default 8). */
  max_attempts?: number;
  /** Seconds per request (default 60). */
  timeout?: number;
}

const SPECS: Record<keyof StripeOptions, OptionSpec> = {
  api_key: { type: "string", required: true, secret: true },
  resources: { type: "string[]" },
  start_date: { type: "date" },
  end_date: { type: "date" },
  expand: { type: "object" },
  stripe_version: { type: "string" },
  base_url: { type: "string" },
  name: { type: "string" },
  concurrency: { type: "number", min: 1, max: 64 },
  requests_per_second: { type: "number", min: 0.1 },
  max_attempts: { type: "number", min: 1, max: 50 },
  timeout: { type: "number", min: 1 },
};

/** The options after checking: times as Unix seconds. */
export interface CheckedStripeOptions extends StripeOptions {
  startSeconds: number | undefined;
  endSeconds: number | undefined;
}

export function checkStripeOptions(options: StripeOptions): CheckedStripeOptions {
  checkOptions(
    "stripe",
    options as unknown as Record<string, unknown>,
    SPECS,
    `set api_key (source: { type: stripe, api_key: "${"$"}{env:STRIPE_API_KEY}" })`,
  );
  return {
    ...options,
    startSeconds: toUnixSeconds(options.start_date),
    endSeconds: toUnixSeconds(options.end_date),
  };
}
