import { isResource } from "../../extract/resource.js";
import { ConfigError } from "../../util/errors.js";
import { authProblems } from "./auth/auth-config.js";
import { paginatorProblems } from "./paginators/options.js";
import { any, bool, check, fn, isObject, num, obj, type Shape, str, strOrList, typeName } from "./shape.js";

/** The shapes of a REST API config (dlt's `rest_api` options), checked by shape.ts. */

const scalar: Shape = {
  kind: "oneOf",
  options: [str, num, bool],
  describe: "a string, number or true/false",
};

const paginator: Shape = {
  kind: "custom",
  check(value, path, errors) {
    if (value === null) return; // resets a default: the client's paginator applies
    if (typeof value === "function") return; // a factory of custom paginators
    if (isCustomPaginator(value)) return;
    const { problems } = paginatorProblems(value);
    for (const p of problems) errors.push(`${path}${p.option ? `.${p.option}` : ""}: ${p.problem}`);
  },
};

const auth: Shape = {
  kind: "custom",
  check(value, path, errors) {
    for (const p of authProblems(value))
      errors.push(`${path}${p.option ? `.${p.option}` : ""}: ${p.problem}`);
  },
};

const NOT_A_VALUE =
  "an object is not a query value; use { type: resolve, resource, field } or { type: incremental, cursor_path, ... }, or a string";

const incrementalFields: Record<string, Shape> = {
  cursor_path: str,
  initial_value: any,
  last_value_func: { kind: "enum", values: ["max", "min"] },
  primary_key: strOrList,
  lag: num,
  on_cursor_value_missing: { kind: "enum", values: ["raise", "include", "exclude"] },
  range_start: {
    kind: "enum",
    values: ["closed"],
    refused: { open: "ferry always includes records at the start value (closed); remove range_start" },
  },
  range_end: {
    kind: "enum",
    values: ["open"],
    refused: {
      closed: "ferry always excludes records at end_value (open); remove range_end or raise end_value",
    },
  },
  convert: fn,
  transform: fn,
};
const incrementalRefused = {
  row_order: "ferry reads every page of an incremental endpoint; remove row_order",
  allow_external_schedulers: "ferry has no external schedulers to take the range from; remove it",
};

const incrementalParam: Shape = obj({ type: str, ...incrementalFields }, ["cursor_path"], {
  ...incrementalRefused,
  end_value: "a params incremental takes only a start; use endpoint.incremental with end_value and end_param",
  end_param: "a params incremental takes only a start; use endpoint.incremental with end_value and end_param",
});
const resolveParam: Shape = obj({ type: str, resource: str, field: str }, ["resource", "field"]);

const param: Shape = {
  kind: "custom",
  check(value, path, errors) {
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        if (!["string", "number", "boolean"].includes(typeof v)) {
          errors.push(
            `${path}[${i}]: a list parameter takes strings, numbers or true/false, got ${typeName(v)}`,
          );
        }
      });
      return;
    }
    if (typeof value !== "object") {
      errors.push(`${path}: expected a value, got ${typeName(value)}`);
      return;
    }
    const type = (value as Record<string, unknown>).type;
    if (type === "resolve") check(value, resolveParam, path, errors);
    else if (type === "incremental") check(value, incrementalParam, path, errors);
    else if (type === undefined) errors.push(`${path}: ${NOT_A_VALUE}`);
    else errors.push(`${path}.type: ${JSON.stringify(type)} is not one of resolve, incremental`);
  },
};

const statusCode: Shape = {
  kind: "oneOf",
  options: [num, { kind: "array", items: num }, { kind: "custom", check: numericString }],
  describe: "a status or a list",
};
const responseAction: Shape = {
  kind: "custom",
  check(value, path, errors) {
    const hook =
      "response hooks (functions) are not supported; match with status_code/content and use action ignore or data, and processing_steps to change records";
    if (typeof value === "function") errors.push(`${path}: ${hook}`);
    else if (isObject(value) && (typeof value.action === "function" || Array.isArray(value.action))) {
      errors.push(`${path}.action: ${hook}`);
    } else {
      check(
        value,
        obj({ status_code: statusCode, content: str, action: { kind: "enum", values: ["ignore", "data"] } }, [
          "action",
        ]),
        path,
        errors,
      );
      if (isObject(value) && value.status_code === undefined && value.content === undefined) {
        errors.push(`${path}: give status_code or content (or both) to say which responses it matches`);
      }
    }
  },
};

const endpoint = obj(
  {
    path: str,
    method: { kind: "enum", values: ["GET", "POST"] },
    params: { kind: "record", value: param },
    json: any,
    data: {
      kind: "oneOf",
      options: [str, { kind: "record", value: any }],
      describe: "a form (an object) or a raw body (a string)",
    },
    headers: { kind: "record", value: scalar },
    data_selector: { kind: "nullable", inner: str },
    paginator,
    response_actions: { kind: "array", items: responseAction },
    incremental: obj(
      { ...incrementalFields, end_value: any, start_param: str, end_param: str },
      ["cursor_path"],
      incrementalRefused,
    ),
    auth,
  },
  [],
);

const TYPES = ["text", "bigint", "double", "bool", "timestamp", "date", "time", "decimal", "json", "binary"];
const typeShape: Shape = {
  kind: "enum",
  values: [...TYPES, "complex"],
  refused: { wei: "ferry has no wei type; use decimal (with precision and scale)" },
};
const notApplied = (hint: string) => `is a dlt column hint ferry does not apply (${hint}); remove it`;
const column = obj(
  {
    name: str,
    data_type: typeShape,
    type: typeShape,
    nullable: bool,
    precision: num,
    scale: num,
    primary_key: bool,
    merge_key: bool,
    hard_delete: bool,
    dedup_sort: { kind: "enum", values: ["asc", "desc"] },
  },
  [],
  {
    partition: notApplied("partitioning is the destination's"),
    cluster: notApplied("clustering is the destination's"),
    sort: notApplied("sort keys are the destination's"),
    unique: notApplied("no unique constraints are created"),
    timezone: notApplied("timestamps are stored in UTC"),
    description: notApplied("column descriptions are not stored"),
    row_key: notApplied("ferry keys rows with _ferry_id"),
    parent_key: notApplied("child rows link by _ferry_parent_id"),
    root_key: notApplied("child rows link by _ferry_root_id"),
    variant: notApplied("variant columns are made by ferry"),
    incremental: notApplied("set the cursor in endpoint.incremental"),
  },
);
const columns: Shape = {
  kind: "custom",
  check(value, path, errors) {
    if (Array.isArray(value)) {
      value.forEach((c, i) => {
        check(c, column, `${path}[${i}]`, errors);
        if (isObject(c) && typeof c.name !== "string")
          errors.push(`${path}[${i}].name: is required in a list of columns`);
      });
    } else if (isObject(value)) {
      for (const [k, c] of Object.entries(value)) {
        check(c, column, `${path}.${k}`, errors);
        if (isObject(c) && c.name !== undefined && c.name !== k) {
          errors.push(`${path}.${k}.name: ${JSON.stringify(c.name)} differs from its key "${k}"`);
        }
      }
    } else errors.push(`${path}: expected a mapping of columns or a list of columns, got ${typeName(value)}`);
  },
};

const DISPOSITIONS = ["append", "replace", "merge"];
const SKIP = 'ferry has no "skip" disposition; leave the resource out or set selected: false';
const writeDisposition: Shape = {
  kind: "oneOf",
  options: [
    { kind: "enum", values: DISPOSITIONS, refused: { skip: SKIP } },
    obj(
      {
        disposition: { kind: "enum", values: DISPOSITIONS, refused: { skip: SKIP } },
        strategy: {
          kind: "enum",
          values: ["delete-insert", "upsert"],
          refused: {
            scd2: 'ferry has no scd2 (slowly changing dimension) merge yet; use "delete-insert" or "upsert"',
            "insert-only": 'ferry has no insert-only merge; use "delete-insert" or "upsert"',
          },
        },
      },
      ["disposition"],
      {
        deduplicated:
          "ferry's delete-insert always keeps one row per primary key (dedup_sort picks it); remove it",
        validity_column_names: "belongs to the scd2 strategy, which ferry does not have",
        active_record_timestamp: "belongs to the scd2 strategy, which ferry does not have",
        boundary_timestamp: "belongs to the scd2 strategy, which ferry does not have",
        row_version_column_name: "belongs to the scd2 strategy, which ferry does not have",
      },
    ),
  ],
  describe: '"append", "replace", "merge" or { disposition, strategy }',
};
const CONTRACT = ["evolve", "freeze", "discard_row", "discard_value"];
const contractMode: Shape = { kind: "enum", values: CONTRACT };

const resourceFields: Record<string, Shape> = {
  name: str,
  endpoint: { kind: "oneOf", options: [str, endpoint], describe: "a path or an endpoint object" },
  table_name: { kind: "oneOf", options: [str, fn], describe: "a table name or a function of the record" },
  primary_key: strOrList,
  merge_key: strOrList,
  write_disposition: writeDisposition,
  columns,
  include_from_parent: { kind: "array", items: str },
  processing_steps: {
    kind: "array",
    items: {
      kind: "oneOf",
      options: [
        obj({ filter: fn }, ["filter"]),
        obj({ map: fn }, ["map"]),
        obj({ yield_map: fn }, ["yield_map"]),
      ],
      describe: "{ filter: fn }, { map: fn } or { yield_map: fn }",
    },
  },
  selected: bool,
  max_table_nesting: num,
  schema_contract: {
    kind: "oneOf",
    options: [contractMode, obj({ tables: contractMode, columns: contractMode, data_type: contractMode })],
    describe: `one of ${CONTRACT.join(", ")} or { tables, columns, data_type }`,
  },
  parallelized: bool,
  table_format: {
    kind: "enum",
    values: ["native", "delta"],
    refused: Object.fromEntries(
      ["iceberg", "hive"].map((f) => [
        f,
        `ferry does not write ${f} tables; use "delta" (on file destinations) or remove table_format`,
      ]),
    ),
  },
};
const resourceRefused: Record<string, string> = {
  file_format: "ferry writes each destination's preferred load-file format; remove file_format",
  references: "ferry does not record table references; remove references",
  nested_hints: "hints for child tables are not supported; remove nested_hints",
  parent_table_name: "ferry names child tables <table>__<field>; remove parent_table_name",
  incremental: "belongs in endpoint (endpoint.incremental)",
  params: "belongs in endpoint (endpoint.params)",
  path: "belongs in endpoint (endpoint.path)",
  paginator: "belongs in endpoint (endpoint.paginator) or client",
  auth: "belongs in endpoint (endpoint.auth) or client",
  data_selector: "belongs in endpoint (endpoint.data_selector)",
};

const resourceItem: Shape = {
  kind: "custom",
  check(value, path, errors) {
    if (typeof value === "string" || isResource(value)) return;
    if (!isObject(value)) {
      errors.push(`${path}: expected a name, a resource object or a ferry resource, got ${typeName(value)}`);
      return;
    }
    if (typeof value.name === "function") {
      errors.push(`${path}.name: must be a string (use table_name: fn for a table per record)`);
      return;
    }
    check(value, obj(resourceFields, ["name"], resourceRefused), path, errors);
  },
};

const config = obj(
  {
    name: str,
    type: str,
    client: obj(
      {
        base_url: str,
        headers: { kind: "record", value: scalar },
        auth,
        paginator,
        timeout: num,
        max_attempts: num,
        concurrency: num,
        requests_per_second: num,
      },
      ["base_url"],
      {
        session:
          "a requests session is Python; use client.timeout, max_attempts, concurrency and requests_per_second",
      },
    ),
    resource_defaults: obj(
      Object.fromEntries(Object.entries(resourceFields).filter(([k]) => k !== "name")),
      [],
      resourceRefused,
    ),
    resources: { kind: "array", items: resourceItem },
  },
  ["client", "resources"],
);

function isCustomPaginator(v: unknown): boolean {
  return isObject(v) && typeof v.init === "function" && typeof v.next === "function";
}

function numericString(value: unknown, path: string, errors: string[]): void {
  if (typeof value !== "string" || !/^\d{3}$/.test(value)) errors.push(`${path}: expected a status code`);
}

/** The shape problems of a REST API config, each with its path (empty when the shape is right). */
export function shapeErrors(value: unknown): string[] {
  const errors: string[] = [];
  check(value, config, "config", errors);
  return errors;
}

/** Throws one ConfigError listing every problem with its path. */
export function throwConfig(errors: string[]): never {
  const shown = errors.slice(0, 20);
  throw new ConfigError(
    `invalid rest_api config:\n  ${shown.join("\n  ")}${errors.length > shown.length ? `\n  ... and ${errors.length - shown.length} more` : ""}`,
    { hint: "fix the keys named above (options follow dlt's rest_api names)" },
  );
}
