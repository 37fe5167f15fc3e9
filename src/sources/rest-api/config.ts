import type { ColumnHint, DataType } from "../../schema/types.js";
import type { AuthConfig } from "./auth/auth-config.js";
import type { PaginatorConfig } from "./paginators/paginator.js";

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

/** Incremental loading for an endpoint: the cursor in the records, and where the start value goes in the request. */
export interface RestIncrementalConfig {
  cursor_path: string;
  initial_value?: unknown;
  end_value?: unknown;
  /** Query parameter that receives the start value (or use `{incremental.start_value}` in params/path/json). */
  start_param?: string;
  end_param?: string;
  last_value_func?: "max" | "min";
  lag?: number;
  on_cursor_value_missing?: "raise" | "include" | "exclude";
}

export interface EndpointConfig {
  path?: string;
  method?: "GET" | "POST";
  params?: Record<string, unknown>;
  json?: unknown;
  headers?: Record<string, string>;
  /** JSONPath (or dotted path) to the records in the response body. */
  data_selector?: string;
  paginator?: PaginatorConfig;
  response_actions?: ResponseAction[];
  incremental?: RestIncrementalConfig;
}

export interface RestColumnHint {
  data_type?: DataType;
  type?: DataType;
  nullable?: boolean;
  precision?: number;
  scale?: number;
  primary_key?: boolean;
  merge_key?: boolean;
  hard_delete?: boolean;
  dedup_sort?: "asc" | "desc";
}

export type ProcessingStep = { filter: (item: unknown) => boolean } | { map: (item: unknown) => unknown };

export interface ResourceConfig {
  name: string;
  endpoint?: string | EndpointConfig;
  table_name?: string;
  primary_key?: string | string[];
  merge_key?: string | string[];
  write_disposition?:
    | "append"
    | "replace"
    | "merge"
    | { disposition: "merge"; strategy?: "delete-insert" | "upsert" }
    | { disposition: "append" | "replace" };
  columns?: Record<string, RestColumnHint>;
  /** Parent fields copied into each child record as `_<parent>_<field>`. */
  include_from_parent?: string[];
  processing_steps?: ProcessingStep[];
  selected?: boolean;
  max_table_nesting?: number;
  schema_contract?: "evolve" | "freeze" | "discard_row" | "discard_value" | Record<string, string>;
}

export interface ClientConfig {
  base_url: string;
  headers?: Record<string, string>;
  auth?: AuthConfig;
  paginator?: PaginatorConfig;
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
 *
 * @example
 * restApiSource({
 *   client: { base_url: "https://api.github.com/repos/org/repo", auth: { type: "bearer", token } },
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
  resources: (string | ResourceConfig)[];
}

/** Converts spec-style column hints to ferry's. */
export function toColumnHints(
  columns: Record<string, RestColumnHint> | undefined,
): Record<string, ColumnHint> | undefined {
  if (!columns) return undefined;
  const out: Record<string, ColumnHint> = {};
  for (const [name, c] of Object.entries(columns)) {
    const type = c.data_type ?? c.type;
    out[name] = {
      ...(type ? { type } : {}),
      ...(c.nullable !== undefined ? { nullable: c.nullable } : {}),
      ...(c.precision !== undefined ? { precision: c.precision } : {}),
      ...(c.scale !== undefined ? { scale: c.scale } : {}),
      ...(c.primary_key !== undefined ? { primaryKey: c.primary_key } : {}),
      ...(c.merge_key !== undefined ? { mergeKey: c.merge_key } : {}),
      ...(c.hard_delete !== undefined ? { hardDelete: c.hard_delete } : {}),
      ...(c.dedup_sort !== undefined ? { dedupSort: c.dedup_sort } : {}),
    };
  }
  return out;
}
