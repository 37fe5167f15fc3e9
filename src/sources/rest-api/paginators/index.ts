import { ConfigError } from "../../../util/errors.js";
import { type Logger, silentLogger } from "../../../util/log.js";
import { AutoPaginator } from "./auto.js";
import { type CursorOptions, CursorPaginator } from "./cursor.js";
import { HeaderCursorPaginator } from "./header-cursor.js";
import { HeaderLinkPaginator } from "./header-link.js";
import { JsonLinkPaginator } from "./json-link.js";
import { type OffsetOptions, OffsetPaginator } from "./offset.js";
import { type PageNumberOptions, PageNumberPaginator } from "./page-number.js";
import type { Paginator, PaginatorConfig, PaginatorType } from "./paginator.js";
import { SinglePagePaginator } from "./single-page.js";

export { AutoPaginator, CURSOR_PATHS, detectPaginator, NEXT_URL_PATHS } from "./auto.js";
export { type CursorOptions, CursorPaginator } from "./cursor.js";
export { HeaderCursorPaginator } from "./header-cursor.js";
export { findLink, HeaderLinkPaginator, parseLinkHeader, type WebLink } from "./header-link.js";
export { JsonLinkPaginator } from "./json-link.js";
export { type OffsetOptions, OffsetPaginator } from "./offset.js";
export { type PageNumberOptions, PageNumberPaginator } from "./page-number.js";
export type { Paginator, PaginatorConfig, PaginatorType } from "./paginator.js";
export { SinglePagePaginator } from "./single-page.js";

/** The options each paginator type takes (besides `type`). */
const OPTIONS: Record<PaginatorType, string[]> = {
  json_link: ["next_url_path"],
  header_link: ["links_next_key"],
  offset: [
    "limit",
    "offset",
    "offset_param",
    "limit_param",
    "total_path",
    "maximum_offset",
    "stop_after_empty_page",
    "has_more_path",
  ],
  page_number: [
    "base_page",
    "page",
    "page_param",
    "total_path",
    "maximum_page",
    "stop_after_empty_page",
    "has_more_path",
  ],
  cursor: ["cursor_path", "cursor_param", "cursor_body_path"],
  header_cursor: ["cursor_key", "cursor_param"],
  single_page: [],
  auto: [],
};

/**
 * Makes a fresh paginator from a spec's `paginator` setting: undefined means "auto", a string is a type with its
 * defaults, an object is a type with dlt's options. Make one per request chain.
 *
 * @example
 * createPaginator({ type: "offset", limit: 50, total_path: "meta.total" })
 * createPaginator("header_link")
 */
export function createPaginator(config: PaginatorConfig | undefined, log: Logger = silentLogger): Paginator {
  const c = typeof config === "string" ? { type: config } : (config ?? { type: "auto" });
  if (typeof c !== "object" || c === null || !Object.hasOwn(OPTIONS, c.type)) {
    throw new ConfigError(`unknown paginator type ${JSON.stringify((c as { type?: unknown })?.type ?? c)}`, {
      hint: `use one of: ${Object.keys(OPTIONS).join(", ")}`,
    });
  }
  const allowed = OPTIONS[c.type];
  const unknown = Object.keys(c).filter((k) => k !== "type" && !allowed.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(`${c.type} paginator: unknown option ${unknown.map((k) => `"${k}"`).join(", ")}`, {
      hint: allowed.length > 0 ? `its options are: ${allowed.join(", ")}` : "it takes no options",
    });
  }
  for (const key of [
    "next_url_path",
    "links_next_key",
    "cursor_path",
    "cursor_key",
    "offset_param",
    "limit_param",
    "page_param",
    "cursor_param",
  ]) {
    const v = (c as Record<string, unknown>)[key];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new ConfigError(`${c.type} paginator: ${key} must be a non-empty string`);
    }
  }
  const o = c as Record<string, unknown>;
  for (const key of ["total_path", "has_more_path", "cursor_body_path"]) {
    const v = o[key];
    if (v !== undefined && v !== null && (typeof v !== "string" || v === "")) {
      throw new ConfigError(`${c.type} paginator: ${key} must be a path (a non-empty string)`);
    }
  }
  if (o.stop_after_empty_page !== undefined && typeof o.stop_after_empty_page !== "boolean") {
    throw new ConfigError(`${c.type} paginator: stop_after_empty_page must be true or false`);
  }
  return build(c as Options, log);
}

type Options = { type: PaginatorType } & Record<string, unknown>;

function build(c: Options, log: Logger): Paginator {
  const str = (key: string) => c[key] as string | undefined;
  switch (c.type) {
    case "json_link":
      return new JsonLinkPaginator(str("next_url_path"));
    case "header_link":
      return new HeaderLinkPaginator(str("links_next_key"));
    case "offset":
      return new OffsetPaginator(c as unknown as OffsetOptions, log);
    case "page_number":
      return new PageNumberPaginator(c as PageNumberOptions, log);
    case "cursor":
      return new CursorPaginator(c as CursorOptions);
    case "header_cursor":
      return new HeaderCursorPaginator(str("cursor_key"), str("cursor_param"));
    case "single_page":
      return new SinglePagePaginator();
    case "auto":
      return new AutoPaginator(log);
  }
}
