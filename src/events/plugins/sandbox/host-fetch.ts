import { hostAllowed, notAllowedMessage } from "../allowed-hosts.js";
import { networkMessage } from "../network-error.js";

/** A response body larger than this is refused (the plugin's memory is limited anyway). */
const MAX_BODY_BYTES = 10 * 1048576;

/**
 * `meta.fetch` on the host's side: the URL's host must be in the plugin's `allowed_hosts`; redirects are not followed
 * (a redirect to another host would get around the list); the whole body is read, up to 10 MB, within `timeoutMs`.
 * Resolves with `{ status, statusText, headers, body }` as JSON text; rejects with a message for the plugin.
 */
export async function hostFetch(
  rawUrl: string,
  initJson: string,
  plugin: { name: string; allowedHosts: readonly string[]; timeoutMs: number },
): Promise<string> {
  let url: URL | undefined;
  try {
    url = new URL(rawUrl);
  } catch {
    url = undefined;
  }
  if (!url || !hostAllowed(url, plugin.allowedHosts))
    throw new Error(`fetch refused: ${notAllowedMessage(rawUrl, plugin.name, plugin.allowedHosts)}`);
  const init = JSON.parse(initJson) as { method?: unknown; headers?: unknown; body?: unknown };
  const headers: Record<string, string> = {};
  if (init.headers && typeof init.headers === "object")
    for (const [k, v] of Object.entries(init.headers)) headers[k] = String(v);
  const body = init.body === undefined || init.body === null ? undefined : String(init.body);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException("timeout", "TimeoutError")), plugin.timeoutMs);
  try {
    const res = await fetch(url, {
      method: typeof init.method === "string" ? init.method.toUpperCase() : "GET",
      headers,
      body,
      redirect: "manual",
      signal: abort.signal,
    });
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES) {
      await res.body?.cancel();
      throw new Error(`the response of ${url.host} has ${declared} bytes (at most ${MAX_BODY_BYTES})`);
    }
    const text = await res.text();
    if (text.length > MAX_BODY_BYTES)
      throw new Error(`the response of ${url.host} has more than ${MAX_BODY_BYTES} bytes`);
    return JSON.stringify({
      status: res.status,
      statusText: res.statusText,
      headers: Object.fromEntries(res.headers.entries()),
      body: text,
    });
  } catch (err) {
    const timedOut = abort.signal.aborted;
    const why = timedOut ? `no answer within ${plugin.timeoutMs} ms` : networkMessage(err, plugin.timeoutMs);
    throw new Error(`fetch ${url.origin}${url.pathname} failed: ${why}`);
  } finally {
    clearTimeout(timer);
  }
}
