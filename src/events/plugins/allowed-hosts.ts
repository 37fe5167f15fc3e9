/**
 * Whether a URL's host is one a plugin may reach: `allowed` lists host names (`api.example.com`), wildcards for
 * subdomains (`*.example.com`, not example.com itself) and host:port pairs (`127.0.0.1:8080`). Only http and https.
 *
 * @example
 * hostAllowed(new URL("https://api.example.com/x"), ["*.example.com"]) // true
 * hostAllowed(new URL("https://example.com/x"), ["*.example.com"])     // false
 */
export function hostAllowed(url: URL, allowed: readonly string[]): boolean {
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "");
  const withPort = url.port ? `${host}:${url.port}` : host;
  return allowed.some((a) => {
    const [name, port] = a.includes(":") && !a.startsWith("[") ? splitPort(a) : [a, undefined];
    if (port !== undefined && port !== (url.port || (url.protocol === "https:" ? "443" : "80"))) return false;
    if (name.startsWith("*.")) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
    return name === host || a === withPort;
  });
}

function splitPort(a: string): [string, string] {
  const i = a.lastIndexOf(":");
  return [a.slice(0, i), a.slice(i + 1)];
}

/** Why a URL may not be fetched, in words that say how to allow it. */
export function notAllowedMessage(rawUrl: string, plugin: string, allowed: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return `${JSON.stringify(rawUrl)} is not a URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `only http and https URLs can be fetched, not ${url.protocol}`;
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  return `the plugin ${plugin} may not reach ${host}: add it to the plugin's allowed_hosts in ferry.yaml${
    allowed.length ? ` (allowed now: ${allowed.join(", ")})` : " (none are allowed now)"
  }`;
}
