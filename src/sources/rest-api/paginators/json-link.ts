import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { type Logger, silentLogger } from "../../../util/log.js";
import { findValues } from "../jsonpath.js";
import type { Paginator } from "./paginator.js";
import { isRecord, withUrl } from "./util.js";

/**
 * Follows the next-page URL found in the JSON body (`next_url_path`, default "next"). A relative URL resolves
 * against the URL of the response; the next request uses it as is (its query replaces the old parameters).
 * When the first response has records but nothing at the path, it warns: the path is likely wrong, and later
 * pages would be lost without a word.
 *
 * @example
 * new JsonLinkPaginator("pagination.next") // {"items": [...], "pagination": {"next": "/items?page=2"}}
 * new JsonLinkPaginator("['@odata.nextLink']") // Microsoft Graph
 */
export class JsonLinkPaginator implements Paginator {
  readonly name = "json_link";
  #first = true;

  constructor(
    readonly nextUrlPath = "next",
    private readonly log: Logger = silentLogger,
  ) {}

  init(request: HttpRequest): HttpRequest {
    this.#first = true;
    return { ...request };
  }

  next(response: HttpResponse, records: unknown[] = []): HttpRequest | undefined {
    const found = findValues(response.json(), this.nextUrlPath);
    if (this.#first && found.length === 0 && records.length > 0) {
      this.log.warn(
        `paginator json_link: next_url_path "${this.nextUrlPath}" is not in the response of ${response.url}; no further pages are requested (check the path if the API has more)`,
      );
    }
    this.#first = false;
    let value = found[0];
    // JSON:API and HAL style links: {"next": {"href": "..."}}
    if (isRecord(value) && typeof value.href === "string") value = value.href;
    if (typeof value !== "string" || value.trim() === "") return undefined;
    return withUrl(response.request, value.trim(), response.url);
  }
}
