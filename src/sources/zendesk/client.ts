import type { Auth } from "../../http/auth.js";
import { HttpClient, type ResponsePolicy } from "../../http/client.js";
import type { HttpResponse } from "../../http/types.js";
import type { Logger } from "../../util/log.js";
import { bearerAuth } from "../rest-api/auth/bearer.js";
import { httpBasicAuth } from "../rest-api/auth/http-basic.js";
import type { CheckedZendeskOptions } from "./options.js";

function message(res: HttpResponse): string {
  try {
    const b = res.json() as { error?: unknown; description?: string; details?: unknown } | null;
    const error =
      typeof b?.error === "string"
        ? b.error
        : (b?.error as { title?: string; message?: string } | undefined)?.message;
    return [error, b?.description].filter(Boolean).join(": ") || `status ${res.status}`;
  } catch {
    return `status ${res.status}`;
  }
}

/** Zendesk's failures explained: which credentials, which role (429s are retried after their `Retry-After`). */
export const zendeskPolicy: ResponsePolicy = {
  explain(res) {
    if (res.status === 401) {
      return {
        message: `Zendesk did not accept the credentials: ${message(res)}`,
        hint: "set email with api_token (an API token of that user: Admin Center > Apps and integrations > Zendesk API), or oauth_token; check what the spec's api_token reads",
      };
    }
    if (res.status === 403) {
      return {
        message: `the Zendesk user may not read this: ${message(res)}`,
        hint: "incremental exports need an admin; use an admin's email and API token, or an OAuth token with the read scope",
      };
    }
    return undefined;
  },
};

/** Basic auth as `{email}/token:{api_token}`, or a bearer OAuth token. */
export function zendeskAuth(o: CheckedZendeskOptions): Auth {
  return o.oauth_token ? bearerAuth(o.oauth_token) : httpBasicAuth(`${o.email}/token`, o.api_token as string);
}

export function zendeskClient(o: CheckedZendeskOptions, log: Logger): HttpClient {
  return new HttpClient({
    baseUrl: o.baseUrl,
    auth: zendeskAuth(o),
    policy: zendeskPolicy,
    retry: { attempts: o.max_attempts ?? 8 },
    concurrency: o.concurrency ?? 3,
    ...(o.requests_per_second !== undefined ? { requestsPerSecond: o.requests_per_second } : {}),
    timeoutMs: (o.timeout ?? 120) * 1000,
    log,
  });
}
