import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";
import { selectPath } from "../jsonpath.js";
import type { Paginator } from "./paginator.js";
import { checkBodyPath, setAtPath, show, withParams } from "./util.js";

export interface CursorOptions {
  /** Where the next cursor is in the response body. Default "cursors.next". */
  cursor_path?: string;
  /** Query parameter for the cursor. Default "cursor" (unless cursor_body_path is given). */
  cursor_param?: string;
  /** Dotted path in the JSON request body for the cursor, instead of a query parameter. */
  cursor_body_path?: string;
}

/**
 * Sends the cursor found in the response body (`cursor_path`) with the next request, as a query parameter
 * (`cursor_param`) or inside the JSON body (`cursor_body_path`). Stops when the cursor is missing, null or empty.
 *
 * @example
 * new CursorPaginator({ cursor_path: "response_metadata.next_cursor" }) // Slack: ?cursor=dXNlcjpVMEc5V0ZYTlo=
 */
export class CursorPaginator implements Paginator {
  readonly name = "cursor";
  readonly cursorPath: string;
  readonly cursorParam: string | undefined;
  readonly cursorBodyPath: string | undefined;

  constructor(options: CursorOptions = {}) {
    if (options.cursor_param !== undefined && options.cursor_body_path !== undefined) {
      throw new ConfigError("cursor paginator: give cursor_param or cursor_body_path, not both", {
        hint: "cursor_param puts the cursor in the query string, cursor_body_path in the JSON body",
      });
    }
    if (options.cursor_body_path !== undefined) checkBodyPath(options.cursor_body_path, "cursor_body_path");
    this.cursorPath = options.cursor_path ?? "cursors.next";
    this.cursorBodyPath = options.cursor_body_path;
    this.cursorParam = this.cursorBodyPath === undefined ? (options.cursor_param ?? "cursor") : undefined;
  }

  init(request: HttpRequest): HttpRequest {
    return { ...request };
  }

  next(response: HttpResponse): HttpRequest | undefined {
    const cursor = selectPath(response.json(), this.cursorPath);
    if (!cursor) return undefined; // missing, null, "", false, 0: no next page (as dlt)
    if (this.cursorBodyPath !== undefined) {
      return { ...response.request, json: setAtPath(response.request.json, this.cursorBodyPath, cursor) };
    }
    if (typeof cursor !== "string" && typeof cursor !== "number") {
      throw new ConfigError(
        `cursor paginator: the value at "${this.cursorPath}" is not a cursor: ${show(cursor)}`,
        {
          hint: "point cursor_path at the string or number the API expects back",
        },
      );
    }
    return withParams(response.request, { [this.cursorParam ?? "cursor"]: cursor });
  }
}
