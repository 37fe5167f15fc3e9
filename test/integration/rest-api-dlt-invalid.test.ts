import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RestApiConfig, restApiSource } from "../../src/sources/rest-api/index.js";
import { ConfigError } from "../../src/util/errors.js";

// Configurations dlt refuses (its tests' INVALID_CONFIGS and the mistakes its checks catch), and dlt options
// ferry does not do: each is refused before any request, with the option named and what to do.

const CLIENT = { base_url: "http://127.0.0.1:9" };
const resolve = (resource: string, field = "id") => ({ type: "resolve", resource, field });

const CASES: Array<[name: string, config: unknown, problem: string]> = [
  ["no resources", { client: CLIENT }, "config.resources: is required"],
  ["no client", { resources: [] }, "config.client: is required"],
  [
    "an auth type name without credentials",
    { client: { ...CLIENT, auth: "api_key" }, resources: ["posts"] },
    'config.client.auth: "api_key" names an auth type without its credentials; write { type: api_key, api_key }',
  ],
  [
    "api_key auth without its key",
    { client: { ...CLIENT, auth: { type: "api_key", location: "header" } }, resources: ["posts"] },
    "config.client.auth.api_key: is required",
  ],
  [
    "an unknown client key",
    { client: { ...CLIENT, invalid_key: "value" }, resources: ["posts"] },
    "config.client.invalid_key: unknown key; allowed: base_url, headers, auth, paginator, timeout, max_attempts, concurrency, requests_per_second",
  ],
  [
    "an unknown paginator",
    { client: { ...CLIENT, paginator: "invalid_paginator" }, resources: ["posts"] },
    'config.client.paginator: "invalid_paginator" is not one of json_link, header_link, offset, page_number, cursor, header_cursor, single_page, auto',
  ],
  [
    "a resolve param naming an unknown resource",
    {
      client: CLIENT,
      resources: [
        "issues",
        { name: "comments", endpoint: { path: "issues/{id}/comments", params: { id: resolve("issuess") } } },
      ],
    },
    'config.resources[1].endpoint: params.id (resource "issuess") names no resource; resources: issues, comments',
  ],
  [
    "path placeholders nothing fills",
    { client: CLIENT, resources: [{ name: "issues", endpoint: { path: "{org}/{repo}/issues/" } }] },
    "config.resources[0].endpoint.path: {org} has no value: add params.org (a value, or { type: resolve, resource, field }), or write {resources.<parent>.<field>}",
  ],
  [
    "two parents through resolve params",
    {
      client: CLIENT,
      resources: [
        "users",
        "groups",
        {
          name: "details",
          endpoint: {
            path: "user/{user_id}/{group_id}",
            params: { user_id: resolve("users"), group_id: resolve("groups") },
          },
        },
      ],
    },
    "config.resources[2].endpoint: a resource can depend on one parent, found users, groups",
  ],
  [
    "a dependency cycle through resolve params",
    {
      client: CLIENT,
      resources: [
        { name: "chicken", endpoint: { path: "chicken/{egg_id}/", params: { egg_id: resolve("egg") } } },
        { name: "egg", endpoint: { path: "egg/{chicken_id}/", params: { chicken_id: resolve("chicken") } } },
      ],
    },
    'config.resources[0]: dependency cycle through "chicken"',
  ],
  [
    "a param type other than resolve or incremental",
    {
      client: CLIENT,
      resources: [
        { name: "a", endpoint: { params: { since: { type: "no_incremental", cursor_path: "updated_at" } } } },
      ],
    },
    'config.resources[0].endpoint.params.since.type: "no_incremental" is not one of resolve, incremental',
  ],
  [
    "two incremental params",
    {
      client: CLIENT,
      resources: [
        {
          name: "a",
          endpoint: {
            params: {
              first: { type: "incremental", cursor_path: "updated_at" },
              second: { type: "incremental", cursor_path: "created_at" },
            },
          },
        },
      ],
    },
    "config.resources[0].endpoint.params: one incremental parameter per endpoint, found first, second",
  ],
  [
    "a params incremental and endpoint.incremental",
    {
      client: CLIENT,
      resources: [
        {
          name: "a",
          endpoint: {
            params: { since: { type: "incremental", cursor_path: "u" } },
            incremental: { cursor_path: "u" },
          },
        },
      ],
    },
    "config.resources[0].endpoint.params.since: the endpoint also has endpoint.incremental; keep one of them",
  ],
  [
    "a params incremental with an end value",
    {
      client: CLIENT,
      resources: [
        {
          name: "a",
          endpoint: { params: { since: { type: "incremental", cursor_path: "u", end_value: "2025" } } },
        },
      ],
    },
    "config.resources[0].endpoint.params.since.end_value: a params incremental takes only a start; use endpoint.incremental with end_value and end_param",
  ],
  [
    "a resolve param the path does not use",
    {
      client: CLIENT,
      resources: [
        "posts",
        { name: "c", endpoint: { path: "comments", params: { post_id: resolve("posts") } } },
      ],
    },
    'config.resources[1].endpoint.params.post_id: a resolve param must be used as {post_id} in the path (or in a param, the body or a header); or write "{resources.posts.id}" where the value goes',
  ],
  [
    "a placeholder context that does not exist",
    { client: CLIENT, resources: [{ name: "a", endpoint: { params: { q: "{foo.bar}" } } }] },
    "config.resources[0].endpoint.params: {foo.bar} is not a placeholder ferry knows: use {resources.<resource>.<field>} or {incremental.<value>}; write {{ and }} for literal braces",
  ],
  [
    "a bare name in params",
    { client: CLIENT, resources: [{ name: "a", endpoint: { params: { q: "{id}" } } }] },
    "config.resources[0].endpoint.params: {id} is not a placeholder here; use {resources.<parent>.<field>} (bare names go in the path, or name a resolve param)",
  ],
  [
    "an unescaped brace in a param",
    { client: CLIENT, resources: [{ name: "a", endpoint: { params: { filter: '{"a":1}' } } }] },
    'config.resources[0].endpoint.params: "{"a":1}" is not a placeholder; write "{{" and "}}" for literal braces',
  ],
  [
    "an unknown incremental value",
    {
      client: CLIENT,
      resources: [
        { name: "a", endpoint: { params: { s: "{incremental.since}" }, incremental: { cursor_path: "u" } } },
      ],
    },
    "config.resources[0].endpoint.params: {incremental.since} is not an incremental value; use one of {incremental.start_value}, {incremental.initial_value}, {incremental.last_value}, {incremental.end_value}, {incremental.lag}, {incremental.cursor_path}, {incremental.last_value_func}, {incremental.on_cursor_value_missing}",
  ],
  [
    "{incremental.start_value} without an incremental",
    { client: CLIENT, resources: [{ name: "a", endpoint: { path: "a/{incremental.start_value}" } }] },
    "config.resources[0].endpoint.path: uses {incremental.start_value} but the endpoint has no incremental",
  ],
  [
    "an object param without a type",
    { client: CLIENT, resources: [{ name: "a", endpoint: { params: { filter: { status: "open" } } } }] },
    "config.resources[0].endpoint.params.filter: an object is not a query value; use { type: resolve, resource, field } or { type: incremental, cursor_path, ... }, or a string",
  ],
  [
    "params on the resource instead of the endpoint (dlt's troubleshooting example)",
    {
      client: CLIENT,
      resources: [{ name: "issues", params: { sort: "updated" }, endpoint: { path: "issues" } }],
    },
    "config.resources[0].params: belongs in endpoint (endpoint.params)",
  ],
  [
    "a JSON body on GET",
    { client: CLIENT, resources: [{ name: "a", endpoint: { json: { q: 1 } } }] },
    "config.resources[0].endpoint.json: a GET request carries no body; set method: POST (or move the values to params)",
  ],
  [
    "json and data together",
    { client: CLIENT, resources: [{ name: "a", endpoint: { method: "POST", json: { q: 1 }, data: "q=1" } }] },
    "config.resources[0].endpoint.data: give json or data, not both",
  ],
  [
    "braces in a header name",
    { client: CLIENT, resources: [{ name: "a", endpoint: { headers: { "X-{{odd}}": "1" } } }] },
    'config.resources[0].endpoint.headers: "X-{odd}" is not a valid HTTP header name (letters, digits and !#$%&\'*+-.^_`|~ only)',
  ],
  [
    "the scd2 merge strategy",
    {
      client: CLIENT,
      resources: [{ name: "a", write_disposition: { disposition: "merge", strategy: "scd2" } }],
    },
    'config.resources[0].write_disposition.strategy: "scd2": ferry has no scd2 (slowly changing dimension) merge yet; use "delete-insert" or "upsert"',
  ],
  [
    "the skip disposition",
    { client: CLIENT, resources: [{ name: "a", write_disposition: "skip" }] },
    'config.resources[0].write_disposition: "skip": ferry has no "skip" disposition; leave the resource out or set selected: false',
  ],
  [
    "a table format ferry does not write",
    { client: CLIENT, resources: [{ name: "a", table_format: "iceberg" }] },
    'config.resources[0].table_format: "iceberg": ferry does not write iceberg tables; use "delta" (on file destinations) or remove table_format',
  ],
  [
    "a requests session",
    { client: { ...CLIENT, session: {} }, resources: ["a"] },
    "config.client.session: a requests session is Python; use client.timeout, max_attempts, concurrency and requests_per_second",
  ],
  [
    "an OAuth2 access_token",
    {
      client: {
        ...CLIENT,
        auth: {
          type: "oauth2_client_credentials",
          access_token: "t",
          access_token_url: "u",
          client_id: "i",
          client_secret: "s",
        },
      },
      resources: ["a"],
    },
    "config.client.auth.access_token: ferry fetches the token from access_token_url itself (as dlt does when it expires); remove access_token",
  ],
  [
    "a column hint ferry does not apply",
    {
      client: CLIENT,
      resources: [{ name: "a", columns: { ts: { data_type: "timestamp", partition: true } } }],
    },
    "config.resources[0].columns.ts.partition: is a dlt column hint ferry does not apply (partitioning is the destination's); remove it",
  ],
  [
    "a list column without a name",
    { client: CLIENT, resources: [{ name: "a", columns: [{ data_type: "text" }] }] },
    "config.resources[0].columns[0].name: is required in a list of columns",
  ],
  [
    "the wei type",
    { client: CLIENT, resources: [{ name: "a", columns: { v: { data_type: "wei" } } }] },
    'config.resources[0].columns.v.data_type: "wei": ferry has no wei type; use decimal (with precision and scale)',
  ],
  [
    "a response hook function",
    { client: CLIENT, resources: [{ name: "a", endpoint: { response_actions: [() => undefined] } }] },
    "config.resources[0].endpoint.response_actions[0]: response hooks (functions) are not supported; match with status_code/content and use action ignore or data, and processing_steps to change records",
  ],
  [
    "a last_value_func function",
    {
      client: CLIENT,
      resources: [{ name: "a", endpoint: { incremental: { cursor_path: "u", last_value_func: () => 1 } } }],
    },
    "config.resources[0].endpoint.incremental.last_value_func: a function is not one of max, min",
  ],
  [
    "row_order",
    {
      client: CLIENT,
      resources: [{ name: "a", endpoint: { incremental: { cursor_path: "u", row_order: "asc" } } }],
    },
    "config.resources[0].endpoint.incremental.row_order: ferry reads every page of an incremental endpoint; remove row_order",
  ],
  [
    "an open range start",
    {
      client: CLIENT,
      resources: [{ name: "a", endpoint: { incremental: { cursor_path: "u", range_start: "open" } } }],
    },
    'config.resources[0].endpoint.incremental.range_start: "open": ferry always includes records at the start value (closed); remove range_start',
  ],
  [
    "a cursor path that is a query",
    { client: CLIENT, resources: [{ name: "a", endpoint: { incremental: { cursor_path: "items[*].ts" } } }] },
    'config.resources[0].endpoint.incremental.cursor_path: "items[*].ts" must name a field (a.b.c or $.a.b), not a query',
  ],
  [
    "paginator options without a type",
    { client: CLIENT, resources: [{ name: "a", endpoint: { paginator: { next_url_path: "next" } } }] },
    "config.resources[0].endpoint.paginator.next_url_path: unknown option of the auto paginator (no type given, so it is auto; set type); it takes no options",
  ],
  [
    "both cursor_param and cursor_body_path",
    {
      client: CLIENT,
      resources: [
        { name: "a", endpoint: { paginator: { type: "cursor", cursor_param: "c", cursor_body_path: "c" } } },
      ],
    },
    "config.resources[0].endpoint.paginator.cursor_body_path: cannot be given with cursor_param; give one of them",
  ],
  [
    "include_from_parent without a parent",
    { client: CLIENT, resources: [{ name: "a", include_from_parent: ["id"] }] },
    "config.resources[0].include_from_parent: the resource has no parent ({resources.<parent>.<field>} placeholder)",
  ],
  [
    "a resource name as a function",
    { client: CLIENT, resources: [{ name: () => "a" }] },
    "config.resources[0].name: must be a string (use table_name: fn for a table per record)",
  ],
  [
    "a format spec in a placeholder",
    { client: CLIENT, resources: ["a", { name: "b", endpoint: "b/{resources.a.id:>5}" }] },
    'config.resources[1].endpoint.path: "{resources.a.id:>5}" has a format spec or conversion, which ferry does not apply',
  ],
  [
    "a paginator object shared by the requests of a dependent resource",
    {
      client: CLIENT,
      resources: [
        "a",
        {
          name: "b",
          endpoint: {
            path: "b/{resources.a.id}/c",
            paginator: { init: (r: unknown) => r, next: () => undefined },
          },
        },
      ],
    },
    'config.resources[1].endpoint.paginator: one paginator object would be shared by the requests of every "a" record of resource "b"; give a function that returns a new paginator',
  ],
];

describe("configurations dlt refuses, and dlt options ferry does not do, are refused by name", () => {
  for (const [name, config, problem] of CASES) {
    test(name, () => {
      assert.throws(
        () => restApiSource(config as RestApiConfig),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          const lines = e.message.split("\n").map((l) => l.trim());
          assert.equal(lines[0], "invalid rest_api config:");
          assert.ok(lines.includes(problem), `expected the line\n  ${problem}\nin\n${e.message}`);
          return true;
        },
      );
    });
  }
});
