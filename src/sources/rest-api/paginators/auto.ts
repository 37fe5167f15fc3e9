import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { type Logger, silentLogger } from "../../../util/log.js";
import { selectPath } from "../jsonpath.js";
import { CursorPaginator } from "./cursor.js";
import { findLink, HeaderLinkPaginator } from "./header-link.js";
import { JsonLinkPaginator } from "./json-link.js";
import type { Paginator } from "./paginator.js";
import { SinglePagePaginator } from "./single-page.js";
import { isRecord, readInteger, tryJson } from "./util.js";

/** Body paths where APIs commonly put the next page's URL, in the order they are tried. */
export const NEXT_URL_PATHS = [
  "next",
  "next_url",
  "nextUrl",
  "next_page_url",
  "nextPageUrl",
  "next_link",
  "nextLink",
  "['@odata.nextLink']",
  "links.next",
  "links.next.href",
  "_links.next.href",
  "_links.next",
  "pagination.next",
  "pagination.next_url",
  "pagination.next_page_url",
  "pagination.links.next",
  "meta.next",
  "meta.next_url",
  "meta.links.next",
  "meta.pagination.next",
  "meta.pagination.links.next",
  "paging.next",
];

/** Body paths where APIs commonly put a next-page cursor, with the query parameter it goes back in. */
export const CURSOR_PATHS: ReadonlyArray<readonly [path: string, param: string]> = [
  ["next_cursor", "cursor"],
  ["nextCursor", "cursor"],
  ["cursor", "cursor"],
  ["cursors.next", "cursor"],
  ["meta.next_cursor", "cursor"],
  ["meta.nextCursor", "cursor"],
  ["meta.cursor", "cursor"],
  ["response_metadata.next_cursor", "cursor"],
  ["pagination.next_cursor", "cursor"],
  ["pagination.nextCursor", "cursor"],
  ["paging.cursors.after", "after"],
  ["next_page_token", "page_token"],
  ["nextPageToken", "pageToken"],
];

const looksLikeUrl = (v: unknown): v is string =>
  typeof v === "string" && /^(https?:\/\/|\/|\?)\S*$/i.test(v.trim());

/** What `detectPaginator` chose and why. */
export interface Detection {
  paginator: Paginator;
  reason: string;
}

/**
 * Picks a paginator from the first response: a `Link` rel="next" header, a next URL at a common body path, a
 * cursor at a common body path, or else a single page.
 */
export function detectPaginator(response: HttpResponse): Detection {
  if (findLink(response.headers.get("link"), "next")) {
    return { paginator: new HeaderLinkPaginator(), reason: 'the Link header has rel="next"' };
  }
  const body = tryJson(response);
  if (isRecord(body)) {
    for (const path of NEXT_URL_PATHS) {
      if (looksLikeUrl(selectPath(body, path))) {
        return { paginator: new JsonLinkPaginator(path), reason: `the body has a next URL at "${path}"` };
      }
    }
    for (const [path, param] of CURSOR_PATHS) {
      const v = selectPath(body, path);
      if (typeof v === "string" && v.trim() !== "") {
        const paginator = new CursorPaginator({ cursor_path: path, cursor_param: param });
        return { paginator, reason: `the body has a cursor at "${path}" (sent back as ?${param}=)` };
      }
    }
  }
  return { paginator: new SinglePagePaginator(), reason: "the response shows no next page link or cursor" };
}

/** Signs that a response is one page of several although no paginator was detected. */
function morePagesHint(body: unknown, records: unknown[]): string | undefined {
  if (!isRecord(body)) return undefined;
  for (const key of ["has_more", "hasMore", "has_next", "more"]) {
    if (body[key] === true) return `"${key}" is true`;
  }
  for (const key of ["total", "total_count", "totalCount", "count"]) {
    const n = readInteger(body[key]);
    if (typeof n === "number" && n > records.length)
      return `"${key}" is ${n} but the page has ${records.length} records`;
  }
  return undefined;
}

/**
 * Decides how to paginate from the first response (see `detectPaginator`), logs its choice, and from then on
 * behaves as the paginator it chose.
 */
export class AutoPaginator implements Paginator {
  #chosen: Paginator | undefined;

  constructor(private readonly log: Logger = silentLogger) {}

  /** "auto" until the first response, then the name of the paginator chosen. */
  get name(): string {
    return this.#chosen?.name ?? "auto";
  }

  /** The paginator chosen on the first response, if any yet. */
  get chosen(): Paginator | undefined {
    return this.#chosen;
  }

  init(request: HttpRequest): HttpRequest {
    this.#chosen = undefined;
    return { ...request };
  }

  next(response: HttpResponse, records: unknown[]): HttpRequest | undefined {
    if (!this.#chosen) {
      const { paginator, reason } = detectPaginator(response);
      this.#chosen = paginator;
      this.log.info(`paginator: auto chose ${paginator.name} for ${response.url}: ${reason}`);
      const more = paginator.name === "single_page" ? morePagesHint(tryJson(response), records) : undefined;
      if (more) {
        this.log.warn(
          `paginator: ${response.url} looks like one page of several (${more}) but no next link or cursor was found; set a paginator (e.g. offset or page_number) to get all pages`,
        );
      }
    }
    return this.#chosen.next(response, records);
  }
}
