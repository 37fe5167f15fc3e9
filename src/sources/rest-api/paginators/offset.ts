import type { HttpRequest } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";
import type { Logger } from "../../../util/log.js";
import type { PaginatorOptions } from "./options.js";
import { intOption, RangePaginator } from "./range.js";
import { targetOf, type ValueTarget, withValue } from "./util.js";

/** The `offset` paginator's options, as in `PaginatorConfig`. */
export type OffsetOptions = PaginatorOptions<"offset">;

/**
 * Pages with `offset` and `limit` query parameters (or JSON body fields: `offset_body_path`, `limit_body_path`).
 * Stops when the offset reaches the total (`total_path`, default "total", null to disable), when has_more is
 * false, at `maximum_offset`, on an empty page, or on a page shorter than `limit` when the response gives neither
 * total nor has_more.
 *
 * @example
 * new OffsetPaginator({ limit: 100, total_path: "meta.count" }) // ?offset=0&limit=100, ?offset=100&limit=100 ...
 */
export class OffsetPaginator extends RangePaginator {
  readonly name = "offset";
  readonly limit: number;
  readonly offsetTarget: ValueTarget;
  readonly limitTarget: ValueTarget;

  constructor(options: OffsetOptions, log?: Logger) {
    if (options.limit === undefined) {
      throw new ConfigError("offset paginator needs a limit", {
        hint: 'e.g. paginator: { type: "offset", limit: 100 }',
      });
    }
    const limit = intOption(options.limit, "limit", 1);
    const maximum =
      options.maximum_offset === undefined
        ? undefined
        : intOption(options.maximum_offset, "maximum_offset", 0);
    super(
      {
        kind: "offset",
        start: options.offset === undefined ? 0 : intOption(options.offset, "offset", 0),
        step: limit,
        baseIndex: 0,
        maximum,
        totalPath: options.total_path === undefined ? "total" : options.total_path,
        totalPathSet: options.total_path !== undefined,
        hasMorePath: options.has_more_path,
        stopAfterEmptyPage: options.stop_after_empty_page ?? true,
        maximumOption: "maximum_offset",
      },
      log,
    );
    this.limit = limit;
    this.offsetTarget = targetOf(
      options.offset_param,
      options.offset_body_path,
      "offset",
      "offset_body_path",
    );
    this.limitTarget = targetOf(options.limit_param, options.limit_body_path, "limit", "limit_body_path");
  }

  protected place(request: HttpRequest): HttpRequest {
    return withValue(withValue(request, this.offsetTarget, this.current), this.limitTarget, this.limit);
  }

  protected override isShortPage(records: unknown[]): boolean {
    return records.length < this.limit;
  }
}
