import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";
import { selectPath } from "../jsonpath.js";
import type { PaginatorOptions } from "./options.js";
import type { Paginator } from "./paginator.js";
import { readBoolean, show, targetOf, type ValueTarget, withValue } from "./util.js";

/** The `cursor` paginator's options, as in `PaginatorConfig`. */
export type CursorOptions = PaginatorOptions<"cursor">;

/**
 * Sends the cursor found in the response body (`cursor_path`) with the next request, as a query parameter
 * (`cursor_param`) or inside the JSON body (`cursor_body_path`). Stops when the cursor is missing, null or empty,
 * when `has_more_path` reads false, or (with `stop_after_empty_page`) on a page without records.
 *
 * @example
 * new CursorPaginator({ cursor_path: "response_metadata.next_cursor" }) // Slack: ?cursor=dXNlcjpVMEc5V0ZYTlo=
 */
export class CursorPaginator implements Paginator {
  readonly name = "cursor";
  readonly cursorPath: string;
  readonly target: ValueTarget;
  readonly #stopAfterEmptyPage: boolean;
  readonly #hasMorePath: string | undefined;

  constructor(options: CursorOptions = {}) {
    if (options.cursor_param !== undefined && options.cursor_body_path !== undefined) {
      throw new ConfigError("cursor paginator: give cursor_param or cursor_body_path, not both", {
        hint: "cursor_param puts the cursor in the query string, cursor_body_path in the JSON body",
      });
    }
    this.cursorPath = options.cursor_path ?? "cursors.next";
    this.target = targetOf(options.cursor_param, options.cursor_body_path, "cursor", "cursor_body_path");
    this.#stopAfterEmptyPage = options.stop_after_empty_page ?? false;
    this.#hasMorePath = options.has_more_path;
  }

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(response: HttpResponse, records: unknown[] = []): HttpRequest | undefined {
    const body = response.json();
    const cursor = selectPath(body, this.cursorPath);
    if (!cursor) return undefined; // missing, null, "", false, 0: no next page (as dlt)
    if (this.#stopAfterEmptyPage && records.length === 0) return undefined;
    if (this.#hasMorePath !== undefined) {
      const raw = selectPath(body, this.#hasMorePath);
      const more = readBoolean(raw);
      if (more === undefined || more === null) {
        throw new ConfigError(
          `cursor paginator: "${this.#hasMorePath}" in the response of ${response.url} is not a boolean: ${show(raw)}`,
          { hint: "point has_more_path at a true/false field" },
        );
      }
      if (!more) return undefined;
    }
    if (typeof cursor !== "string" && typeof cursor !== "number") {
      throw new ConfigError(
        `cursor paginator: the value at "${this.cursorPath}" is not a cursor: ${show(cursor)}`,
        { hint: "point cursor_path at the string or number the API expects back" },
      );
    }
    return withValue(response.request, this.target, cursor);
  }
}
