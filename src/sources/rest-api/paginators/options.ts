/**
 * The one declaration of every paginator type and its options (dlt's names). The config types, the validation of
 * specs and `createPaginator`, and the paginator table in docs/rest-api.md are all derived from it.
 */

/** How an option's value is checked. */
type OptionKind =
  /** a non-empty string (a parameter, header or relation name) */
  | "name"
  /** a JSONPath or dotted path into the response body */
  | "path"
  /** a path, or null to switch the feature off */
  | "path_or_null"
  /** field names joined by dots, where the value goes in the JSON request body */
  | "body_path"
  | "integer"
  | "boolean";

interface OptionSpec {
  readonly kind: OptionKind;
  readonly doc: string;
  /** The default, as shown in the docs. */
  readonly default?: string;
  readonly required?: boolean;
  /** Smallest allowed integer. */
  readonly min?: number;
}

interface PaginatorSpec {
  readonly doc: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Options that exclude each other (give one or the other). */
  readonly exclusive?: readonly (readonly [string, string])[];
}

const RANGE_STOP = {
  total_path: {
    kind: "path_or_null",
    default: '"total"',
    doc: "where the total is; `null`: the API gives none",
  },
  stop_after_empty_page: { kind: "boolean", default: "true", doc: "stop at the first page without records" },
  has_more_path: { kind: "path", doc: "a true/false field that says whether more pages follow" },
} as const;

/** Paginator types, their options and what they mean. */
export const PAGINATORS = {
  json_link: {
    doc: "follows the next page's URL found in the response body",
    options: {
      next_url_path: {
        kind: "path",
        default: '"next"',
        doc: "JSONPath of the next URL (`['@odata.nextLink']` works)",
      },
    },
  },
  header_link: {
    doc: "follows the `Link` header's next-page URL (GitHub)",
    options: { links_next_key: { kind: "name", default: '"next"', doc: "the relation of the next link" } },
  },
  offset: {
    doc: "counts an offset up by `limit` per page",
    options: {
      limit: { kind: "integer", required: true, min: 1, doc: "records per page (sent as `limit_param`)" },
      offset: { kind: "integer", default: "0", min: 0, doc: "offset of the first request" },
      offset_param: { kind: "name", default: '"offset"', doc: "query parameter of the offset" },
      offset_body_path: {
        kind: "body_path",
        doc: "put the offset at this dotted path of the JSON body instead",
      },
      limit_param: { kind: "name", default: '"limit"', doc: "query parameter of the limit" },
      limit_body_path: {
        kind: "body_path",
        doc: "put the limit at this dotted path of the JSON body instead",
      },
      ...RANGE_STOP,
      maximum_offset: { kind: "integer", min: 0, doc: "stop before this offset" },
    },
    exclusive: [
      ["offset_param", "offset_body_path"],
      ["limit_param", "limit_body_path"],
    ],
  },
  page_number: {
    doc: "counts a page number up by one per page",
    options: {
      base_page: { kind: "integer", default: "0", min: 0, doc: "number of the API's first page" },
      page: { kind: "integer", default: "base_page", min: 0, doc: "page of the first request" },
      page_param: { kind: "name", default: '"page"', doc: "query parameter of the page number" },
      page_body_path: {
        kind: "body_path",
        doc: "put the page number at this dotted path of the JSON body instead",
      },
      ...RANGE_STOP,
      total_path: {
        kind: "path_or_null",
        default: '"total"',
        doc: "where the number of pages is; `null`: none",
      },
      maximum_page: { kind: "integer", min: 0, doc: "stop before this page" },
    },
    exclusive: [["page_param", "page_body_path"]],
  },
  cursor: {
    doc: "sends back the cursor found in the response body",
    options: {
      cursor_path: { kind: "path", default: '"cursors.next"', doc: "JSONPath of the next cursor" },
      cursor_param: { kind: "name", default: '"cursor"', doc: "query parameter of the cursor" },
      cursor_body_path: {
        kind: "body_path",
        doc: "put the cursor at this dotted path of the JSON body instead",
      },
      stop_after_empty_page: {
        kind: "boolean",
        default: "false",
        doc: "stop at the first page without records",
      },
      has_more_path: { kind: "path", doc: "a true/false field that says whether more pages follow" },
    },
    exclusive: [["cursor_param", "cursor_body_path"]],
  },
  header_cursor: {
    doc: "sends back the cursor found in a response header",
    options: {
      cursor_key: { kind: "name", default: '"next"', doc: "the header holding the cursor" },
      cursor_param: { kind: "name", default: '"cursor"', doc: "query parameter of the cursor" },
    },
  },
  single_page: { doc: "one request, no further pages", options: {} },
  auto: {
    doc: "decides from the first response (a `Link` header, a next URL or a cursor in the body, else one page)",
    options: {},
  },
} as const satisfies Record<string, PaginatorSpec>;

/** dlt's older names, accepted with the meaning of the current one. */
export const PAGINATOR_ALIASES: Readonly<Record<string, PaginatorType>> = { json_response: "json_link" };

export type PaginatorType = keyof typeof PAGINATORS;
export const PAGINATOR_TYPES = Object.keys(PAGINATORS) as PaginatorType[];

type Spec<T extends PaginatorType> = (typeof PAGINATORS)[T]["options"];
type ValueOf<O> = O extends { kind: "integer" }
  ? number
  : O extends { kind: "boolean" }
    ? boolean
    : O extends { kind: "path_or_null" }
      ? string | null
      : string;
type RequiredKeys<S> = { [K in keyof S]: S[K] extends { required: true } ? K : never }[keyof S];

/** The options of paginator type `T` (besides `type`), as a config writes them. */
export type PaginatorOptions<T extends PaginatorType> = {
  [K in RequiredKeys<Spec<T>>]: ValueOf<Spec<T>[K]>;
} & { [K in Exclude<keyof Spec<T>, RequiredKeys<Spec<T>>>]?: ValueOf<Spec<T>[K]> };

/** Paginator settings as in specs: a type name, or an object with `type` and that type's options. */
export type PaginatorConfig =
  | PaginatorType
  | "json_response"
  | { [T in PaginatorType]: { type: T } & PaginatorOptions<T> }[PaginatorType]
  | ({ type: "json_response" } & PaginatorOptions<"json_link">);

const DOTTED = /^(\$\.)?[\w-]+(\.[\w-]+)*$/;

/** One problem with a paginator setting: the option it concerns ("" for the setting itself) and what is wrong. */
export interface PaginatorProblem {
  option: string;
  problem: string;
}

/**
 * The problems of a paginator setting (empty when it is fine) and the type it resolves to. A missing `type`
 * means `auto` (as in dlt), which takes no options.
 */
export function paginatorProblems(config: unknown): { type?: PaginatorType; problems: PaginatorProblem[] } {
  const known = PAGINATOR_TYPES.join(", ");
  if (typeof config === "string") {
    const type = resolveType(config);
    return type
      ? { type, problems: [] }
      : { problems: [{ option: "", problem: `${show(config)} is not one of ${known}` }] };
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    return {
      problems: [
        { option: "", problem: `expected a type name or an object with a type, got ${describe(config)}` },
      ],
    };
  }
  const o = config as Record<string, unknown>;
  const type = o.type === undefined ? "auto" : typeof o.type === "string" ? resolveType(o.type) : undefined;
  if (!type) return { problems: [{ option: "type", problem: `${show(o.type)} is not one of ${known}` }] };
  const spec: PaginatorSpec = PAGINATORS[type];
  const problems: PaginatorProblem[] = [];
  for (const [key, value] of Object.entries(o)) {
    if (key === "type" || value === undefined) continue;
    const opt = spec.options[key];
    if (!opt) {
      const allowed = Object.keys(spec.options);
      const its = allowed.length > 0 ? `its options are: ${allowed.join(", ")}` : "it takes no options";
      const missing = o.type === undefined ? " (no type given, so it is auto; set type)" : "";
      problems.push({ option: key, problem: `unknown option of the ${type} paginator${missing}; ${its}` });
      continue;
    }
    const bad = valueProblem(opt, value);
    if (bad) problems.push({ option: key, problem: bad });
  }
  for (const [key, opt] of Object.entries(spec.options)) {
    if (opt.required && o[key] === undefined) problems.push({ option: key, problem: "is required" });
  }
  for (const [a, b] of spec.exclusive ?? []) {
    if (o[a] !== undefined && o[b] !== undefined) {
      problems.push({ option: b, problem: `cannot be given with ${a}; give one of them` });
    }
  }
  return { type, problems };
}

function resolveType(name: string): PaginatorType | undefined {
  if (Object.hasOwn(PAGINATORS, name)) return name as PaginatorType;
  return PAGINATOR_ALIASES[name];
}

function valueProblem(opt: OptionSpec, value: unknown): string | undefined {
  switch (opt.kind) {
    case "integer": {
      const min = opt.min ?? 0;
      const ok = typeof value === "number" && Number.isInteger(value) && value >= min;
      return ok ? undefined : `must be an integer >= ${min}, got ${show(value)}`;
    }
    case "boolean":
      return typeof value === "boolean" ? undefined : `must be true or false, got ${show(value)}`;
    case "name":
      return typeof value === "string" && value !== ""
        ? undefined
        : `must be a non-empty string, got ${show(value)}`;
    case "path_or_null":
      if (value === null) return undefined;
      return typeof value === "string" && value !== ""
        ? undefined
        : `must be a path (a non-empty string) or null, got ${show(value)}`;
    case "path":
      return typeof value === "string" && value !== ""
        ? undefined
        : `must be a path (a non-empty string), got ${show(value)}`;
    case "body_path":
      return typeof value === "string" && DOTTED.test(value)
        ? undefined
        : `must be field names joined by dots (e.g. "page.cursor"), got ${show(value)}`;
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return `${typeof v} ${show(v)}`;
}

/** The paginator table of docs/rest-api.md, rendered from the declaration above. */
export function paginatorDocs(): string {
  const rows = ["| `type` | option | default | meaning |", "| --- | --- | --- | --- |"];
  for (const type of PAGINATOR_TYPES) {
    const spec: PaginatorSpec = PAGINATORS[type];
    const alias = Object.entries(PAGINATOR_ALIASES)
      .filter(([, t]) => t === type)
      .map(([a]) => ` (also \`${a}\`)`)
      .join("");
    rows.push(`| \`${type}\`${alias} | | | ${spec.doc} |`);
    for (const [name, opt] of Object.entries(spec.options)) {
      const def = opt.required ? "required" : opt.default === undefined ? "" : `\`${opt.default}\``;
      const or = spec.exclusive?.find((pair) => pair[1] === name);
      const note = or ? `; not with \`${or[0]}\`` : "";
      rows.push(`| | \`${name}\` | ${def} | ${opt.doc}${note} |`);
    }
  }
  return rows.join("\n");
}
