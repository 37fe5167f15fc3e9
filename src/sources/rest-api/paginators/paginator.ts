import type { HttpRequest, HttpResponse } from "../../../http/types.js";

/**
 * Walks the pages of one endpoint. A new paginator is made for every request chain (one per parent item for
 * dependent resources), so implementations keep their position in plain fields.
 */
export interface Paginator {
  /** Human name for logs ("offset", "json_link", ...). */
  readonly name: string;
  /** Prepares the first request (e.g. sets `page=1` or `limit=100`); returns it changed or as is. */
  init(request: HttpRequest): HttpRequest;
  /**
   * Given a response and the records selected from it, returns the request for the next page, or undefined when
   * this was the last page.
   */
  next(response: HttpResponse, records: unknown[]): HttpRequest | undefined;
}

export type { PaginatorConfig, PaginatorOptions, PaginatorType } from "./options.js";
