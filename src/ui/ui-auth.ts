import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** The cookie the browser keeps the access token in after opening `/ui/?token=...`. */
export const TOKEN_COOKIE = "ferry_ui_token";

/** True for addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** A new random access token (32 bytes, URL-safe). */
export const newAccessToken = (): string => randomBytes(32).toString("base64url");

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

/** The token a request carries: `Authorization: Bearer`, the cookie, or `?token=`. */
function presented(req: IncomingMessage, url: URL): { token?: string; fromQuery: boolean } {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return { token: auth.slice(7).trim(), fromQuery: false };
  const c = cookie(req, TOKEN_COOKIE);
  if (c) return { token: c, fromQuery: false };
  const q = url.searchParams.get("token");
  return q ? { token: q, fromQuery: true } : { fromQuery: false };
}

/**
 * Checks a request's access: when a token is required it must be presented (a `?token=` link sets the cookie and
 * redirects to the same page without it, so the token does not stay in the address bar or history). On a loopback
 * address the Host header must name a loopback host too (a web page cannot reach the dashboard by DNS rebinding).
 * Returns true when the request may go on; otherwise it has been answered.
 */
export function authorize(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  access: { token: string | undefined; loopbackOnly: boolean },
): boolean {
  if (access.loopbackOnly) {
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (!isLoopback(host)) {
      res.writeHead(421, { "content-type": "text/plain; charset=utf-8" });
      res.end(`this dashboard answers on 127.0.0.1 and localhost only, not on ${host}`);
      return false;
    }
  }
  if (access.token === undefined) return true;
  const { token, fromQuery } = presented(req, url);
  if (token !== undefined && sameToken(token, access.token)) {
    if (fromQuery) {
      url.searchParams.delete("token");
      res.writeHead(303, {
        location: `${url.pathname}${url.search}`,
        "set-cookie": `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/ui`,
      });
      res.end();
      return false;
    }
    return true;
  }
  res.writeHead(401, { "content-type": "application/json; charset=utf-8" });
  res.end(
    JSON.stringify({
      error: "an access token is required: open the link ferry printed at start (…/ui/?token=...)",
      hint: "or send Authorization: Bearer <token>; set it with FERRY_UI_TOKEN",
    }),
  );
  return false;
}
