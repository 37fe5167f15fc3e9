import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { selectPath } from "../jsonpath.js";
import type { Paginator } from "./paginator.js";
import { isRecord, withUrl } from "./util.js";

/**
 * Follows the next-page URL found in the JSON body (`next_url_path`, default "next"). A relative URL resolves
 * against the URL of the response; the next request uses it as is (its query replaces the old parameters).
 *
 * @example
 * new JsonLinkPaginator("pagination.next") // {"items": [...], "pagination": {"next": "/items?page=2"}}
 */
export class JsonLinkPaginator implements Paginator {
  readonly name = "json_link";

  constructor(readonly nextUrlPath = "next") {}

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(response: HttpResponse): HttpRequest | undefined {
    let value = selectPath(response.json(), this.nextUrlPath);
    // JSON:API and HAL style links: {"next": {"href": "..."}}
    if (isRecord(value) && typeof value.href === "string") value = value.href;
    if (typeof value !== "string" || value.trim() === "") return undefined;
    return withUrl(response.request, value.trim(), response.url);
  }
}
