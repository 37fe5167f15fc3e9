import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import type { Paginator } from "./paginator.js";

/** For endpoints that return everything in one response: there is never a next page. */
export class SinglePagePaginator implements Paginator {
  readonly name = "single_page";

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(_response: HttpResponse, _records: unknown[]): HttpRequest | undefined {
    return undefined;
  }
}
