import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";
import { type RestApiConfig, restApiSource } from "../../src/sources/rest-api/index.js";
import { FakeApi, pathParams } from "../../src/testing/index.js";
import { ConfigError } from "../../src/util/errors.js";
import { ensureBuilt, ferryAsync } from "../helpers/cli.js";
import { runRest, sent, withApi, withPipeline } from "../helpers/rest-api.js";

const HINT = "fix the keys named above (options follow dlt's rest_api names)";
const CLIENT = { base_url: "http://127.0.0.1:9" };

/** Asserts that the config is refused with exactly these problems, in this order. */
function refused(config: unknown, problems: string[]): void {
  assert.throws(
    () => restApiSource(config as RestApiConfig),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, `invalid rest_api config:\n  ${problems.join("\n  ")}`);
      assert.equal(e.hint, HINT);
      return true;
    },
  );
}

describe("rest_api config errors name the path", () => {
  const PAGINATORS = "json_link, header_link, offset, page_number, cursor, header_cursor, single_page, auto";
  const cases: Array<[string, unknown, string]> = [
    [
      "unknown key",
      { client: CLIENT, resources: [{ name: "a", endpoint: { path: "a", pagintor: "auto" } }] },
      "config.resources[0].endpoint.pagintor: unknown key; allowed: path, method, params, json, data, headers, data_selector, paginator, response_actions, incremental, auth",
    ],
    [
      "wrong type",
      { client: { ...CLIENT, timeout: "30" }, resources: ["a"] },
      'config.client.timeout: expected a number, got string "30"',
    ],
    [
      "paginator type",
      { client: { ...CLIENT, paginator: { type: "pages" } }, resources: ["a"] },
      `config.client.paginator.type: "pages" is not one of ${PAGINATORS}`,
    ],
    [
      "paginator shorthand",
      { client: CLIENT, resources: [{ name: "a", endpoint: { paginator: "next_link" } }] },
      `config.resources[0].endpoint.paginator: "next_link" is not one of ${PAGINATORS}`,
    ],
    [
      "placeholder naming an unknown resource",
      {
        client: CLIENT,
        resources: ["issues", { name: "comments", endpoint: "issues/{resources.isues.id}/comments" }],
      },
      "config.resources[1].endpoint: {resources.isues.id} names no resource; resources: issues, comments",
    ],
    [
      "two parents",
      {
        client: CLIENT,
        resources: [
          "a",
          "b",
          { name: "c", endpoint: { path: "c/{resources.a.id}", params: { b: "{resources.b.id}" } } },
        ],
      },
      "config.resources[2].endpoint: a resource can depend on one parent, found a, b",
    ],
    [
      "include_from_parent without a parent",
      { client: CLIENT, resources: [{ name: "a", include_from_parent: ["id"] }] },
      "config.resources[0].include_from_parent: the resource has no parent ({resources.<parent>.<field>} placeholder)",
    ],
    [
      "{incremental.start_value} without incremental",
      {
        client: CLIENT,
        resources: [{ name: "a", endpoint: { params: { since: "{incremental.start_value}" } } }],
      },
      "config.resources[0].endpoint.params: uses {incremental.start_value} but the endpoint has no incremental (endpoint.incremental)",
    ],
    ["missing base_url", { client: {}, resources: ["a"] }, "config.client.base_url: is required"],
    [
      "offset without limit",
      { client: CLIENT, resources: [{ name: "a", endpoint: { paginator: { type: "offset" } } }] },
      "config.resources[0].endpoint.paginator.limit: is required",
    ],
    [
      "auth type",
      { client: { ...CLIENT, auth: { type: "oauth" } }, resources: ["a"] },
      'config.client.auth.type: "oauth" is not one of bearer, api_key, http_basic, oauth2_client_credentials',
    ],
    [
      "duplicate names",
      { client: CLIENT, resources: ["a", { name: "a" }] },
      'config.resources[1].name: "a" is used by two resources',
    ],
  ];
  for (const [name, config, problem] of cases) test(name, () => refused(config, [problem]));

  test("a dependency cycle is reported for each resource in it", () => {
    refused(
      {
        client: CLIENT,
        resources: [
          { name: "a", endpoint: "a/{resources.b.id}" },
          { name: "b", endpoint: "b/{resources.a.id}" },
        ],
      },
      [
        'config.resources[0]: dependency cycle through "a"',
        'config.resources[1]: dependency cycle through "b"',
      ],
    );
  });

  test("all problems, of shape and of references, come in one message", () => {
    refused(
      {
        client: { timeout: "30" },
        resources: [
          {
            name: "issues",
            endpoint: { path: "issues", pagintor: "auto", params: { since: "{incremental.start_value}" } },
          },
          { name: "comments", endpoint: "issues/{resources.isues.number}/comments" },
          { name: "labels", endpoint: { paginator: { type: "pages" } }, include_from_parent: ["id"] },
          { name: "events", endpoint: "x/{resources.issues.id}/{resources.labels.id}" },
          { name: "a", endpoint: "a/{resources.b.id}" },
          { name: "b", endpoint: "b/{resources.a.id}" },
          42,
        ],
      },
      [
        'config.client.timeout: expected a number, got string "30"',
        "config.client.base_url: is required",
        "config.resources[0].endpoint.pagintor: unknown key; allowed: path, method, params, json, data, headers, data_selector, paginator, response_actions, incremental, auth",
        'config.resources[2].endpoint.paginator.type: "pages" is not one of json_link, header_link, offset, page_number, cursor, header_cursor, single_page, auto',
        "config.resources[6]: expected a name, a resource object or a ferry resource, got number 42",
        "config.resources[0].endpoint.params: uses {incremental.start_value} but the endpoint has no incremental (endpoint.incremental)",
        "config.resources[2].include_from_parent: the resource has no parent ({resources.<parent>.<field>} placeholder)",
        "config.resources[3].endpoint: a resource can depend on one parent, found issues, labels",
        "config.resources[1].endpoint: {resources.isues.number} names no resource; resources: issues, comments, labels, events, a, b",
        'config.resources[4]: dependency cycle through "a"',
        'config.resources[5]: dependency cycle through "b"',
      ],
    );
  });

  test("a placeholder field missing in a parent record fails the run naming the resource and placeholder", async () => {
    await withApi(
      [{ path: "/users", handler: () => ({ json: [{ id: 1, login: "ann" }, { id: 2 }] }) }],
      (api) =>
        withPipeline("missing", async ({ p }) => {
          await assert.rejects(
            runRest(p, api, {
              resources: ["users", { name: "repos", endpoint: "users/{resources.users.login}/repos" }],
            }),
            (e: unknown) => {
              assert.ok(e instanceof ConfigError);
              assert.equal(
                e.message,
                'resource "repos": placeholder {resources.users.login} has no value in the parent record (the "users" record has id)',
              );
              return true;
            },
          );
          assert.deepEqual(sent(api).slice(0, 1), ["GET /users"]);
        }),
    );
  });
});

describe("ferry run <rest_api spec.yaml>", () => {
  const TOKEN = "tok-spec-secret-7731";
  const POSTS = /\/users\/(?<id>\d+)\/posts/;
  let api: FakeApi;
  let revoked = false;
  const tmps: string[] = [];
  before(async () => {
    ensureBuilt();
    api = await FakeApi.start([
      {
        path: "/users",
        handler: (r) =>
          revoked
            ? { status: 401, json: { message: `token ${r.headers.authorization} was revoked` } }
            : {
                json: [
                  { id: 1, login: "ann" },
                  { id: 2, login: "bob" },
                ],
              },
      },
      { path: POSTS, handler: (r) => ({ json: [{ id: Number(pathParams(POSTS, r.path).id) * 10 }] }) },
      { path: "/tags", handler: () => ({ json: { payload: { tags: [{ id: 1 }, { id: 2 }, { id: 3 }] } } }) },
    ]);
  });
  after(async () => {
    await api.close();
    for (const t of tmps) rmSync(t, { recursive: true, force: true });
  });

  /** A temp dir with spec.yaml; returns it and the DuckDB path. */
  function spec(): { cwd: string; db: string } {
    const cwd = mkdtempSync(join(tmpdir(), "ferry-restspec-"));
    tmps.push(cwd);
    const db = join(cwd, "rest.duckdb");
    writeFileSync(
      join(cwd, "spec.yaml"),
      `pipeline:
  name: restspec
  destination: duckdb:${db}
  dataset: api
source:
  type: rest_api
  client:
    base_url: ${api.url}
    auth: { type: bearer, token: "\${env:API_TOKEN}" }
  resource_defaults:
    primary_key: id
  resources:
    - users
    - name: posts
      endpoint:
        path: "users/{resources.users.id}/posts"
        paginator: single_page
      include_from_parent: [login]
    - name: tags
      endpoint: { path: tags, data_selector: payload.tags }
`,
    );
    return { cwd, db };
  }
  const tables = (db: string) =>
    pipeline({
      name: "reader",
      destination: `duckdb:${db}`,
      dataset: "api",
      dir: join(tmpdir(), "ferry-reader-unused"),
      logger: silentLogger,
    })
      .dataset()
      .sql(
        "select table_name from information_schema.tables where table_schema = 'api' and table_name not like '\\_ferry%' escape '\\' order by 1",
      )
      .then((rows) => rows.map((r) => r.table_name));
  const env = { API_TOKEN: TOKEN };

  test("runs every resource: exit 0, summary rows, the token sent as bearer", async () => {
    const { cwd, db } = spec();
    api.requests.length = 0;
    const r = await ferryAsync(["run", "spec.yaml", "--dir", "wd"], cwd, env);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `Pipeline restspec loaded 7 rows into duckdb:${db} (dataset api)`);
    assert.deepEqual(lines.slice(2, 6), ["  table  rows", "  posts  2", "  tags   3", "  users  2"]);
    assert.deepEqual(await tables(db), ["posts", "tags", "users"]);
    assert.deepEqual(new Set(api.requests.map((q) => q.headers.authorization)), new Set([`Bearer ${TOKEN}`]));
    assert.deepEqual(sent(api).sort(), [
      "GET /tags",
      "GET /users",
      "GET /users/1/posts",
      "GET /users/2/posts",
    ]);
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
  });

  test("--select runs only that resource; a child's parent is requested but not loaded", async () => {
    const one = spec();
    api.requests.length = 0;
    const r = await ferryAsync(["run", "spec.yaml", "--dir", "wd", "--select", "tags"], one.cwd, env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await tables(one.db), ["tags"]);
    assert.deepEqual(sent(api), ["GET /tags"]);

    const child = spec();
    api.requests.length = 0;
    const c = await ferryAsync(["run", "spec.yaml", "--dir", "wd", "--select", "posts"], child.cwd, env);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(await tables(child.db), ["posts"]);
    assert.deepEqual(sent(api).sort(), ["GET /users", "GET /users/1/posts", "GET /users/2/posts"]);
  });

  test("--select with an unknown resource exits 1 with a hint", async () => {
    const { cwd } = spec();
    api.requests.length = 0;
    const r = await ferryAsync(["run", "spec.yaml", "--dir", "wd", "--select", "nope"], cwd, env);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      'error: source "restspec" has no resource "nope"; it has users, posts, tags\n  hint: pass resource names of the source to --select\n',
    );
    assert.equal(api.requests.length, 0);
  });

  test("a 401 echoing the token: exit 1, status and URL shown, the token nowhere even with --verbose", async () => {
    const { cwd } = spec();
    revoked = true;
    try {
      const r = await ferryAsync(["--verbose", "run", "spec.yaml", "--dir", "wd"], cwd, env);
      assert.equal(r.status, 1);
      const lines = r.stderr.split("\n");
      const at = lines.findIndex((l) => l.startsWith("error: "));
      const message = `GET ${api.url}/users failed with status 401: {"message":"token Bearer *** was revoked"}`;
      assert.deepEqual(lines.slice(at, at + 4), [
        `error: ${message}`,
        "  where: resource=users",
        "  hint: check the credentials (auth) and their permissions",
        `HttpError: ${message}`,
      ]);
      assert.ok(lines.includes(`ferry debug users: GET ${api.url}/users (attempt 1)`), r.stderr);
      assert.ok(lines[at + 4]?.startsWith("    at "), "the stack follows");
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN), r.stderr);
    } finally {
      revoked = false;
    }
  });
});
