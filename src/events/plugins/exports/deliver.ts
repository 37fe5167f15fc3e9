import { hostAllowed, notAllowedMessage } from "../allowed-hosts.js";
import { networkMessage } from "../network-error.js";
import type { Webhook } from "../plugin-api.js";

/** How a delivery went: delivered, worth another attempt (with the server's Retry-After), or never going to work. */
export type Delivery =
  | { ok: true }
  | { ok: false; retry: true; reason: string; retryAfterMs?: number }
  | { ok: false; retry: false; reason: string };

/**
 * Sends one webhook a plugin composed for an event: the event's uuid goes in the `Idempotency-Key` header (unless
 * the plugin set one) so that the receiver can recognise a retry. 2xx is delivered; 5xx, 408, 429, timeouts and
 * connection errors are retried; anything else (other 4xx, a redirect, a host not in allowed_hosts) is not.
 *
 * @example
 * const d = await deliverWebhook({ url, body }, event.uuid, { plugin: "slack", allowedHosts, timeoutMs: 10000 });
 */
export async function deliverWebhook(
  webhook: Webhook,
  uuid: string,
  o: { plugin: string; allowedHosts: readonly string[]; timeoutMs: number; signal?: AbortSignal },
): Promise<Delivery> {
  let url: URL;
  try {
    url = new URL(webhook.url);
  } catch {
    return {
      ok: false,
      retry: false,
      reason: `composeWebhook gave ${JSON.stringify(webhook.url)}, not a URL`,
    };
  }
  if (!hostAllowed(url, o.allowedHosts))
    return { ok: false, retry: false, reason: notAllowedMessage(webhook.url, o.plugin, o.allowedHosts) };
  const headers = new Headers(webhook.headers ?? {});
  if (!headers.has("idempotency-key")) headers.set("Idempotency-Key", uuid);
  const method = (webhook.method ?? "POST").toUpperCase();
  const what = `${method} ${url.origin}${url.pathname}`;
  // One controller with its own timer (signals of AbortSignal.any can be collected before they fire on Node 20).
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException("timeout", "TimeoutError")), o.timeoutMs);
  const stop = () => abort.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", stop, { once: true });
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : (webhook.body ?? ""),
      redirect: "manual",
      signal: abort.signal,
    });
    await res.arrayBuffer();
  } catch (err) {
    const timedOut =
      abort.signal.reason instanceof DOMException && abort.signal.reason.name === "TimeoutError";
    const why = timedOut ? `no answer within ${o.timeoutMs} ms` : networkMessage(err, o.timeoutMs);
    return { ok: false, retry: true, reason: `${what}: ${why}` };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", stop);
  }
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const reason = `${what} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  if (res.status >= 500 || res.status === 408 || res.status === 429)
    return { ok: false, retry: true, reason, retryAfterMs: retryAfter(res.headers.get("retry-after")) };
  return { ok: false, retry: false, reason };
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
