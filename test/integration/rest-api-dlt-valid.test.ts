import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Pipeline, resource } from "../../src/index.js";
import type { Paginator, RestApiConfig } from "../../src/sources/rest-api/index.js";
import { type FakeApi, type FakeRequest, type FakeRoute, pathParams } from "../../src/testing/index.js";
import { runRest, sent, withApi, withPipeline } from "../helpers/rest-api.js";

// dlt's rest_api configurations (its tests' VALID_CONFIGS and its documentation's examples, rewritten), run
// against a local API: each must be accepted and send exactly the requests dlt sends, loading the rows it loads.

type Config = Omit<RestApiConfig, "client"> & { client?: Partial<RestApiConfig["client"]> };

interface ValidCase {
  name: string;
  config: Config;
  routes: FakeRoute[];
  /** Every request, as `METHOD /path?query` (decoded), sorted. */
  requests: string[];
  rows: Record<string, number>;
  /** Further checks on what the API saw and what was loaded. */
  check?: (api: FakeApi, p: Pipeline) => Promise<void> | void;
}

const get = (path: string | RegExp, json: (r: FakeRequest) => unknown): FakeRoute => ({
  path,
  handler: (r) => ({ json: json(r) }),
});
const post = (path: string | RegExp, json: (r: FakeRequest) => unknown): FakeRoute => ({
  path,
  method: "POST",
  handler: (r) => ({ json: json(r) }),
});
const POSTS = [
  { id: 1, title: "one", updated_at: "2024-02-01T00:00:00Z" },
  { id: 2, title: "two", updated_at: "2024-03-01T00:00:00Z" },
];
const COMMENTS = /\/posts\/(?<id>\d+)\/comments/;
const comments = get(COMMENTS, (r) => {
  const id = Number(pathParams(COMMENTS, r.path).id);
  return [{ id: id * 10 + 1 }, { id: id * 10 + 2 }];
});
const posts = get("/posts", () => POSTS);
const header = (api: FakeApi, path: string, name: string) => api.requestsTo(path).map((r) => r.headers[name]);
const repositories = () =>
  resource({ name: "repositories", selected: false }, function* () {
    yield [{ name: "dlt" }, { name: "verified-sources" }];
  });
const ISSUES = /\/dlt-hub\/(?<repo>[\w-]+)\/issues\//;
const issues = get(ISSUES, (r) => [{ id: pathParams(ISSUES, r.path).repo?.length }]);

/** A custom paginator (dlt: a BasePaginator subclass): follows the page number in an `X-Next-Page` header. */
const headerPages = (): Paginator => ({
  name: "x_next_page",
  init: (request) => ({ ...request }),
  next: (response) => {
    const page = response.headers.get("x-next-page");
    return page ? { ...response.request, params: { ...response.request.params, page } } : undefined;
  },
});
const paged = (path: string | RegExp, rows: (r: FakeRequest) => unknown[]): FakeRoute => ({
  path,
  handler: (r) =>
    r.query.get("page")
      ? { json: rows(r).slice(1) }
      : { json: rows(r).slice(0, 1), headers: { "x-next-page": "2" } },
});

const CASES: ValidCase[] = [
  {
    name: "resolve param binds a path placeholder (dlt's legacy syntax)",
    config: {
      resources: [
        "posts",
        {
          name: "post_comments",
          endpoint: {
            path: "posts/{post_id}/comments",
            params: { post_id: { type: "resolve", resource: "posts", field: "id" } },
          },
        },
      ],
    },
    routes: [posts, comments],
    requests: ["GET /posts", "GET /posts/1/comments", "GET /posts/2/comments"],
    rows: { posts: 2, post_comments: 4 },
  },
  {
    name: "{resources.posts.id} in the path",
    config: {
      resources: [
        "posts",
        { name: "post_comments", endpoint: { path: "posts/{resources.posts.id}/comments" } },
      ],
    },
    routes: [posts, comments],
    requests: ["GET /posts", "GET /posts/1/comments", "GET /posts/2/comments"],
    rows: { posts: 2, post_comments: 4 },
  },
  {
    name: "an endpoint given as a path string",
    config: {
      resources: ["posts", { name: "post_comments", endpoint: "posts/{resources.posts.id}/comments" }],
    },
    routes: [posts, comments],
    requests: ["GET /posts", "GET /posts/1/comments", "GET /posts/2/comments"],
    rows: { posts: 2, post_comments: 4 },
  },
  {
    name: "json_link paginator with a limit param",
    config: {
      resources: [
        { name: "posts", endpoint: { path: "posts", params: { limit: 100 }, paginator: "json_link" } },
      ],
    },
    routes: [
      get("/posts", (r) =>
        r.query.get("page") === "2"
          ? { data: [POSTS[1]], next: null }
          : { data: [POSTS[0]], next: "/posts?page=2" },
      ),
    ],
    requests: ["GET /posts?limit=100", "GET /posts?page=2"],
    rows: { posts: 2 },
  },
  {
    name: "json_response, dlt's older name of json_link",
    config: {
      resources: [
        { name: "posts", endpoint: { paginator: { type: "json_response", next_url_path: "more" } } },
      ],
    },
    routes: [
      get("/posts", (r) => (r.query.get("p") ? [POSTS[1]] : { results: [POSTS[0]], more: "/posts?p=2" })),
    ],
    requests: ["GET /posts", "GET /posts?p=2"],
    rows: { posts: 2 },
  },
  {
    name: "bearer auth with a type",
    config: { client: { auth: { type: "bearer", token: "X" } }, resources: ["users"] },
    routes: [get("/users", () => [{ id: 1 }])],
    requests: ["GET /users"],
    rows: { users: 1 },
    check: (api) => assert.deepEqual(header(api, "/users", "authorization"), ["Bearer X"]),
  },
  {
    name: "a token without a type is bearer auth",
    config: { client: { auth: { token: "X" } }, resources: ["users"] },
    routes: [get("/users", () => [{ id: 1 }])],
    requests: ["GET /users"],
    rows: { users: 1 },
    check: (api) => assert.deepEqual(header(api, "/users", "authorization"), ["Bearer X"]),
  },
  {
    name: "auth: null sends no credentials",
    config: { client: { auth: null }, resources: ["users"] },
    routes: [get("/users", () => [{ id: 1 }])],
    requests: ["GET /users"],
    rows: { users: 1 },
    check: (api) => assert.deepEqual(header(api, "/users", "authorization"), [undefined]),
  },
  {
    name: "http_basic with an empty password and the header_link paginator",
    config: {
      client: { paginator: "header_link", auth: { type: "http_basic", username: "my-secret", password: "" } },
      resources: ["users"],
    },
    routes: [
      {
        path: "/users",
        handler: (r) =>
          r.query.get("page")
            ? { json: [{ id: 2 }] }
            : { json: [{ id: 1 }], headers: { link: '</users?page=2>; rel="next"' } },
      },
    ],
    requests: ["GET /users", "GET /users?page=2"],
    rows: { users: 2 },
    check: (api) =>
      assert.deepEqual(header(api, "/users", "authorization"), [
        `Basic ${Buffer.from("my-secret:").toString("base64")}`,
        `Basic ${Buffer.from("my-secret:").toString("base64")}`,
      ]),
  },
  {
    name: "endpoint auth (http_basic with an empty username) instead of the client's bearer",
    config: {
      client: { auth: { token: "client-token" } },
      resources: [
        "users",
        {
          name: "repos",
          endpoint: {
            path: "user/repos",
            auth: { type: "http_basic", username: "", password: "BASIC_AUTH_TOKEN" },
          },
        },
      ],
    },
    routes: [get("/users", () => [{ id: 1 }]), get("/user/repos", () => [{ id: 7 }])],
    requests: ["GET /user/repos", "GET /users"],
    rows: { users: 1, repos: 1 },
    check: (api) => {
      assert.deepEqual(header(api, "/users", "authorization"), ["Bearer client-token"]);
      assert.deepEqual(header(api, "/user/repos", "authorization"), [
        `Basic ${Buffer.from(":BASIC_AUTH_TOKEN").toString("base64")}`,
      ]);
    },
  },
  {
    name: "a params incremental sends the initial value as the param",
    config: {
      resources: [
        {
          name: "posts",
          endpoint: {
            params: {
              limit: 100,
              since: {
                type: "incremental",
                cursor_path: "updated_at",
                initial_value: "2024-01-25T11:21:28Z",
              },
            },
            paginator: "json_link",
          },
        },
      ],
    },
    routes: [get("/posts", () => ({ data: POSTS, next: null }))],
    requests: ["GET /posts?limit=100&since=2024-01-25T11:21:28Z"],
    rows: { posts: 2 },
  },
  {
    name: "endpoint.incremental with start_param and end_param (no end value: no end param)",
    config: {
      resources: [
        {
          name: "posts",
          endpoint: {
            params: { limit: 100 },
            paginator: "json_link",
            incremental: {
              start_param: "since",
              end_param: "until",
              cursor_path: "updated_at",
              initial_value: "2024-01-25T11:21:28Z",
            },
          },
        },
      ],
    },
    routes: [get("/posts", () => ({ data: POSTS, next: null }))],
    requests: ["GET /posts?limit=100&since=2024-01-25T11:21:28Z"],
    rows: { posts: 2 },
  },
  {
    name: "client headers; a name, a name object and an endpoint string",
    config: {
      client: { headers: { "X-Test-Header": "test42" } },
      resources: ["users", { name: "users_2" }, { name: "users_list", endpoint: "users_list" }],
    },
    routes: ["/users", "/users_2", "/users_list"].map((p) => get(p, () => [{ id: 1 }])),
    requests: ["GET /users", "GET /users_2", "GET /users_list"],
    rows: { users: 1, users_2: 1, users_list: 1 },
    check: (api) =>
      assert.deepEqual(
        api.requests.map((r) => r.headers["x-test-header"]),
        ["test42", "test42", "test42"],
      ),
  },
  {
    name: "table_name as a function of the record",
    config: {
      resources: [
        "posts",
        {
          name: "post_comments",
          table_name: (item) => `comments_${(item as { kind: string }).kind}`,
          endpoint: {
            path: "posts/{post_id}/comments",
            params: { post_id: { type: "resolve", resource: "posts", field: "id" } },
          },
        },
      ],
    },
    routes: [
      posts,
      get(COMMENTS, (r) => [{ id: 1, kind: pathParams(COMMENTS, r.path).id === "1" ? "a" : "b" }]),
    ],
    requests: ["GET /posts", "GET /posts/1/comments", "GET /posts/2/comments"],
    rows: { posts: 2, comments_a: 1, comments_b: 1 },
  },
  {
    name: "plain params fill {org}/{repo} in the path and leave the query",
    config: {
      client: {},
      resources: [
        {
          name: "issues",
          endpoint: { path: "{org}/{repo}/issues/", params: { org: "dlt-hub", repo: "dlt", state: "open" } },
        },
        {
          name: "comments",
          endpoint: {
            path: "{org}/{repo}/issues/{id}/comments",
            params: { org: "dlt-hub", repo: "dlt", id: { type: "resolve", resource: "issues", field: "id" } },
          },
        },
      ],
    },
    routes: [
      get("/dlt-hub/dlt/issues/", () => [{ id: 5 }, { id: 6 }]),
      get(/\/dlt-hub\/dlt\/issues\/\d+\/comments/, () => [{ id: 1 }]),
    ],
    requests: [
      "GET /dlt-hub/dlt/issues/5/comments",
      "GET /dlt-hub/dlt/issues/6/comments",
      "GET /dlt-hub/dlt/issues/?state=open",
    ],
    rows: { issues: 2, comments: 2 },
  },
  {
    name: "a ferry resource as the parent of a resolve param (not loaded: selected false)",
    config: {
      resources: [
        {
          name: "issues",
          endpoint: {
            path: "dlt-hub/{repository}/issues/",
            params: { repository: { type: "resolve", resource: "repositories", field: "name" } },
          },
        },
        repositories(),
      ],
    },
    routes: [issues],
    requests: ["GET /dlt-hub/dlt/issues/", "GET /dlt-hub/verified-sources/issues/"],
    rows: { issues: 2 },
  },
  {
    name: "a ferry resource as the parent of {resources.repositories.name}",
    config: {
      resources: [
        { name: "issues", endpoint: "dlt-hub/{resources.repositories.name}/issues/" },
        repositories(),
      ],
    },
    routes: [issues],
    requests: ["GET /dlt-hub/dlt/issues/", "GET /dlt-hub/verified-sources/issues/"],
    rows: { issues: 2 },
  },
  {
    name: "two resolve params from one parent; a dependent of a dependent",
    config: {
      resources: [
        "groups",
        {
          name: "users",
          endpoint: {
            path: "groups/{group_id}/users",
            params: { group_id: { type: "resolve", resource: "groups", field: "id" } },
          },
        },
        {
          name: "user_details",
          endpoint: {
            path: "groups/{group_id}/users/{user_id}/details",
            params: {
              group_id: { type: "resolve", resource: "users", field: "group_id" },
              user_id: { type: "resolve", resource: "users", field: "id" },
            },
          },
        },
      ],
    },
    routes: [
      get("/groups", () => [{ id: 1 }]),
      get("/groups/1/users", () => [
        { id: 7, group_id: 1 },
        { id: 8, group_id: 1 },
      ]),
      get(/\/groups\/1\/users\/\d+\/details/, (r) => ({ id: r.path, role: "admin" })),
    ],
    requests: [
      "GET /groups",
      "GET /groups/1/users",
      "GET /groups/1/users/7/details",
      "GET /groups/1/users/8/details",
    ],
    rows: { groups: 1, users: 2, user_details: 2 },
  },
  {
    name: "a resolve field as a JSONPath into the parent record",
    config: {
      resources: [
        "things",
        {
          name: "detail",
          endpoint: {
            path: "things/{tid}",
            params: { tid: { type: "resolve", resource: "things", field: "refs[0].id" } },
          },
        },
      ],
    },
    routes: [
      get("/things", () => [{ id: 1, refs: [{ id: "a1" }, { id: "a2" }] }]),
      get("/things/a1", () => ({ id: "a1" })),
    ],
    requests: ["GET /things", "GET /things/a1"],
    rows: { things: 1, things__refs: 2, detail: 1 },
  },
  {
    name: "a single-entity path takes the whole body and never follows the client's paginator",
    config: {
      client: { paginator: "json_link" },
      resources: ["users", { name: "user", endpoint: { path: "user/{resources.users.id}" } }],
    },
    routes: [
      get("/users", () => ({ data: [{ id: 1 }, { id: 2 }], next: null })),
      get(/\/user\/\d+/, (r) => ({ id: r.path, data: [1, 2], next: `${r.path}?page=2` })),
    ],
    requests: ["GET /user/1", "GET /user/2", "GET /users"],
    rows: { users: 2, user: 2, user__data: 4 },
  },
  {
    name: "paginator: null and data_selector: null reset the defaults to the client's paginator and auto-detection",
    config: {
      client: { paginator: "json_link" },
      resource_defaults: { endpoint: { paginator: "single_page", data_selector: "items" } },
      resources: ["a", { name: "b", endpoint: { paginator: null, data_selector: null } }],
    },
    routes: [
      get("/a", () => ({ items: [{ id: 1 }], results: [{ id: 9 }], next: "/a?p=2" })),
      get("/b", (r) =>
        r.query.get("p") ? { results: [{ id: 2 }], next: null } : { results: [{ id: 1 }], next: "/b?p=2" },
      ),
    ],
    requests: ["GET /a", "GET /b", "GET /b?p=2"],
    rows: { a: 1, b: 2 },
  },
  {
    name: "resource_defaults params merge key by key (the resource's win); headers are the resource's",
    config: {
      resource_defaults: {
        primary_key: "id",
        endpoint: { params: { per_page: 30, state: "all" }, headers: { "X-A": "1" } },
      },
      resources: [
        "a",
        { name: "b", endpoint: { params: { per_page: 50, sort: "updated" }, headers: { "X-B": "2" } } },
      ],
    },
    routes: [get("/a", () => [{ id: 1 }]), get("/b", () => [{ id: 1 }])],
    requests: ["GET /a?per_page=30&state=all", "GET /b?per_page=50&state=all&sort=updated"],
    rows: { a: 1, b: 1 },
    check: (api) => {
      assert.deepEqual(
        [api.requestsTo("/b")[0]?.headers["x-a"], api.requestsTo("/b")[0]?.headers["x-b"]],
        [undefined, "2"],
      );
    },
  },
  {
    name: "escaped braces reach the API as single braces in params, headers and JSON bodies",
    config: {
      resources: [
        "artists",
        {
          name: "search",
          endpoint: {
            path: "search",
            method: "POST",
            params: { search: "{{'filters': [{{'id': 42}}]}}" },
            headers: { "X-Filter": "{{a}}" },
            json: {
              query: 'query {{ artist(id: "{resources.artists.id}") {{ id }} }}',
              id: "{resources.artists.id}",
            },
          },
        },
      ],
    },
    routes: [get("/artists", () => [{ id: 3 }]), post("/search", (r) => [{ got: r.json() }])],
    requests: ["GET /artists", "POST /search?search={'filters': [{'id': 42}]}"],
    rows: { artists: 1, search: 1 },
    check: (api) => {
      const r = api.requestsTo("/search")[0];
      assert.equal(r?.headers["x-filter"], "{a}");
      assert.deepEqual(r?.json(), { query: 'query { artist(id: "3") { id } }', id: 3 });
    },
  },
  {
    name: "{incremental.initial_value}, {incremental.lag} and {incremental.start_value} are filled",
    config: {
      resources: [
        {
          name: "events",
          endpoint: {
            params: {
              from: "{incremental.initial_value}",
              lag: "{incremental.lag}",
              since: "{incremental.start_value}",
            },
            headers: { "X-Cursor": "{incremental.cursor_path}" },
            incremental: { cursor_path: "ts", initial_value: "2024-01-01T00:00:00Z", lag: 3600 },
          },
        },
      ],
    },
    routes: [get("/events", () => [{ id: 1, ts: "2024-05-01T00:00:00Z" }])],
    requests: ["GET /events?from=2024-01-01T00:00:00Z&lag=3600&since=2024-01-01T00:00:00Z"],
    rows: { events: 1 },
    check: (api) => assert.equal(api.requestsTo("/events")[0]?.headers["x-cursor"], "ts"),
  },
  {
    name: "next_url_path in bracket notation (Microsoft Graph's @odata.nextLink) is followed",
    config: {
      resources: [
        {
          name: "users",
          endpoint: {
            data_selector: "value",
            paginator: { type: "json_link", next_url_path: "['@odata.nextLink']" },
          },
        },
      ],
    },
    routes: [
      get("/users", (r) =>
        r.query.get("$skip")
          ? { value: [{ id: 2 }] }
          : { value: [{ id: 1 }], "@odata.nextLink": "/users?$skip=1" },
      ),
    ],
    requests: ["GET /users", "GET /users?$skip=1"],
    rows: { users: 2 },
  },
  {
    name: "data: a form body and a raw body on POST",
    config: {
      resources: [
        "posts",
        {
          name: "form",
          endpoint: {
            path: "form",
            method: "POST",
            data: { q: "{resources.posts.title}", tags: ["a", "b"] },
          },
        },
        { name: "raw", endpoint: { path: "raw", method: "POST", data: "id={resources.posts.id}" } },
      ],
    },
    routes: [
      posts,
      post("/form", (r) => [{ body: r.body, type: r.headers["content-type"] }]),
      post("/raw", (r) => [{ body: r.body }]),
    ],
    requests: ["GET /posts", "POST /form", "POST /form", "POST /raw", "POST /raw"],
    rows: { posts: 2, form: 2, raw: 2 },
    check: (api) => {
      assert.deepEqual(
        api
          .requestsTo("/form")
          .map((r) => r.body)
          .sort(),
        ["q=one&tags=a&tags=b", "q=two&tags=a&tags=b"],
      );
      assert.equal(api.requestsTo("/form")[0]?.headers["content-type"], "application/x-www-form-urlencoded");
      assert.deepEqual(
        api
          .requestsTo("/raw")
          .map((r) => r.body)
          .sort(),
        ["id=1", "id=2"],
      );
    },
  },
  {
    name: "offset paginator with the offset and limit in the JSON body",
    config: {
      resources: [
        {
          name: "found",
          endpoint: {
            path: "search",
            method: "POST",
            json: { query: "x" },
            paginator: {
              type: "offset",
              limit: 2,
              offset_body_path: "page.offset",
              limit_body_path: "page.limit",
              total_path: "total",
            },
          },
        },
      ],
    },
    routes: [
      post("/search", (r) => {
        const { offset } = (r.json() as { page: { offset: number } }).page;
        return { items: [{ id: offset + 1 }, { id: offset + 2 }].filter((x) => x.id <= 3), total: 3 };
      }),
    ],
    requests: ["POST /search", "POST /search"],
    rows: { found: 3 },
    check: (api) =>
      assert.deepEqual(
        api.requestsTo("/search").map((r) => r.json()),
        [
          { query: "x", page: { offset: 0, limit: 2 } },
          { query: "x", page: { offset: 2, limit: 2 } },
        ],
      ),
  },
  {
    name: "cursor paginator stops when has_more_path is false",
    config: {
      resources: [
        {
          name: "items",
          endpoint: { paginator: { type: "cursor", cursor_path: "next", has_more_path: "more" } },
        },
      ],
    },
    routes: [
      get("/items", (r) =>
        r.query.get("cursor")
          ? { items: [{ id: 2 }], next: "c2", more: false }
          : { items: [{ id: 1 }], next: "c1", more: true },
      ),
    ],
    requests: ["GET /items", "GET /items?cursor=c1"],
    rows: { items: 2 },
  },
  {
    name: "a list param repeats the parameter",
    config: { resources: [{ name: "items", endpoint: { params: { ids: [1, 2], state: "open" } } }] },
    routes: [get("/items", (r) => r.query.getAll("ids").map((id) => ({ id: Number(id) })))],
    requests: ["GET /items?ids=1&ids=2&state=open"],
    rows: { items: 2 },
  },
  {
    name: "processing steps: filter, map and yield_map, in order",
    config: {
      resources: [
        {
          name: "posts",
          processing_steps: [
            { filter: (x) => (x as { id: number }).id < 3 },
            {
              map: (x) => ({ ...(x as object), title: String((x as { title: string }).title).toUpperCase() }),
            },
            { yield_map: (x) => [1, 2].map((n) => ({ ...(x as object), n })) },
          ],
        },
      ],
    },
    routes: [get("/posts", () => [...POSTS, { id: 3, title: "three" }])],
    requests: ["GET /posts"],
    rows: { posts: 4 },
    check: async (_api, p) =>
      assert.deepEqual(await p.dataset().sql("select id, title, n from posts order by id, n"), [
        { id: 1, title: "ONE", n: 1 },
        { id: 1, title: "ONE", n: 2 },
        { id: 2, title: "TWO", n: 1 },
        { id: 2, title: "TWO", n: 2 },
      ]),
  },
  {
    name: "column hints as a list with names, and as a mapping with names",
    config: {
      resources: [
        { name: "a", columns: [{ name: "amount", data_type: "decimal", precision: 10, scale: 2 }] },
        { name: "b", columns: { amount: { name: "amount", data_type: "text" } } },
      ],
    },
    routes: [get("/a", () => [{ amount: 1.5 }]), get("/b", () => [{ amount: 2 }])],
    requests: ["GET /a", "GET /b"],
    rows: { a: 1, b: 1 },
    check: async (_api, p) => {
      const types = await p
        .dataset()
        .sql(
          "select table_name, data_type from information_schema.columns where column_name = 'amount' order by 1",
        );
      assert.deepEqual(types, [
        { table_name: "a", data_type: "DECIMAL(10,2)" },
        { table_name: "b", data_type: "VARCHAR" },
      ]);
    },
  },
  {
    name: "custom paginators: an object for a resource, a function for a dependent one; custom auth",
    config: {
      client: {
        auth: {
          apply: async (r) => {
            r.headers = { ...r.headers, "X-Sig": "signed" };
          },
          secrets: () => [],
        },
      },
      resources: [
        { name: "posts", endpoint: { paginator: headerPages() } },
        {
          name: "post_comments",
          endpoint: { path: "posts/{resources.posts.id}/comments", paginator: headerPages },
        },
      ],
    },
    routes: [paged("/posts", () => POSTS), paged(COMMENTS, () => [{ id: 1 }, { id: 2 }])],
    requests: [
      "GET /posts",
      "GET /posts?page=2",
      "GET /posts/1/comments",
      "GET /posts/1/comments?page=2",
      "GET /posts/2/comments",
      "GET /posts/2/comments?page=2",
    ],
    rows: { posts: 2, post_comments: 4 },
    check: (api) =>
      assert.deepEqual(new Set(api.requests.map((r) => r.headers["x-sig"])), new Set(["signed"])),
  },
  {
    name: "parallelized: false requests the children of one parent record at a time",
    config: {
      resources: [
        { name: "posts", endpoint: { paginator: "single_page" } },
        { name: "post_comments", parallelized: false, endpoint: "posts/{resources.posts.id}/comments" },
      ],
    },
    routes: [
      get("/posts", () => [1, 2, 3, 4].map((id) => ({ id }))),
      { path: COMMENTS, handler: () => ({ json: [{ id: 1 }], delayMs: 5 }) },
    ],
    requests: ["GET /posts", ...[1, 2, 3, 4].map((id) => `GET /posts/${id}/comments`)],
    rows: { posts: 4, post_comments: 4 },
    check: (api) => assert.equal(api.maxInFlight, 1),
  },
  {
    name: "merge with the upsert strategy, parallelized children and table_format native",
    config: {
      resources: [
        {
          name: "posts",
          primary_key: "id",
          write_disposition: { disposition: "merge", strategy: "upsert" },
          table_format: "native",
        },
        { name: "post_comments", parallelized: true, endpoint: "posts/{resources.posts.id}/comments" },
      ],
    },
    routes: [posts, comments],
    requests: ["GET /posts", "GET /posts/1/comments", "GET /posts/2/comments"],
    rows: { posts: 2, post_comments: 4 },
  },
];

describe("dlt's rest_api configurations run as dlt runs them", () => {
  for (const c of CASES) {
    test(c.name, () =>
      withApi(c.routes, (api) =>
        withPipeline("dltvalid", async ({ p }) => {
          const info = await runRest(p, api, c.config);
          assert.deepEqual(sent(api).sort(), [...c.requests].sort());
          assert.deepEqual(info.rows, c.rows);
          await c.check?.(api, p);
        }),
      ),
    );
  }
});
