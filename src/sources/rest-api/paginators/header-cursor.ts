import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import type { Paginator } from "./paginator.js";
import { withParams } from "./util.js";

/**
 * Sends the cursor from a response header (`cursor_key`, default "next") as query parameter `cursor_param`
 * (default "cursor"). Stops when the header is missing or empty.
 *
 * @example
 * new HeaderCursorPaginator("X-Next-Page-Token", "page_token")
 */
export class HeaderCursorPaginator implements Paginator {
  readonly name = "header_cursor";

  constructor(
    readonly cursorKey = "next",
    readonly cursorParam = "cursor",
  ) {}

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(response: HttpResponse): HttpRequest | undefined {
    const cursor = response.headers.get(this.cursorKey)?.trim();
    return cursor ? withParams(response.request, { [this.cursorParam]: cursor }) : undefined;
  }
}
