import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { pathParams } from "../../src/testing/index.js";
import { idStats, runRest, sent, show, userTables, withApi, withPipeline } from "../helpers/rest-api.js";
import { columnsOf } from "../helpers/tmp-pipeline.js";

const USERS = [
  { id: 1, login: "ann" },
  { id: 2, login: "bob" },
  { id: 3, login: "cy d" },
];
const POSTS = /\/users\/(?<id>\d+)\/posts/;
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe("rest_api dependent resources", () => {
  test("{resources.parent.field} fills path, params, JSON body and headers; include_from_parent adds columns", async () => {
    await withApi(
      [
        { path: "/users", handler: () => ({ json: USERS }) },
        {
          path: POSTS,
          method: "POST",
          handler: (r) => {
            const id = Number(pathParams(POSTS, r.path).id);
            return { json: [{ pid: id * 10 + 1 }, { pid: id * 10 + 2 }] };
          },
        },
      ],
      (api) =>
        withPipeline("deps", async ({ p }) => {
          const info = await runRest(p, api, {
            resources: [
              "users",
              {
                name: "posts",
                endpoint: {
                  path: "users/{resources.users.id}/posts",
                  method: "POST",
                  params: { owner: "{resources.users.login}", v: 2 },
                  json: { user: "{resources.users.id}", note: "for {resources.users.login}" },
                  headers: { "X-Owner": "{resources.users.login}" },
                  paginator: "single_page",
                },
                include_from_parent: ["id", "login"],
              },
            ],
          });
          assert.deepEqual(info.rows, { users: 3, posts: 6 });
          const posts = api.requests
            .filter((r) => r.method === "POST")
            .sort((a, b) => byText(a.path, b.path));
          assert.deepEqual(
            posts.map((r) => [show(r), r.headers["x-owner"], r.json()]),
            [
              ["POST /users/1/posts?owner=ann&v=2", "ann", { user: 1, note: "for ann" }],
              ["POST /users/2/posts?owner=bob&v=2", "bob", { user: 2, note: "for bob" }],
              ["POST /users/3/posts?owner=cy d&v=2", "cy d", { user: 3, note: "for cy d" }],
            ],
          );
          assert.deepEqual(
            await p.dataset().sql("select pid, _users_id, _users_login from posts order by pid"),
            [
              { pid: 11, _users_id: 1, _users_login: "ann" },
              { pid: 12, _users_id: 1, _users_login: "ann" },
              { pid: 21, _users_id: 2, _users_login: "bob" },
              { pid: 22, _users_id: 2, _users_login: "bob" },
              { pid: 31, _users_id: 3, _users_login: "cy d" },
              { pid: 32, _users_id: 3, _users_login: "cy d" },
            ],
          );
          assert.deepEqual(await columnsOf(p, "deps", "posts"), [
            ["_ferry_id", "VARCHAR"],
            ["_ferry_load_id", "VARCHAR"],
            ["pid", "BIGINT"],
            ["_users_id", "BIGINT"],
            ["_users_login", "VARCHAR"],
          ]);
        }),
    );
  });

  test("3,000 parents in 30 pages: children requested 10 at a time, each child row once", async () => {
    const N = 3000;
    const DETAIL = /\/things\/(?<id>\d+)\/detail/;
    await withApi(
      [
        {
          path: "/things",
          handler: (r) => {
            const offset = Number(r.query.get("offset"));
            const ids = Array.from({ length: Math.min(100, N - offset) }, (_, i) => offset + i + 1);
            return { json: { total: N, things: ids.map((id) => ({ id })) } };
          },
        },
        {
          path: DETAIL,
          handler: (r) => ({
            json: { thing_id: Number(pathParams(DETAIL, r.path).id), ok: true },
            delayMs: 20,
          }),
        },
      ],
      (api) =>
        withPipeline("fanout", async ({ p }) => {
          const info = await runRest(p, api, {
            client: { concurrency: 10 },
            resources: [
              {
                name: "things",
                endpoint: { paginator: { type: "offset", limit: 100, total_path: "total" } },
              },
              { name: "details", endpoint: "things/{resources.things.id}/detail" },
            ],
          });
          assert.deepEqual(info.rows, { things: N, details: N });
          assert.deepEqual(await idStats(p, "details", "thing_id"), { n: N, distinct: N, min: 1, max: N });
          assert.equal(api.requestsTo("/things").length, 30);
          assert.equal(api.requests.length, 30 + N);
          assert.ok(api.maxInFlight <= 10, `max in flight ${api.maxInFlight}`);
          // Concurrency is shown by the requests in flight at once, not by the wall time (the machine may be busy).
          assert.ok(api.maxInFlight > 1, `max in flight ${api.maxInFlight}`);
        }),
    );
  });

  test("response_actions ignore a 404 child; the other children load", async () => {
    const LINES = /\/orders\/(?<id>\d+)\/lines/;
    await withApi(
      [
        { path: "/orders", handler: () => ({ json: [1, 2, 3, 4].map((id) => ({ id })) }) },
        {
          path: LINES,
          handler: (r) => {
            const id = Number(pathParams(LINES, r.path).id);
            if (id === 3) return { status: 404, json: { message: "order deleted" } };
            return { json: [{ line_id: id * 100 + 1 }, { line_id: id * 100 + 2 }] };
          },
        },
      ],
      (api) =>
        withPipeline("actions", async ({ p }) => {
          const info = await runRest(p, api, {
            resources: [
              "orders",
              {
                name: "lines",
                endpoint: {
                  path: "orders/{resources.orders.id}/lines",
                  response_actions: [{ status_code: 404, action: "ignore" }],
                },
                include_from_parent: ["id"],
              },
            ],
          });
          assert.deepEqual(info.rows, { orders: 4, lines: 6 });
          assert.deepEqual(
            (await p.dataset().sql("select line_id from lines order by line_id")).map((r) => r.line_id),
            [101, 102, 201, 202, 401, 402],
          );
          assert.deepEqual(sent(api).sort(byText), [
            "GET /orders",
            "GET /orders/1/lines",
            "GET /orders/2/lines",
            "GET /orders/3/lines",
            "GET /orders/4/lines",
          ]);
        }),
    );
  });

  test("processing_steps filter and map the parent before it is loaded and before children are requested", async () => {
    const people = [
      { id: 1, name: "ann", active: true },
      { id: 2, name: "bob", active: false },
      { id: 3, name: "cy", active: true },
    ];
    await withApi(
      [
        { path: "/people", handler: () => ({ json: people }) },
        { path: /\/by-slug\/[a-z-]+/, handler: (r) => ({ json: [{ slug: r.path.slice(9), n: 1 }] }) },
      ],
      (api) =>
        withPipeline("steps", async ({ p }) => {
          const info = await runRest(p, api, {
            resources: [
              {
                name: "people",
                processing_steps: [
                  { filter: (x) => (x as { active: boolean }).active },
                  { map: (x) => ({ ...(x as object), slug: `p-${(x as { name: string }).name}` }) },
                ],
              },
              { name: "pages", endpoint: "by-slug/{resources.people.slug}" },
            ],
          });
          assert.deepEqual(info.rows, { people: 2, pages: 2 });
          assert.deepEqual(await p.dataset().sql("select id, slug from people order by id"), [
            { id: 1, slug: "p-ann" },
            { id: 3, slug: "p-cy" },
          ]);
          assert.deepEqual(sent(api).sort(byText), [
            "GET /by-slug/p-ann",
            "GET /by-slug/p-cy",
            "GET /people",
          ]);
        }),
    );
  });

  test("selected: false parent is not loaded but still feeds its child", async () => {
    await withApi(
      [
        { path: "/users", handler: () => ({ json: USERS }) },
        { path: POSTS, handler: (r) => ({ json: [{ pid: Number(pathParams(POSTS, r.path).id) * 10 }] }) },
      ],
      (api) =>
        withPipeline("hidden", async ({ p }) => {
          const info = await runRest(p, api, {
            resources: [
              { name: "users", selected: false },
              { name: "posts", endpoint: "users/{resources.users.id}/posts", include_from_parent: ["login"] },
            ],
          });
          assert.deepEqual(info.rows, { posts: 3 });
          assert.deepEqual(await userTables(p, "hidden"), ["posts"]);
          assert.deepEqual(await p.dataset().sql("select pid, _users_login from posts order by pid"), [
            { pid: 10, _users_login: "ann" },
            { pid: 20, _users_login: "bob" },
            { pid: 30, _users_login: "cy d" },
          ]);
        }),
    );
  });

  test("select(): a deselected resource feeding nothing selected is not requested and keeps its cursor", async () => {
    const config = {
      resources: [
        { name: "users", endpoint: { incremental: { cursor_path: "id", initial_value: 0 } } },
        { name: "posts", endpoint: "users/{resources.users.id}/posts" },
        "tags",
      ],
    };
    await withApi(
      [
        { path: "/users", handler: () => ({ json: USERS }) },
        { path: POSTS, handler: (r) => ({ json: [{ pid: Number(pathParams(POSTS, r.path).id) }] }) },
        { path: "/tags", handler: () => ({ json: [{ tag: "x" }] }) },
      ],
      (api) =>
        withPipeline("select", async ({ p }) => {
          const src = restApiSource({ ...config, client: { base_url: api.url } });
          assert.deepEqual((await p.run(src.select("tags"))).rows, { tags: 1 });
          assert.deepEqual(sent(api), ["GET /tags"]);
          // users' cursor did not move: a full run still loads every user.
          assert.deepEqual((await p.run(src)).rows, { users: 3, posts: 3, tags: 1 });
        }),
    );
  });
});

describe("rest_api defaults and incremental loading", () => {
  test("resource_defaults merge into each resource; merge disposition keeps one row per key over two runs", async () => {
    const tickets = [1, 2, 3, 4, 5].map((id) => ({ id, status: "open" }));
    const paged = (data: unknown[]) => (r: { query: URLSearchParams }) => {
      const per = Number(r.query.get("per_page"));
      const page = Number(r.query.get("page"));
      return {
        json: { data: data.slice((page - 1) * per, page * per), pages: Math.ceil(data.length / per) },
      };
    };
    await withApi(
      [
        { path: "/tickets", handler: paged(tickets) },
        { path: "/agents", handler: paged([{ id: 1 }, { id: 2 }, { id: 3 }]) },
      ],
      (api) =>
        withPipeline("defaults", async ({ p }) => {
          const config = {
            resource_defaults: {
              primary_key: "id",
              write_disposition: "merge" as const,
              endpoint: {
                params: { per_page: 2 },
                paginator: { type: "page_number" as const, base_page: 1, total_path: "pages" },
              },
            },
            resources: ["agents", { name: "tickets", endpoint: { params: { state: "all" } } }],
          };
          assert.deepEqual((await runRest(p, api, config)).rows, { agents: 3, tickets: 5 });
          // The two resources extract concurrently: each one's pages come in order, interleaved with the other's.
          assert.deepEqual(
            sent(api).filter((r) => r.startsWith("GET /agents")),
            ["GET /agents?per_page=2&page=1", "GET /agents?per_page=2&page=2"],
          );
          assert.deepEqual(
            sent(api).filter((r) => r.startsWith("GET /tickets")),
            [
              "GET /tickets?per_page=2&state=all&page=1",
              "GET /tickets?per_page=2&state=all&page=2",
              "GET /tickets?per_page=2&state=all&page=3",
            ],
          );
          assert.equal(sent(api).length, 5);
          tickets[1] = { id: 2, status: "closed" };
          assert.deepEqual((await runRest(p, api, config)).rows, { agents: 3, tickets: 5 });
          assert.deepEqual(await idStats(p, "tickets"), { n: 5, distinct: 5, min: 1, max: 5 });
          assert.deepEqual(await idStats(p, "agents"), { n: 3, distinct: 3, min: 1, max: 3 });
          assert.deepEqual(await p.dataset().sql("select id, status from tickets where status <> 'open'"), [
            { id: 2, status: "closed" },
          ]);
        }),
    );
  });

  const at = (day: number) => new Date(Date.UTC(2024, 0, day)).toISOString();
  const variants = [
    {
      name: "{incremental.start_value} in params",
      param: "since",
      endpoint: { params: { since: "{incremental.start_value}" } },
    },
    {
      name: "start_param",
      param: "updated_since",
      endpoint: { incremental: { start_param: "updated_since" } },
    },
  ];
  for (const v of variants) {
    test(`incremental with ${v.name}: the second run asks from the stored cursor and loads only new/changed records`, async () => {
      const events = [1, 2, 3, 4, 5].map((id) => ({ id, title: `e${id}`, updated_at: at(id) }));
      await withApi(
        [
          {
            path: "/events",
            handler: (r) => ({ json: events.filter((e) => e.updated_at >= (r.query.get(v.param) ?? "")) }),
          },
        ],
        (api) =>
          withPipeline("inc", async ({ p }) => {
            const config = {
              resources: [
                {
                  name: "events",
                  primary_key: "id",
                  write_disposition: "merge" as const,
                  endpoint: {
                    ...v.endpoint,
                    incremental: {
                      cursor_path: "updated_at",
                      initial_value: at(2),
                      ...v.endpoint.incremental,
                    },
                  },
                },
              ],
            };
            assert.deepEqual((await runRest(p, api, config)).rows, { events: 4 });
            events[2] = { id: 3, title: "e3 changed", updated_at: at(10) };
            events.push({ id: 6, title: "e6", updated_at: at(11) });
            assert.deepEqual((await runRest(p, api, config)).rows, { events: 2 });
            assert.deepEqual(sent(api), [
              `GET /events?${v.param}=${at(2)}`,
              `GET /events?${v.param}=${at(5)}`,
            ]);
            assert.deepEqual(await p.dataset().sql("select id, title from events order by id"), [
              { id: 2, title: "e2" },
              { id: 3, title: "e3 changed" },
              { id: 4, title: "e4" },
              { id: 5, title: "e5" },
              { id: 6, title: "e6" },
            ]);
            // A third run asks from the newest cursor and loads nothing new.
            assert.deepEqual((await runRest(p, api, config)).rows, {});
            assert.equal(sent(api)[2], `GET /events?${v.param}=${at(11)}`);
          }),
      );
    });
  }
});
