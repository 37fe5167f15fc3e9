import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { idStats, runRest, withApi, withPipeline } from "../helpers/rest-api.js";

const users = Array.from({ length: 6 }, (_, i) => ({ id: i + 1, updated_at: `2024-01-0${i + 1}T00:00:00Z` }));

describe("rest api safety", () => {
  test("a parent that only feeds a selected child does not move its cursor", async () => {
    await withApi(
      [
        { path: "/users", handler: () => ({ json: users }) },
        {
          path: /\/users\/\d+\/posts/,
          handler: (r) => ({ json: [{ id: Number(r.path.split("/")[2]) * 10 }] }),
        },
      ],
      (api) =>
        withPipeline("select_cursor", async ({ p }) => {
          const src = restApiSource({
            client: { base_url: api.url, paginator: "single_page" },
            resources: [
              { name: "users", endpoint: { path: "users", incremental: { cursor_path: "updated_at" } } },
              { name: "posts", endpoint: "users/{resources.users.id}/posts" },
            ],
          });
          const first = await p.run(src.select("posts"));
          assert.deepEqual(first.rows, { posts: 6 });
          assert.equal(p.state?.sources.rest_api?.resources.users?.incremental, undefined);
          // The full run still loads every user: none were loaded by the selected run.
          const second = await p.run(src.select("users"));
          assert.deepEqual(second.rows, { users: 6 });
          assert.deepEqual(await idStats(p, "users"), { n: 6, distinct: 6, min: 1, max: 6 });
        }),
    );
  });

  test("credentials are not sent to a next link on another origin", async () => {
    await withApi(
      [{ path: "/elsewhere", handler: () => ({ json: { items: [{ id: 2 }], next: null } }) }],
      (other) =>
        withApi(
          [
            {
              path: "/items",
              handler: () => ({ json: { items: [{ id: 1 }], next: `${other.url}/elsewhere` } }),
            },
          ],
          (api) =>
            withPipeline("origin", async ({ p }) => {
              await runRest(p, api, {
                client: { auth: { type: "bearer", token: "tok-secret-123" }, paginator: "json_link" },
                resources: [{ name: "items", endpoint: { path: "items", data_selector: "items" } }],
              });
              assert.deepEqual(await idStats(p, "items"), { n: 2, distinct: 2, min: 1, max: 2 });
              assert.equal(api.requestsTo("/items")[0]?.headers.authorization, "Bearer tok-secret-123");
              assert.equal(other.requestsTo("/elsewhere")[0]?.headers.authorization, undefined);
            }),
        ),
    );
  });

  test("a single object with an id is one record; its lists become child tables", async () => {
    const me = { id: 7, name: "Ada", addresses: [{ city: "London" }, { city: "Paris" }] };
    await withApi([{ path: "/me", handler: () => ({ json: me }) }], (api) =>
      withPipeline("single", async ({ p }) => {
        const info = await runRest(p, api, { client: { paginator: "single_page" }, resources: ["me"] });
        assert.deepEqual(info.rows, { me: 1, me__addresses: 2 });
        assert.deepEqual(await p.dataset().sql("select id, name from me"), [{ id: 7, name: "Ada" }]);
        assert.deepEqual(await p.dataset().sql("select city from me__addresses order by _ferry_list_idx"), [
          { city: "London" },
          { city: "Paris" },
        ]);
      }),
    );
  });

  test("an empty resource list is a config error", () => {
    assert.throws(
      () => restApiSource({ client: { base_url: "http://127.0.0.1:9" }, resources: [] }),
      /config\.resources: is empty; list at least one resource/,
    );
  });
});
