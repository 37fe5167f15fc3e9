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

export type PaginatorType =
  | "json_link"
  | "header_link"
  | "offset"
  | "page_number"
  | "cursor"
  | "header_cursor"
  | "single_page"
  | "auto";

/** Paginator settings as in specs (dlt's option names). */
export type PaginatorConfig =
  | PaginatorType
  | { type: "json_link"; next_url_path?: string }
  | { type: "header_link"; links_next_key?: string }
  | {
      type: "offset";
      limit: number;
      offset?: number;
      offset_param?: string;
      limit_param?: string;
      total_path?: string | null;
      maximum_offset?: number;
      stop_after_empty_page?: boolean;
      has_more_path?: string;
    }
  | {
      type: "page_number";
      base_page?: number;
      page?: number;
      page_param?: string;
      total_path?: string | null;
      maximum_page?: number;
      stop_after_empty_page?: boolean;
      has_more_path?: string;
    }
  | { type: "cursor"; cursor_path?: string; cursor_param?: string; cursor_body_path?: string }
  | { type: "header_cursor"; cursor_key?: string; cursor_param?: string }
  | { type: "single_page" }
  | { type: "auto" };
