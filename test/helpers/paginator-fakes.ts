import { buildUrl } from "../../src/http/client.js";
import type { HttpRequest, HttpResponse } from "../../src/http/types.js";
import type { Paginator } from "../../src/sources/rest-api/paginators/index.js";
import type { Logger } from "../../src/util/log.js";

/** Fakes for paginator unit tests: responses built from a body, and a driver that walks fake pages. */
export const BASE = "https://api.example.com/v1";

export function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** A fake response; its request is frozen, so a paginator that changes it throws. */
export function resp(
  body: unknown,
  opts: { headers?: Record<string, string> | [string, string][]; url?: string; request?: HttpRequest } = {},
): HttpResponse {
  const request = deepFreeze(opts.request ?? { method: "GET", url: "items" });
  const text = typeof body === "string" ? body : JSON.stringify(body ?? null);
  const url = opts.url ?? buildUrl(BASE, request.url, request.params);
  return {
    status: 200,
    headers: new Headers(opts.headers),
    url,
    text,
    request,
    json: () => JSON.parse(text),
  };
}

export interface Page {
  body: unknown;
  headers?: Record<string, string> | [string, string][];
  records?: unknown[];
}

export const recordsOf = (body: unknown): unknown[] =>
  Array.isArray(body) ? body : ((body as { items?: unknown[] } | null)?.items ?? []);

/** Drives a paginator over fake pages (the i-th response answers the i-th request); returns what it requested. */
export function run(p: Paginator, pages: Page[], first: HttpRequest = { method: "GET", url: "items" }) {
  const requests: HttpRequest[] = [];
  let req: HttpRequest | undefined = p.init(deepFreeze(first));
  for (let i = 0; req !== undefined; i++) {
    requests.push(req);
    const page = pages[i];
    if (!page) throw new Error(`asked for page ${i + 1} of ${pages.length}`);
    req = p.next(
      resp(page.body, { headers: page.headers, request: req }),
      page.records ?? recordsOf(page.body),
    );
  }
  return { requests, urls: requests.map((r) => buildUrl(BASE, r.url, r.params)) };
}

export const items = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: from + i }));

export function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (lvl: string) => (m: string) => lines.push(`${lvl}: ${m}`);
  return { lines, debug: add("debug"), info: add("info"), warn: add("warn"), error: add("error") };
}
