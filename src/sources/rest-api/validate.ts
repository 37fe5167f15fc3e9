import { ConfigError } from "../../util/errors.js";

/** A tiny shape language for config validation, so errors can name the exact path and what is allowed. */
type Shape =
  | { kind: "string" | "number" | "boolean" | "function" | "any" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "object"; fields: Record<string, Shape>; required?: readonly string[] }
  | { kind: "record"; value: Shape }
  | { kind: "array"; items: Shape }
  | { kind: "oneOf"; options: Shape[]; describe: string }
  | { kind: "tagged"; variants: Record<string, Shape & { kind: "object" }>; shorthand?: boolean };

const str: Shape = { kind: "string" };
const num: Shape = { kind: "number" };
const bool: Shape = { kind: "boolean" };
const any: Shape = { kind: "any" };
const fn: Shape = { kind: "function" };
const obj = (fields: Record<string, Shape>, required: string[] = []): Shape & { kind: "object" } => ({
  kind: "object",
  fields,
  required,
});
const strOrList: Shape = {
  kind: "oneOf",
  options: [str, { kind: "array", items: str }],
  describe: "a string or a list of strings",
};

const paginator: Shape = {
  kind: "tagged",
  shorthand: true,
  variants: {
    json_link: obj({ type: str, next_url_path: str }),
    header_link: obj({ type: str, links_next_key: str }),
    offset: obj(
      {
        type: str,
        limit: num,
        offset: num,
        offset_param: str,
        limit_param: str,
        total_path: { kind: "oneOf", options: [str, { kind: "any" }], describe: "a path or null" },
        maximum_offset: num,
        stop_after_empty_page: bool,
        has_more_path: str,
      },
      ["limit"],
    ),
    page_number: obj({
      type: str,
      base_page: num,
      page: num,
      page_param: str,
      total_path: { kind: "oneOf", options: [str, { kind: "any" }], describe: "a path or null" },
      maximum_page: num,
      stop_after_empty_page: bool,
      has_more_path: str,
    }),
    cursor: obj({ type: str, cursor_path: str, cursor_param: str, cursor_body_path: str }),
    header_cursor: obj({ type: str, cursor_key: str, cursor_param: str }),
    single_page: obj({ type: str }),
    auto: obj({ type: str }),
  },
};

const auth: Shape = {
  kind: "tagged",
  variants: {
    bearer: obj({ type: str, token: str }, ["token"]),
    api_key: obj(
      {
        type: str,
        name: str,
        api_key: str,
        location: { kind: "enum", values: ["header", "query", "cookie"] },
      },
      ["api_key"],
    ),
    http_basic: obj({ type: str, username: str, password: str }, ["username", "password"]),
    oauth2_client_credentials: obj(
      {
        type: str,
        access_token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        access_token_request_data: { kind: "record", value: str },
        default_token_expiration: num,
      },
      ["access_token_url", "client_id", "client_secret"],
    ),
  },
};

const endpoint = obj({
  path: str,
  method: { kind: "enum", values: ["GET", "POST"] },
  params: { kind: "record", value: any },
  json: any,
  headers: { kind: "record", value: str },
  data_selector: str,
  paginator,
  response_actions: {
    kind: "array",
    items: obj(
      {
        status_code: {
          kind: "oneOf",
          options: [num, { kind: "array", items: num }],
          describe: "a status or a list",
        },
        content: str,
        action: { kind: "enum", values: ["ignore", "data"] },
      },
      ["action"],
    ),
  },
  incremental: obj(
    {
      cursor_path: str,
      initial_value: any,
      end_value: any,
      start_param: str,
      end_param: str,
      last_value_func: { kind: "enum", values: ["max", "min"] },
      lag: num,
      on_cursor_value_missing: { kind: "enum", values: ["raise", "include", "exclude"] },
    },
    ["cursor_path"],
  ),
});

const TYPES = ["text", "bigint", "double", "bool", "timestamp", "date", "time", "decimal", "json", "binary"];
const column = obj({
  data_type: { kind: "enum", values: TYPES },
  type: { kind: "enum", values: TYPES },
  nullable: bool,
  precision: num,
  scale: num,
  primary_key: bool,
  merge_key: bool,
  hard_delete: bool,
  dedup_sort: { kind: "enum", values: ["asc", "desc"] },
});

const resourceFields = {
  name: str,
  endpoint: { kind: "oneOf", options: [str, endpoint], describe: "a path or an endpoint object" } as Shape,
  table_name: str,
  primary_key: strOrList,
  merge_key: strOrList,
  write_disposition: {
    kind: "oneOf",
    options: [
      { kind: "enum", values: ["append", "replace", "merge"] },
      obj(
        {
          disposition: { kind: "enum", values: ["append", "replace", "merge"] },
          strategy: { kind: "enum", values: ["delete-insert", "upsert"] },
        },
        ["disposition"],
      ),
    ],
    describe: '"append", "replace", "merge" or { disposition, strategy }',
  } as Shape,
  columns: { kind: "record", value: column } as Shape,
  include_from_parent: { kind: "array", items: str } as Shape,
  processing_steps: {
    kind: "array",
    items: {
      kind: "oneOf",
      options: [obj({ filter: fn }, ["filter"]), obj({ map: fn }, ["map"])],
      describe: "{ filter: fn } or { map: fn }",
    },
  } as Shape,
  selected: bool,
  max_table_nesting: num,
  schema_contract: any,
};

const config = obj(
  {
    name: str,
    type: str,
    client: obj(
      {
        base_url: str,
        headers: { kind: "record", value: str },
        auth,
        paginator,
        timeout: num,
        max_attempts: num,
        concurrency: num,
        requests_per_second: num,
      },
      ["base_url"],
    ),
    resource_defaults: obj(Object.fromEntries(Object.entries(resourceFields).filter(([k]) => k !== "name"))),
    resources: {
      kind: "array",
      items: {
        kind: "oneOf",
        options: [str, obj(resourceFields, ["name"])],
        describe: "a name or a resource object",
      },
    },
  },
  ["client", "resources"],
);

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

function check(value: unknown, shape: Shape, path: string, errors: string[]): void {
  switch (shape.kind) {
    case "any":
      return;
    case "string":
    case "number":
    case "boolean":
    case "function":
      if (typeof value !== shape.kind)
        errors.push(`${path}: expected a ${shape.kind}, got ${typeName(value)}`);
      return;
    case "enum":
      if (typeof value !== "string" || !shape.values.includes(value)) {
        errors.push(`${path}: ${JSON.stringify(value)} is not one of ${shape.values.join(", ")}`);
      }
      return;
    case "array":
      if (!Array.isArray(value)) errors.push(`${path}: expected a list, got ${typeName(value)}`);
      else for (const [i, v] of value.entries()) check(v, shape.items, `${path}[${i}]`, errors);
      return;
    case "record":
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        errors.push(`${path}: expected a mapping, got ${typeName(value)}`);
      } else for (const [k, v] of Object.entries(value)) check(v, shape.value, `${path}.${k}`, errors);
      return;
    case "object": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        errors.push(`${path}: expected an object, got ${typeName(value)}`);
        return;
      }
      const o = value as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const field = shape.fields[k];
        if (!field)
          errors.push(`${path}.${k}: unknown key; allowed: ${Object.keys(shape.fields).join(", ")}`);
        else if (o[k] !== undefined) check(o[k], field, `${path}.${k}`, errors);
      }
      for (const r of shape.required ?? []) if (o[r] === undefined) errors.push(`${path}.${r}: is required`);
      return;
    }
    case "oneOf": {
      for (const option of shape.options) {
        const sub: string[] = [];
        check(value, option, path, sub);
        if (sub.length === 0) return;
      }
      // Report the errors of the option whose basic type matches, else a summary.
      const matching = shape.options.find((o) => basicMatch(value, o));
      if (matching) check(value, matching, path, errors);
      else errors.push(`${path}: expected ${shape.describe}, got ${typeName(value)}`);
      return;
    }
    case "tagged": {
      const names = Object.keys(shape.variants);
      if (typeof value === "string" && shape.shorthand) {
        if (!names.includes(value))
          errors.push(`${path}: ${JSON.stringify(value)} is not one of ${names.join(", ")}`);
        return;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        errors.push(
          `${path}: expected ${shape.shorthand ? "a type name or " : ""}an object with a type, got ${typeName(value)}`,
        );
        return;
      }
      const type = (value as Record<string, unknown>).type;
      const variant = typeof type === "string" ? shape.variants[type] : undefined;
      if (!variant) {
        errors.push(`${path}.type: ${JSON.stringify(type)} is not one of ${names.join(", ")}`);
        return;
      }
      check(value, variant, path, errors);
      return;
    }
  }
}

function basicMatch(value: unknown, shape: Shape): boolean {
  if (shape.kind === "object" || shape.kind === "record" || shape.kind === "tagged") {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }
  if (shape.kind === "array") return Array.isArray(value);
  if (shape.kind === "enum") return typeof value === "string";
  return shape.kind === typeof value;
}

/** Checks a REST API config's shape; throws one ConfigError listing every problem with its path. */
export function validateShape(value: unknown): void {
  const errors = shapeErrors(value);
  if (errors.length > 0) throwConfig(errors);
}

/** The shape problems of a REST API config, each with its path (empty when the shape is right). */
export function shapeErrors(value: unknown): string[] {
  const errors: string[] = [];
  check(value, config, "config", errors);
  return errors;
}

export function throwConfig(errors: string[]): never {
  const shown = errors.slice(0, 20);
  throw new ConfigError(
    `invalid rest_api config:\n  ${shown.join("\n  ")}${errors.length > shown.length ? `\n  ... and ${errors.length - shown.length} more` : ""}`,
    { hint: "fix the keys named above (options follow dlt's rest_api names)" },
  );
}
