import { HttpClient, type ResponsePolicy } from "../../http/client.js";
import type { HttpResponse } from "../../http/types.js";
import type { Logger } from "../../util/log.js";
import { trimBaseUrl } from "../common/options.js";
import { bearerAuth } from "../rest-api/auth/bearer.js";
import type { HubSpotOptions } from "./options.js";

interface HubSpotError {
  message?: string;
  category?: string;
  policyName?: string;
  errors?: { message?: string; context?: { requiredGranularScopes?: string[]; requiredScopes?: string[] } }[];
}

function body(res: HttpResponse): HubSpotError {
  try {
    return (res.json() as HubSpotError | null) ?? {};
  } catch {
    return {};
  }
}

/**
 * HubSpot's rules: a 429 names its policy (`TEN_SECONDLY_ROLLING`, `SECONDLY`, `DAILY`) and rarely sends
 * `Retry-After`: the wait is the policy's window (`X-HubSpot-RateLimit-Interval-Milliseconds`, one second for the
 * per-second limits); the daily limit is not retried. 401 and 403 say what the token lacks (never the token).
 */
export const hubspotPolicy: ResponsePolicy = {
  retry(res) {
    if (res.status === 429 && body(res).policyName === "DAILY") return false;
    return undefined;
  },
  delayMs(res) {
    if (res.status !== 429 || res.headers.get("retry-after")) return undefined;
    const policy = body(res).policyName;
    if (policy === "SECONDLY") return 1000;
    const interval = Number(res.headers.get("x-hubspot-ratelimit-interval-milliseconds"));
    return Number.isFinite(interval) && interval > 0 ? interval : 10_000;
  },
  explain(res) {
    const b = body(res);
    if (res.status === 401) {
      return {
        // Not "token: <message>": logs mask what follows "token:".
        message: `HubSpot did not accept the access token (${b.message ?? "unauthorized"})`,
        hint: "set access_token to a private app's access token (HubSpot: Settings > Integrations > Private Apps); check HUBSPOT_TOKEN, or what the spec's access_token reads",
      };
    }
    if (res.status === 403) {
      const scopes = (b.errors ?? []).flatMap(
        (e) => e.context?.requiredGranularScopes ?? e.context?.requiredScopes ?? [],
      );
      return {
        message: `the HubSpot token may not read this: ${b.message ?? "forbidden"}${scopes.length ? ` (required scopes: ${scopes.join(", ")})` : ""}`,
        hint: "give the private app the read scopes docs/sources/hubspot.md lists for the resources you load, or leave those resources out",
      };
    }
    if (res.status === 429 && b.policyName === "DAILY") {
      return {
        message: `HubSpot's daily API limit is used up: ${b.message ?? ""}`.trim(),
        hint: "run again after the limit resets (midnight in the account's time zone); nothing was lost, the next run continues where this one stopped",
      };
    }
    return undefined;
  },
};

/** The two clients of one HubSpot source: general requests, and the search API with its own per-second limit. */
export function hubspotClients(o: HubSpotOptions, log: Logger): { http: HttpClient; search: HttpClient } {
  const auth = bearerAuth(o.access_token);
  const common = {
    baseUrl: trimBaseUrl(o.base_url ?? "https://api.hubapi.com"),
    auth,
    policy: hubspotPolicy,
    retry: { attempts: o.max_attempts ?? 8 },
    concurrency: o.concurrency ?? 4,
    timeoutMs: (o.timeout ?? 60) * 1000,
    log,
  };
  return {
    http: new HttpClient({ ...common, requestsPerSecond: o.requests_per_second ?? 10 }),
    search: new HttpClient({ ...common, requestsPerSecond: o.search_requests_per_second ?? 4 }),
  };
}
