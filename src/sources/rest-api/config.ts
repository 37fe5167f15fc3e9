import type { Resource } from "../../extract/resource.js";
import type { DataType } from "../../schema/types.js";
import type { AuthConfig } from "./auth/auth-config.js";
import type { Paginator, PaginatorConfig } from "./paginators/paginator.js";

/** A paginator setting: a type or config (dlt's), a custom paginator, or a function that makes one per chain. */
export type PaginatorSetting = PaginatorConfig | Paginator | (() => Paginator);

/**
 * What to do with a response that matches: `ignore` skips it (no records, end of pages); `data` takes its body as
 * records even though the status is not 2xx (APIs that answer "no results" with a 404 body, say).
 */
export interface ResponseAction {
  status_code?: number | number[];
  /** Matches when the body contains this text. */
  content?: string;
  action: "ignore" | "data";
}

/** The incremental settings shared by `endpoint.incremental` and `params: { x: { type: incremental } }` (dlt's). */
export interface IncrementalArgs {
  /** Where the cursor is in each record: a field path (`updated_at`, `meta.updated`, `$.updated_at`). */
  cursor_path: string;
  initial_value?: unknown;
  last_value_func?: "max" | "min";
  /** Fields that tell records apart at the boundary (default: the resource's primary key). */
  primary_key?: string | string[];
  lag?: number;
  on_cursor_value_missing?: "raise" | "include" | "exclude";
  /** Only "closed" (the start value is included), as ferry filters. */
  range_start?: "closed";
  /** Only "open" (the end value is excluded), as ferry filters. */
  range_end?: "open";
  /** Turns a cursor value into what the API expects (start/end parameters and `{incremental.*}` placeholders). */
  convert?: (value: unknown) => unknown;
  /** dlt's older name of `convert`. */
  transform?: (value: unknown) => unknown;
}

/** Incremental loading for an endpoint: the cursor in the records, and where the start value goes in the request. */
export interface RestIncrementalConfig extends IncrementalArgs {
  end_value?: unknown;
  /** Query parameter that receives the start value (or use `{incremental.start_value}` in params/path/json). */
  start_param?: string;
  end_param?: string;
}

/** `params: { issue: { type: "resolve", resource: "issues", field: "number" } }`: a path placeholder `{issue}`. */
export interface ResolveParamConfig {
  type: "resolve";
  resource: string;
  /** A field path in the parent's records (`number`, `meta.id`, `items[0].id`). */
  field: string;
}

/** `params: { since: { type: "incremental", cursor_path: "updated_at", initial_value: "..." } }`. */
export interface IncrementalParamConfig extends IncrementalArgs {
  type: "incremental";
}

/** A query parameter: a value (a list repeats the parameter), a resolve or incremental binding. */
export type ParamValue =
  | string
  | number
  | boolean
  | null
  | (string | number | boolean)[]
  | ResolveParamConfig
  | IncrementalParamConfig;

export interface EndpointConfig {
  /** Relative to `client.base_url`, or a full URL. Placeholders: `{resources.<parent>.<field>}`, `{incremental.*}`. */
  path?: string;
  method?: "GET" | "POST";
  params?: Record<string, ParamValue>;
  /** JSON body (POST). */
  json?: unknown;
  /** Form body (an object, sent form-encoded) or a raw string body (POST); not with `json`. */
  data?: Record<string, unknown> | string;
  headers?: Record<string, string>;
  /** JSONPath (or dotted path) to the records in the response body; null resets a default to auto-detection. */
  data_selector?: string | null;
  /** null resets a default to the client's paginator. */
  paginator?: PaginatorSetting | null;
  response_actions?: ResponseAction[];
  incremental?: RestIncrementalConfig;
  /** Auth for this endpoint instead of the client's; null sends none. */
  auth?: AuthConfig | null;
}

export interface RestColumnHint {
  /** The column (optional in the mapping form, required in the list form). */
  name?: string;
  data_type?: DataType | "complex";
  type?: DataType;
  nullable?: boolean;
  precision?: number;
  scale?: number;
  primary_key?: boolean;
  merge_key?: boolean;
  hard_delete?: boolean;
  dedup_sort?: "asc" | "desc";
}

/** Steps applied to each record, in order: keep (filter), replace (map), or replace by several (yield_map). */
export type ProcessingStep =
  | { filter: (item: unknown) => boolean }
  | { map: (item: unknown) => unknown }
  | { yield_map: (item: unknown) => Iterable<unknown> };

export interface ResourceConfig {
  name: string;
  endpoint?: string | EndpointConfig;
  /** Target table, or a function of each record. */
  table_name?: string | ((item: unknown) => string);
  primary_key?: string | string[];
  merge_key?: string | string[];
  write_disposition?:
    | "append"
    | "replace"
    | "merge"
    | { disposition: "merge"; strategy?: "delete-insert" | "upsert" }
    | { disposition: "append" | "replace" };
  /** Column hints by name, or a list of hints with `name`. */
  columns?: Record<string, RestColumnHint> | (RestColumnHint & { name: string })[];
  /** Parent fields copied into each child record as `_<parent>_<field>`. */
  include_from_parent?: string[];
  processing_steps?: ProcessingStep[];
  selected?: boolean;
  max_table_nesting?: number;
  schema_contract?: "evolve" | "freeze" | "discard_row" | "discard_value" | Record<string, string>;
  /** Children of this resource request concurrently (true, ferry's default) or one parent record at a time. */
  parallelized?: boolean;
  /** `delta`: a Delta Lake table on a file destination; `native` (default): the destination's own way. */
  table_format?: "native" | "delta";
}

export interface ClientConfig {
  base_url: string;
  headers?: Record<string, string>;
  auth?: AuthConfig | null;
  paginator?: PaginatorSetting | null;
  /** Seconds per request (default 30). */
  timeout?: number;
  /** Attempts per request including the first (default 5). */
  max_attempts?: number;
  /** Requests in flight at once, dependent requests included (default 5). */
  concurrency?: number;
  requests_per_second?: number;
}

/**
 * A REST API source, as in YAML specs (`source: { type: rest_api, ... }`) and `restApiSource(config)`.
 * Resources are configs, names, or ferry resources (`resource(...)`) that REST resources can depend on.
 *
 * @example
 * restApiSource({
 *   client: { base_url: "https://api.github.com/repos/org/repo", auth: { token } },
 *   resource_defaults: { primary_key: "id", write_disposition: "merge" },
 *   resources: [
 *     "contributors",
 *     { name: "issues", endpoint: { path: "issues", params: { state: "all" } } },
 *     { name: "comments", endpoint: "issues/{resources.issues.number}/comments", include_from_parent: ["id"] },
 *   ],
 * });
 */
export interface RestApiConfig {
  /** Source (and schema) name; default "rest_api". */
  name?: string;
  client: ClientConfig;
  resource_defaults?: Partial<Omit<ResourceConfig, "name">>;
  resources: (string | ResourceConfig | Resource)[];
}
