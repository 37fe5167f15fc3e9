import type { HttpRequest } from "../../../http/types.js";
import type { Logger } from "../../../util/log.js";
import type { PaginatorOptions } from "./options.js";
import { intOption, RangePaginator } from "./range.js";
import { targetOf, type ValueTarget, withValue } from "./util.js";

/** The `page_number` paginator's options, as in `PaginatorConfig`. */
export type PageNumberOptions = PaginatorOptions<"page_number">;

/**
 * Pages with a page number query parameter (or JSON body field, `page_body_path`), counting from `page` (default
 * `base_page`, default 0). Stops after the last page (`total_path`, default "total", is the number of pages; null
 * to disable), when has_more is false, on reaching `maximum_page` (not requested), or on an empty page.
 *
 * @example
 * new PageNumberPaginator({ base_page: 1, total_path: "total_pages" }) // ?page=1, ?page=2 ...
 */
export class PageNumberPaginator extends RangePaginator {
  readonly name = "page_number";
  readonly pageTarget: ValueTarget;

  constructor(options: PageNumberOptions = {}, log?: Logger) {
    const base = options.base_page === undefined ? 0 : intOption(options.base_page, "base_page", 0);
    super(
      {
        kind: "page_number",
        start: options.page === undefined ? base : intOption(options.page, "page", 0),
        step: 1,
        baseIndex: base,
        maximum:
          options.maximum_page === undefined ? undefined : intOption(options.maximum_page, "maximum_page", 0),
        totalPath: options.total_path === undefined ? "total" : options.total_path,
        totalPathSet: options.total_path !== undefined,
        hasMorePath: options.has_more_path,
        stopAfterEmptyPage: options.stop_after_empty_page ?? true,
        maximumOption: "maximum_page",
      },
      log,
    );
    this.pageTarget = targetOf(options.page_param, options.page_body_path, "page", "page_body_path");
  }

  protected place(request: HttpRequest): HttpRequest {
    return withValue(request, this.pageTarget, this.current);
  }
}
