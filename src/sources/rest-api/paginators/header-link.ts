import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import type { Paginator } from "./paginator.js";
import { withUrl } from "./util.js";

/** One link of an RFC 8288 `Link` header: its URL, parameters (names lower-cased) and relation types. */
export interface WebLink {
  url: string;
  params: Record<string, string>;
  rels: string[];
}

/**
 * Parses an RFC 8288 `Link` header: several links separated by commas (commas inside `<...>` and quoted
 * values are kept), quoted or bare parameter values, and several relation types in one `rel` ("next last").
 *
 * @example
 * parseLinkHeader('<https://x/?page=2>; rel="next", <https://x/?page=9>; rel=last')[0].url // "https://x/?page=2"
 */
export function parseLinkHeader(header: string): WebLink[] {
  const links: WebLink[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < header.length && /\s/.test(header[i] ?? "")) i++;
  };
  while (i < header.length) {
    const lt = header.indexOf("<", i);
    if (lt < 0) break;
    const gt = header.indexOf(">", lt);
    if (gt < 0) break;
    const url = header.slice(lt + 1, gt).trim();
    const params: Record<string, string> = {};
    i = gt + 1;
    while (i < header.length) {
      skipSpace();
      const c = header[i];
      i++;
      if (c === ",") break;
      if (c !== ";") continue;
      skipSpace();
      const name = /^[^=;,\s]+/.exec(header.slice(i))?.[0] ?? "";
      i += name.length;
      skipSpace();
      let value = "";
      if (header[i] === "=") {
        i++;
        skipSpace();
        if (header[i] === '"') {
          i++;
          while (i < header.length && header[i] !== '"') {
            if (header[i] === "\\") i++;
            value += header[i] ?? "";
            i++;
          }
          i++;
        } else {
          const token = /^[^;,]*/.exec(header.slice(i))?.[0] ?? "";
          i += token.length;
          value = token.trim();
        }
      }
      // RFC 8288: occurrences of a parameter after the first are ignored.
      const key = name.toLowerCase();
      if (key && !(key in params)) params[key] = value;
    }
    const rels = (params.rel ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    links.push({ url, params, rels });
  }
  return links;
}

/** The URL of the first link with relation `rel` (case-insensitive), if any. */
export function findLink(header: string | null, rel: string): string | undefined {
  if (!header) return undefined;
  const want = rel.toLowerCase();
  return parseLinkHeader(header).find((l) => l.rels.includes(want))?.url;
}

/**
 * Follows the `Link` header's next-page URL (relation `links_next_key`, default "next"), as GitHub's API does.
 *
 * @example
 * new HeaderLinkPaginator() // Link: <https://api.github.com/repos/x/y/issues?page=2>; rel="next"
 */
export class HeaderLinkPaginator implements Paginator {
  readonly name = "header_link";

  constructor(readonly linksNextKey = "next") {}

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(response: HttpResponse): HttpRequest | undefined {
    const url = findLink(response.headers.get("link"), this.linksNextKey);
    return url ? withUrl(response.request, url, response.url) : undefined;
  }
}
