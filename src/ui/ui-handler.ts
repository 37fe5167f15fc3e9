import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiContext, answerApi } from "./ui-api.js";
import { authorize } from "./ui-auth.js";

/** Every path of the dashboard starts with this. */
export const UI_PREFIX = "/ui";

/** How the dashboard handler is set up. */
export interface UiHandlerOptions extends ApiContext {
  /** Required from every request when set (a dashboard bound to an address other machines reach). */
  token: string | undefined;
  /** Bound to a loopback address: requests must name a loopback Host. */
  loopbackOnly: boolean;
}

/** Answers a request; false when the path is not the dashboard's (another handler may take it). */
export type UiHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

// The pages live in the package's ui/ folder: two levels up from src/ui/ and from dist/ui/ alike.
const PAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "ui");
const require = createRequire(import.meta.url);
/** The plotting library, served from the installed package (no CDN). */
const VENDOR: Record<string, () => string> = {
  "uPlot.iife.min.js": () => require.resolve("uplot/dist/uPlot.iife.min.js"),
  "uPlot.min.css": () => require.resolve("uplot/dist/uPlot.min.css"),
};
const PAGE_FILE = /^[a-z0-9-]+\.(js|css|html|svg)$/;
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

const SECURITY_HEADERS = {
  // Everything comes from the dashboard itself: no script, style, font or request goes elsewhere.
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * The dashboard as a request handler, for its own server (`ferry ui`) or mounted at `/ui` on `ferry serve`.
 *
 * @example
 * const handle = uiHandler({ sources, runNow, events: undefined, token: undefined, loopbackOnly: true });
 * createServer((req, res) => { if (!handle(req, res)) { res.statusCode = 404; res.end(); } });
 */
export function uiHandler(options: UiHandlerOptions): UiHandler {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://ui.local");
    const path = url.pathname;
    if (path !== UI_PREFIX && !path.startsWith(`${UI_PREFIX}/`)) return false;
    void serve(options, req, res, url).catch((err) => {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `dashboard error: ${String(err)}`);
      else res.destroy();
    });
    return true;
  };
}

async function serve(
  o: UiHandlerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (!authorize(req, res, url, { token: o.token, loopbackOnly: o.loopbackOnly })) return;
  const rest = url.pathname.slice(UI_PREFIX.length);
  if (rest.startsWith("/api/")) {
    // Writes need a header a page of another site cannot send without a CORS preflight (which is never granted).
    if (req.method !== "GET" && req.headers["x-ferry-ui"] !== "1")
      return send(res, 403, "application/json", '{"error":"send the X-Ferry-UI: 1 header"}');
    const answer = await answerApi(o, req, rest.slice("/api/".length), url);
    return send(res, answer.status, "application/json; charset=utf-8", toJson(answer.body));
  }
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "GET only");
  if (rest === "") {
    res.writeHead(308, { location: `${UI_PREFIX}/${url.search}` });
    res.end();
    return;
  }
  const file = rest === "/" ? "index.html" : rest.slice(1);
  if (file.startsWith("vendor/")) {
    const vendor = VENDOR[file.slice("vendor/".length)];
    if (vendor) return sendFile(res, vendor());
  } else if (PAGE_FILE.test(file)) return sendFile(res, join(PAGES_DIR, file));
  send(res, 404, "text/plain; charset=utf-8", `no dashboard file ${rest}`);
}

async function sendFile(res: ServerResponse, path: string): Promise<void> {
  const body = await readFile(path).catch(() => undefined);
  if (!body) return send(res, 404, "text/plain; charset=utf-8", "not found");
  send(res, 200, TYPES[extname(path)] ?? "application/octet-stream", body);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type });
  res.end(body);
}

/** JSON of query results: bigints as text when they do not fit a number, bytes as hex. */
function toJson(value: unknown): string {
  // The holder's value, not `v`: a Buffer has turned itself into { type, data } by the time the replacer sees it.
  return JSON.stringify(value, function (this: Record<string, unknown>, k: string, v: unknown) {
    const raw = this[k];
    if (typeof raw === "bigint") return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
    if (raw instanceof Uint8Array) return `\\x${Buffer.from(raw).toString("hex")}`;
    return v;
  });
}
