import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { FakeApi, pathParams } from "../../src/testing/index.js";
import { ensureBuilt, ferryAsync } from "../helpers/cli.js";
import { runRest, sent, withApi, withPipeline } from "../helpers/rest-api.js";

// dlt's `params` bindings, as dlt's users write them: `type: resolve` (a dependent resource) and
// `type: incremental` (the first form dlt's documentation shows), and `auth: { token }` without a type.

type Config = Parameters<typeof runRest>[2];

const ISSUES = [
  { id: 1, number: 11, updated_at: "2024-02-01T00:00:00Z" },
  { id: 2, number: 12, updated_at: "2024-03-01T00:00:00Z" },
];
const COMMENTS = /\/issues\/(?<n>\d+)\/comments/;
const commentsOf = (path: string) => {
  const n = Number(pathParams(COMMENTS, path).n);
  return [{ id: n * 100 + 1, body: `on ${n}` }];
};

describe("params of type resolve", () => {
  test("fill the path placeholder from the parent and never reach the query", () =>
    withApi(
      [
        { path: "/issues", handler: () => ({ json: ISSUES }) },
        { path: COMMENTS, handler: (r) => ({ json: commentsOf(r.path) }) },
      ],
      (api) =>
        withPipeline("resolve", async ({ p }) => {
          const info = await runRest(p, api, {
            resources: [
              "issues",
              {
                name: "comments",
                endpoint: {
                  path: "issues/{issue_number}/comments",
                  params: {
                    issue_number: { type: "resolve", resource: "issues", field: "number" },
                    per_page: 50,
                  },
                },
                include_from_parent: ["id"],
              },
            ],
          });
          assert.deepEqual(sent(api).sort(), [
            "GET /issues",
            "GET /issues/11/comments?per_page=50",
            "GET /issues/12/comments?per_page=50",
          ]);
          assert.deepEqual(info.rows, { issues: 2, comments: 2 });
          assert.deepEqual(await p.dataset().sql("select id, body, _issues_id from comments order by id"), [
            { id: 1101, body: "on 11", _issues_id: 1 },
            { id: 1201, body: "on 12", _issues_id: 2 },
          ]);
        }),
    ));

  test("their names also fill query, header and body placeholders", () =>
    withApi(
      [
        { path: "/issues", handler: () => ({ json: ISSUES }) },
        {
          path: "/search",
          method: "POST",
          handler: (r) => ({ json: [{ q: r.query.get("q"), body: r.json() }] }),
        },
      ],
      (api) =>
        withPipeline("resolvequery", async ({ p }) => {
          await runRest(p, api, {
            resources: [
              "issues",
              {
                name: "found",
                endpoint: {
                  path: "search",
                  method: "POST",
                  params: { n: { type: "resolve", resource: "issues", field: "number" }, q: "issue:{n}" },
                  headers: { "X-Issue": "{n}" },
                  json: { number: "{n}" },
                },
              },
            ],
          });
          assert.deepEqual(sent(api).sort(), [
            "GET /issues",
            "POST /search?q=issue:11",
            "POST /search?q=issue:12",
          ]);
          assert.deepEqual(
            api
              .requestsTo("/search")
              .map((r) => [r.headers["x-issue"], r.json()])
              .sort(),
            [
              ["11", { number: 11 }],
              ["12", { number: 12 }],
            ],
          );
        }),
    ));

  test("a parent record without the field fails the run naming the field and the parent's fields", () =>
    withApi([{ path: "/issues", handler: () => ({ json: [{ id: 1, title: "no number" }] }) }], (api) =>
      withPipeline("resolvemissing", async ({ p }) => {
        await assert.rejects(
          runRest(p, api, {
            resources: [
              "issues",
              {
                name: "comments",
                endpoint: {
                  path: "issues/{issue_number}/comments",
                  params: { issue_number: { type: "resolve", resource: "issues", field: "number" } },
                },
              },
            ],
          }),
          {
            message:
              'resource "comments": placeholder {issue_number} has no value in the parent record (the "issues" record has id, title)',
          },
        );
        assert.deepEqual(sent(api), ["GET /issues"]);
      }),
    ));
});

describe("params of type incremental", () => {
  const updates = (since: string | null) =>
    [...ISSUES, { id: 3, number: 13, updated_at: "2024-04-01T00:00:00Z" }].filter(
      (i) => since === null || i.updated_at >= since,
    );

  test("the param starts at initial_value, then at the stored cursor; older records are not loaded twice", () =>
    withApi(
      [{ path: "/issues", handler: (r) => ({ json: updates(r.query.get("since")).slice(0, 2) }) }],
      (api) =>
        withPipeline("incparam", async ({ p }) => {
          const config: Config = {
            resources: [
              {
                name: "issues",
                primary_key: "id",
                endpoint: {
                  params: {
                    state: "all",
                    since: {
                      type: "incremental" as const,
                      cursor_path: "updated_at",
                      initial_value: "2024-01-01T00:00:00Z",
                    },
                  },
                },
              },
            ],
          };
          assert.deepEqual((await runRest(p, api, config)).rows, { issues: 2 });
          const second = await runRest(p, api, config);
          assert.deepEqual(sent(api), [
            "GET /issues?state=all&since=2024-01-01T00:00:00Z",
            "GET /issues?state=all&since=2024-03-01T00:00:00Z",
          ]);
          // The second answer repeats the boundary record (id 2): only id 3 is new.
          assert.deepEqual(second.rows, { issues: 1 });
          assert.deepEqual(await p.dataset().sql("select id from issues order by id"), [
            { id: 1 },
            { id: 2 },
            { id: 3 },
          ]);
        }),
    ));

  test("lag re-reads a window before the stored cursor; convert shapes the value the API gets", () =>
    withApi(
      [
        { path: "/issues", handler: () => ({ json: ISSUES }) },
        {
          path: "/events",
          handler: () => ({
            json: [
              { id: 1, ts: 1706745600 },
              { id: 2, ts: 1709251200 },
            ],
          }),
        },
      ],
      (api) =>
        withPipeline("inclag", async ({ p }) => {
          const config: Config = {
            resources: [
              {
                name: "issues",
                endpoint: {
                  params: {
                    since: {
                      type: "incremental" as const,
                      cursor_path: "updated_at",
                      initial_value: "2024-01-01T00:00:00Z",
                      lag: 86400,
                    },
                  },
                },
              },
              {
                name: "events",
                endpoint: {
                  params: {
                    after: {
                      type: "incremental" as const,
                      cursor_path: "ts",
                      initial_value: 1704067200,
                      convert: (epoch: unknown) => new Date(Number(epoch) * 1000).toISOString().slice(0, 10),
                    },
                  },
                },
              },
            ],
          };
          await runRest(p, api, config);
          await runRest(p, api, config);
          assert.deepEqual(sent(api).sort(), [
            "GET /events?after=2024-01-01",
            "GET /events?after=2024-03-01",
            "GET /issues?since=2024-01-01T00:00:00Z",
            "GET /issues?since=2024-02-29T00:00:00.000Z",
          ]);
        }),
    ));

  test("a YAML spec as dlt's users write it: bare token, resolve and incremental params (CLI, two runs)", async () => {
    ensureBuilt();
    const api = await FakeApi.start([
      { path: "/issues", handler: (r) => ({ json: updates(r.query.get("since")) }) },
      { path: COMMENTS, handler: (r) => ({ json: commentsOf(r.path) }) },
    ]);
    const cwd = mkdtempSync(join(tmpdir(), "ferry-dltspec-"));
    try {
      const db = join(cwd, "gh.duckdb");
      writeFileSync(
        join(cwd, "spec.yaml"),
        `pipeline: { name: gh, destination: "duckdb:${db}", dataset: gh }
source:
  type: rest_api
  client:
    base_url: ${api.url}
    auth:
      token: "\${env:GH_TOKEN}"
  resource_defaults:
    primary_key: id
    write_disposition: merge
    endpoint:
      params:
        per_page: 100
  resources:
    - name: issues
      endpoint:
        path: issues
        params:
          sort: updated
          since:
            type: incremental
            cursor_path: updated_at
            initial_value: "2024-01-25T11:21:28Z"
    - name: issue_comments
      endpoint:
        path: "issues/{issue_number}/comments"
        params:
          issue_number:
            type: resolve
            resource: issues
            field: number
      include_from_parent: [id]
`,
      );
      for (let run = 1; run <= 2; run++) {
        const r = await ferryAsync(["run", "spec.yaml", "--dir", "wd"], cwd, { GH_TOKEN: "t-123" });
        assert.equal(r.status, 0, r.stderr);
      }
      const expected = [
        "GET /issues?per_page=100&sort=updated&since=2024-01-25T11:21:28Z",
        "GET /issues/11/comments?per_page=100",
        "GET /issues/12/comments?per_page=100",
        "GET /issues/13/comments?per_page=100",
        "GET /issues?per_page=100&sort=updated&since=2024-04-01T00:00:00Z",
      ];
      assert.deepEqual([...sent(api)].sort(), [...expected].sort());
      assert.deepEqual(new Set(api.requests.map((q) => q.headers.authorization)), new Set(["Bearer t-123"]));
      const reader = pipeline({
        name: "reader",
        destination: `duckdb:${db}`,
        dataset: "gh",
        dir: join(cwd, "r"),
        logger: silentLogger,
      });
      assert.deepEqual(await reader.dataset().sql("select count(*) as n from issues"), [{ n: 3 }]);
      assert.deepEqual(await reader.dataset().sql("select _issues_id, id from issue_comments order by id"), [
        { _issues_id: 1, id: 1101 },
        { _issues_id: 2, id: 1201 },
        { _issues_id: 3, id: 1301 },
      ]);
    } finally {
      await api.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe("building a source", () => {
  let api: FakeApi;
  before(async () => {
    api = await FakeApi.start([{ path: "/issues", handler: () => ({ json: ISSUES }) }]);
  });
  after(() => api.close());

  test("leaves the config as it was (dlt's test_configurations_dict_is_not_modified_in_place)", () => {
    const config = {
      client: { base_url: api.url },
      resource_defaults: { endpoint: { params: { per_page: 30 } } },
      resources: [
        {
          name: "issues",
          endpoint: {
            path: "{org}/issues",
            params: { org: "acme", since: { type: "incremental" as const, cursor_path: "u" } },
          },
        },
      ],
    };
    const copy = structuredClone(config);
    restApiSource(config);
    assert.deepEqual(config, copy);
  });
});
