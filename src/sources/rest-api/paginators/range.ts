import type { HttpRequest, HttpResponse } from "../../../http/types.js";
import { ConfigError } from "../../../util/errors.js";
import { type Logger, silentLogger } from "../../../util/log.js";
import { selectPath } from "../jsonpath.js";
import type { Paginator } from "./paginator.js";
import { readBoolean, readInteger, show } from "./util.js";

/** Settings shared by the offset and page number paginators (dlt's RangePaginator). */
export interface RangeSettings {
  /** "offset" or "page_number", for messages. */
  kind: string;
  start: number;
  step: number;
  /** Added to the total before comparing (1 for 1-based pages). */
  baseIndex: number;
  maximum: number | undefined;
  /** null: no total in responses. */
  totalPath: string | null;
  /** Whether total_path came from the config (a missing or bad total is then worth a warning / an error). */
  totalPathSet: boolean;
  hasMorePath: string | undefined;
  stopAfterEmptyPage: boolean;
  /** Option names for messages. */
  maximumOption: string;
}

/**
 * Counts a number up by a step per page. Stops on an empty page (stop_after_empty_page), when the value reaches
 * the total (`total_path`) or the maximum, when has_more is false, or when `isShortPage` says so and the response
 * tells neither total nor has_more.
 */
export abstract class RangePaginator implements Paginator {
  abstract readonly name: string;
  /** The value sent with the current request. */
  protected current: number;
  readonly #warned = new Set<string>();

  constructor(
    protected readonly settings: RangeSettings,
    protected readonly log: Logger = silentLogger,
  ) {
    const s = settings;
    if (
      s.totalPath === null &&
      s.maximum === undefined &&
      s.hasMorePath === undefined &&
      !s.stopAfterEmptyPage
    ) {
      throw new ConfigError(`${s.kind} paginator: nothing tells it when to stop`, {
        hint: `set total_path, has_more_path or ${s.maximumOption}, or leave stop_after_empty_page true`,
      });
    }
    this.current = s.start;
  }

  /** The request with the current value (and whatever else each page carries) in its query or JSON body. */
  protected abstract place(request: HttpRequest): HttpRequest;

  /** Whether a page this short means it was the last one (used when the response has no total / has_more). */
  protected isShortPage(_records: unknown[]): boolean {
    return false;
  }

  init(request: HttpRequest): HttpRequest {
    this.current = this.settings.start;
    return this.place(request);
  }

  next(response: HttpResponse, records: unknown[]): HttpRequest | undefined {
    const s = this.settings;
    if (s.stopAfterEmptyPage && records.length === 0) return undefined;
    const body = s.totalPath !== null || s.hasMorePath ? response.json() : undefined;
    const total = s.totalPath === null ? undefined : this.#total(body, s.totalPath);
    const hasMore = s.hasMorePath === undefined ? undefined : this.#hasMore(body, s.hasMorePath);
    this.current += s.step;
    if (total !== undefined && this.current >= total + s.baseIndex) return undefined;
    if (hasMore === false) return undefined;
    if (s.maximum !== undefined && this.current >= s.maximum) return undefined;
    if (total === undefined && hasMore === undefined) {
      if (s.stopAfterEmptyPage && this.isShortPage(records)) return undefined;
      if (!s.stopAfterEmptyPage && s.maximum === undefined) {
        const looked = [
          s.totalPath && `a total at "${s.totalPath}"`,
          s.hasMorePath && `has_more at "${s.hasMorePath}"`,
        ];
        throw new ConfigError(
          `${this.name} paginator: the response of ${response.url} has neither ${looked.filter(Boolean).join(" nor ")}, and stop_after_empty_page is false, so there is no way to tell when to stop`,
          {
            hint: `set total_path or has_more_path to where the API returns them, set ${s.maximumOption}, or set stop_after_empty_page: true`,
          },
        );
      }
    }
    return this.place(response.request);
  }

  #total(body: unknown, path: string): number | undefined {
    const raw = selectPath(body, path);
    const total = readInteger(raw);
    if (total === null) {
      if (this.settings.totalPathSet) {
        throw new ConfigError(
          `${this.name} paginator: "${path}" in the response is not an integer: ${show(raw)}`,
          {
            hint: "point total_path at the total count, or set total_path: null",
          },
        );
      }
      return undefined;
    }
    if (total === undefined && this.settings.totalPathSet) this.#warnOnce("total_path", path);
    return total;
  }

  #hasMore(body: unknown, path: string): boolean | undefined {
    const raw = selectPath(body, path);
    const hasMore = readBoolean(raw);
    if (hasMore === null) {
      throw new ConfigError(
        `${this.name} paginator: "${path}" in the response is not a boolean: ${show(raw)}`,
        {
          hint: "point has_more_path at a true/false field",
        },
      );
    }
    if (hasMore === undefined) this.#warnOnce("has_more_path", path);
    return hasMore;
  }

  #warnOnce(option: string, path: string): void {
    if (this.#warned.has(option)) return;
    this.#warned.add(option);
    this.log.warn(`${this.name} paginator: ${option} "${path}" not found in the response; check the path`);
  }
}

/** Checks that an option is an integer (and at least `min`). */
export function intOption(value: unknown, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`paginator option ${name} must be an integer >= ${min}, got ${show(value)}`);
  }
  return value;
}
