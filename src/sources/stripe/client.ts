import { HttpClient, type ResponsePolicy } from "../../http/client.js";
import type { HttpResponse } from "../../http/types.js";
import type { Logger } from "../../util/log.js";
import { trimBaseUrl } from "../common/options.js";
import { bearerAuth } from "../rest-api/auth/bearer.js";
import type { CheckedStripeOptions } from "./options.js";

/** Stripe's messages show a key partly masked (`sk_test_****1234`): no part of a key is repeated here. */
const maskKeys = (text: string) => text.replace(/\b((?:sk|rk|pk)_(?:live|test)_)[A-Za-z0-9_*]+/g, "$1***");

function stripeMessage(res: HttpResponse): string {
  try {
    const body = res.json() as { error?: { message?: string; code?: string } } | null;
    const e = body?.error;
    if (e?.message) return maskKeys(e.code ? `${e.message} (${e.code})` : e.message);
  } catch {
    // not JSON: the status says enough
  }
  return `status ${res.status}`;
}

/**
 * Stripe's rules: `Stripe-Should-Retry` decides whether a failure is retried (true also for 409 lock conflicts,
 * false even for a 5xx), and 401/403 say which key is wrong and which permission it lacks, never the key.
 */
export const stripePolicy: ResponsePolicy = {
  retry(res) {
    const should = res.headers.get("stripe-should-retry");
    if (should === "true") return true;
    if (should === "false") return false;
    return res.status === 409 ? true : undefined;
  },
  explain(res) {
    if (res.status === 401) {
      return {
        message: `Stripe did not accept the API key: ${stripeMessage(res)}`,
        hint: "set api_key to a secret key (sk_live_..., sk_test_...) or a restricted key (rk_...) of the account; check STRIPE_API_KEY, or what the spec's api_key reads",
      };
    }
    if (res.status === 403) {
      return {
        message: `the Stripe API key may not read this: ${stripeMessage(res)}`,
        hint: "give the restricted key read access to the resources you load (docs/sources/stripe.md lists them), or leave those resources out",
      };
    }
    return undefined;
  },
};

/** The HTTP client of one Stripe source: bearer auth, Stripe's retry rules, limits, an optional API version. */
export function stripeClient(o: CheckedStripeOptions, log: Logger): HttpClient {
  return new HttpClient({
    baseUrl: trimBaseUrl(o.base_url ?? "https://api.stripe.com"),
    auth: bearerAuth(o.api_key),
    headers: o.stripe_version ? { "Stripe-Version": o.stripe_version } : {},
    policy: stripePolicy,
    retry: { attempts: o.max_attempts ?? 8 },
    concurrency: o.concurrency ?? 4,
    requestsPerSecond: o.requests_per_second ?? 20,
    timeoutMs: (o.timeout ?? 60) * 1000,
    log,
  });
}
