import { ConfigError } from "../../../util/errors.js";
import { type Logger, silentLogger } from "../../../util/log.js";
import { AutoPaginator } from "./auto.js";
import { type CursorOptions, CursorPaginator } from "./cursor.js";
import { HeaderCursorPaginator } from "./header-cursor.js";
import { HeaderLinkPaginator } from "./header-link.js";
import { JsonLinkPaginator } from "./json-link.js";
import { type OffsetOptions, OffsetPaginator } from "./offset.js";
import { PAGINATOR_TYPES, PAGINATORS, type PaginatorType, paginatorProblems } from "./options.js";
import { type PageNumberOptions, PageNumberPaginator } from "./page-number.js";
import type { Paginator, PaginatorConfig } from "./paginator.js";
import { SinglePagePaginator } from "./single-page.js";

export { AutoPaginator, CURSOR_PATHS, detectPaginator, NEXT_URL_PATHS } from "./auto.js";
export { type CursorOptions, CursorPaginator } from "./cursor.js";
export { HeaderCursorPaginator } from "./header-cursor.js";
export { findLink, HeaderLinkPaginator, parseLinkHeader, type WebLink } from "./header-link.js";
export { JsonLinkPaginator } from "./json-link.js";
export { type OffsetOptions, OffsetPaginator } from "./offset.js";
export {
  PAGINATOR_ALIASES,
  PAGINATOR_TYPES,
  PAGINATORS,
  type PaginatorOptions,
  paginatorDocs,
  paginatorProblems,
} from "./options.js";
export { type PageNumberOptions, PageNumberPaginator } from "./page-number.js";
export type { Paginator, PaginatorConfig, PaginatorType } from "./paginator.js";
export { SinglePagePaginator } from "./single-page.js";

/**
 * Makes a fresh paginator from a spec's `paginator` setting: undefined means "auto", a string is a type with its
 * defaults, an object is a type with dlt's options (checked against the declaration in options.ts). Make one per
 * request chain.
 *
 * @example
 * createPaginator({ type: "offset", limit: 50, total_path: "meta.total" })
 * createPaginator("header_link")
 */
export function createPaginator(config: PaginatorConfig | undefined, log: Logger = silentLogger): Paginator {
  const { type, problems } = paginatorProblems(config ?? "auto");
  if (!type) {
    const given =
      typeof config === "object" && config !== null ? (config as { type?: unknown }).type : config;
    throw new ConfigError(`unknown paginator type ${JSON.stringify(given)}`, {
      hint: `use one of: ${PAGINATOR_TYPES.join(", ")}`,
    });
  }
  if (problems.length > 0) {
    const options = Object.keys(PAGINATORS[type].options);
    const unknown = problems
      .filter((p) => p.problem.startsWith("unknown option"))
      .map((p) => `"${p.option}"`);
    if (unknown.length > 0) {
      throw new ConfigError(`${type} paginator: unknown option ${unknown.join(", ")}`, {
        hint: options.length > 0 ? `its options are: ${options.join(", ")}` : "it takes no options",
      });
    }
    const required = problems.find((p) => p.problem === "is required");
    if (required)
      throw new ConfigError(`${type} paginator needs a ${required.option}`, { hint: HINTS[type] });
    throw new ConfigError(`${type} paginator: ${problems.map((p) => `${p.option} ${p.problem}`).join("; ")}`);
  }
  const c = (typeof config === "object" && config !== null ? config : {}) as Record<string, unknown>;
  return build(type, c, log);
}

const HINTS: Partial<Record<PaginatorType, string>> = {
  offset: 'e.g. paginator: { type: "offset", limit: 100 }',
};

function build(type: PaginatorType, c: Record<string, unknown>, log: Logger): Paginator {
  const str = (key: string) => c[key] as string | undefined;
  switch (type) {
    case "json_link":
      return new JsonLinkPaginator(str("next_url_path"), log);
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
