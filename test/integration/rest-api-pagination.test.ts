import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { FakeHandler, FakeRequest } from "../../src/testing/index.js";
import { idStats, items, runRest, sent, withApi, withPipeline } from "../helpers/rest-api.js";

const ALL = items(1, 25);
const pageOf = (n: number, size = 10) => ALL.slice((n - 1) * size, n * size);
const num = (r: FakeRequest, k: string, dflt: number) => Number(r.query.get(k) ?? dflt);

/** Runs one `items` resource against a handler for `/items`; returns the requests sent and the id stats. */
async function loadItems(handler: FakeHandler, endpoint: Record<string, unknown>, method = "GET") {
  return withApi([{ path: "/items", method, handler }], (api) =>
    withPipeline("pages", async ({ p }) => {
      const info = await runRest(p, api, {
        resources: [{ name: "items", endpoint: { path: "items", ...endpoint } }],
      });
      return { info, requests: sent(api), stats: await idStats(p, "items"), api };
    }),
  );
}

const all25 = { n: 25, distinct: 25, min: 1, max: 25 };

describe("rest_api paginators", () => {
  test("json_link follows next URLs at a nested path; the next URL's query replaces the first params", async () => {
    let base = "";
    const r = await withApi(
      [
        {
          path: "/v2/items",
          handler: (q) => {
            const page = num(q, "page", 1);
            const next = page < 3 ? `${base}/v2/items?per_page=10&page=${page + 1}` : null;
            return { json: { data: pageOf(page), pagination: { next } } };
          },
        },
      ],
      async (api) => {
        base = api.url;
        return withPipeline("json_link", async ({ p }) => {
          const info = await runRest(p, api, {
            client: { base_url: `${api.url}/v2/` },
            resources: [
              {
                name: "items",
                endpoint: {
                  params: { per_page: 10 },
                  paginator: { type: "json_link", next_url_path: "pagination.next" },
                },
              },
            ],
          });
          return { info, requests: sent(api), stats: await idStats(p, "items") };
        });
      },
    );
    assert.deepEqual(r.info.rows, { items: 25 });
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, [
      "GET /v2/items?per_page=10",
      "GET /v2/items?per_page=10&page=2",
      "GET /v2/items?per_page=10&page=3",
    ]);
  });

  test("header_link follows the Link header's rel=next (relative links resolve against the response URL)", async () => {
    const r = await loadItems(
      (q) => {
        const page = num(q, "page", 1);
        const links = [`</items?page=1>; rel="first"`, `</items?page=3>; rel="last"`];
        if (page < 3) links.unshift(`</items?page=${page + 1}>; rel="next"`);
        return { json: pageOf(page), headers: { link: links.join(", ") } };
      },
      { paginator: "header_link" },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, ["GET /items", "GET /items?page=2", "GET /items?page=3"]);
  });

  const offsetApi =
    (extra: (offset: number, limit: number) => Record<string, unknown>, key = "items"): FakeHandler =>
    (q) => {
      const offset = num(q, "offset", 0);
      const limit = num(q, "limit", 100);
      return { json: { [key]: ALL.slice(offset, offset + limit), ...extra(offset, limit) } };
    };
  const offsets = [
    "GET /items?offset=0&limit=10",
    "GET /items?offset=10&limit=10",
    "GET /items?offset=20&limit=10",
  ];

  test("offset stops at total_path", async () => {
    const r = await loadItems(
      offsetApi(() => ({ meta: { total: 25 } })),
      {
        paginator: { type: "offset", limit: 10, total_path: "meta.total" },
      },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, offsets);
  });

  test("offset stops when has_more_path is false", async () => {
    const r = await loadItems(
      offsetApi((o, l) => ({ has_more: o + l < 25 }), "records"),
      { paginator: { type: "offset", limit: 10, total_path: null, has_more_path: "has_more" } },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, offsets);
  });

  test("offset without total or has_more stops on a page shorter than limit", async () => {
    const r = await loadItems(
      (q) => ({ json: ALL.slice(num(q, "skip", 0), num(q, "skip", 0) + num(q, "take", 0)) }),
      { paginator: { type: "offset", limit: 10, offset_param: "skip", limit_param: "take" } },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, [
      "GET /items?skip=0&take=10",
      "GET /items?skip=10&take=10",
      "GET /items?skip=20&take=10",
    ]);
  });

  test("page_number stops after the total number of pages", async () => {
    const r = await loadItems((q) => ({ json: { results: pageOf(num(q, "p", 1)), total_pages: 3 } }), {
      paginator: { type: "page_number", base_page: 1, page_param: "p", total_path: "total_pages" },
    });
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, ["GET /items?p=1", "GET /items?p=2", "GET /items?p=3"]);
  });

  test("page_number without a total stops on the first empty page", async () => {
    const r = await loadItems((q) => ({ json: pageOf(num(q, "page", 1)) }), {
      paginator: { type: "page_number", base_page: 1 },
    });
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, [
      "GET /items?page=1",
      "GET /items?page=2",
      "GET /items?page=3",
      "GET /items?page=4",
    ]);
  });

  test("cursor from the body, sent back as a query parameter", async () => {
    const r = await loadItems(
      (q) => {
        const at = Number((q.query.get("after") ?? "c0").slice(1));
        return {
          json: { data: ALL.slice(at, at + 10), meta: { next_cursor: at + 10 < 25 ? `c${at + 10}` : null } },
        };
      },
      {
        params: { sort: "id" },
        paginator: { type: "cursor", cursor_path: "meta.next_cursor", cursor_param: "after" },
      },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, [
      "GET /items?sort=id",
      "GET /items?sort=id&after=c10",
      "GET /items?sort=id&after=c20",
    ]);
  });

  test("cursor sent back inside the JSON body of a POST", async () => {
    const r = await loadItems(
      (q) => {
        const body = q.json() as { page: { cursor?: string } };
        const at = Number((body.page.cursor ?? "c0").slice(1));
        return { json: { hits: ALL.slice(at, at + 10), next: at + 10 < 25 ? `c${at + 10}` : "" } };
      },
      {
        method: "POST",
        json: { query: { status: "open" }, page: { size: 10 } },
        paginator: { type: "cursor", cursor_path: "next", cursor_body_path: "page.cursor" },
      },
      "POST",
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, ["POST /items", "POST /items", "POST /items"]);
    assert.deepEqual(
      r.api.requests.map((q) => q.json()),
      [
        { query: { status: "open" }, page: { size: 10 } },
        { query: { status: "open" }, page: { size: 10, cursor: "c10" } },
        { query: { status: "open" }, page: { size: 10, cursor: "c20" } },
      ],
    );
    assert.deepEqual(
      r.api.requests.map((q) => q.headers["content-type"]),
      ["application/json", "application/json", "application/json"],
    );
  });

  test("header_cursor reads the next cursor from a response header", async () => {
    const r = await loadItems(
      (q) => {
        const at = Number(q.query.get("page_token") ?? 0);
        return {
          json: ALL.slice(at, at + 10),
          headers: at + 10 < 25 ? { "X-Next-Page": String(at + 10) } : undefined,
        };
      },
      { paginator: { type: "header_cursor", cursor_key: "X-Next-Page", cursor_param: "page_token" } },
    );
    assert.deepEqual(r.stats, all25);
    assert.deepEqual(r.requests, ["GET /items", "GET /items?page_token=10", "GET /items?page_token=20"]);
  });

  test("single_page makes one request even when the body has a next link", async () => {
    const r = await loadItems(() => ({ json: { data: pageOf(1), next: "/items?page=2" } }), {
      paginator: "single_page",
    });
    assert.deepEqual(r.stats, { n: 10, distinct: 10, min: 1, max: 10 });
    assert.deepEqual(r.requests, ["GET /items"]);
  });
});

describe("rest_api auto pagination (no paginator configured)", () => {
  const cases: Array<{ name: string; handler: FakeHandler; requests: string[] }> = [
    {
      name: "a Link header with rel=next",
      handler: (q) => {
        const page = num(q, "page", 1);
        return {
          json: pageOf(page),
          headers: page < 3 ? { Link: `</items?page=${page + 1}>; rel="next"` } : undefined,
        };
      },
      requests: ["GET /items", "GET /items?page=2", "GET /items?page=3"],
    },
    {
      name: "a next URL in the body",
      handler: (q) => {
        const page = num(q, "page", 1);
        return {
          json: { count: 25, next: page < 3 ? `/items?page=${page + 1}` : null, results: pageOf(page) },
        };
      },
      requests: ["GET /items", "GET /items?page=2", "GET /items?page=3"],
    },
    {
      name: "a cursor in the body",
      handler: (q) => {
        const at = Number(q.query.get("cursor") ?? 0);
        return { json: { data: ALL.slice(at, at + 10), next_cursor: at + 10 < 25 ? String(at + 10) : null } };
      },
      requests: ["GET /items", "GET /items?cursor=10", "GET /items?cursor=20"],
    },
    { name: "a plain list", handler: () => ({ json: ALL }), requests: ["GET /items"] },
  ];
  for (const c of cases) {
    test(`detects ${c.name}`, async () => {
      const r = await loadItems(c.handler, {});
      assert.deepEqual(r.stats, all25);
      assert.deepEqual(r.requests, c.requests);
    });
  }
});

describe("rest_api with an API that repeats itself", () => {
  test("the same next link forever (or a cycle of links) stops with each record once", async () => {
    for (const nextOf of [(_p: number) => 2, (p: number) => (p === 3 ? 2 : p + 1)]) {
      const r = await loadItems(
        (q) => {
          const page = num(q, "page", 1);
          return { json: { data: pageOf(page), next: `/items?page=${nextOf(page)}` } };
        },
        { paginator: "json_link" },
      );
      const pages = nextOf(1) === nextOf(2) ? 2 : 3;
      const n = pages === 2 ? 20 : 25;
      assert.deepEqual(r.stats, { n, distinct: n, min: 1, max: n });
      assert.deepEqual(r.requests, ["GET /items", "GET /items?page=2", "GET /items?page=3"].slice(0, pages));
    }
  });

  test("an API that ignores the page parameter (same body for every page) stops after the repeat", async () => {
    const r = await loadItems(() => ({ json: { data: pageOf(1) } }), {
      paginator: { type: "page_number", base_page: 1 },
    });
    assert.deepEqual(r.stats, { n: 10, distinct: 10, min: 1, max: 10 });
    assert.deepEqual(r.requests, ["GET /items?page=1", "GET /items?page=2"]);
  });
});

describe("rest_api data_selector", () => {
  const body = { status: "ok", payload: { total: 3, items: items(1, 3) } };
  for (const selector of ["$.payload.items", "$.payload.items[*]", "payload.items"]) {
    test(`selects records with ${selector}`, async () => {
      const r = await loadItems(() => ({ json: body }), {
        data_selector: selector,
        paginator: "single_page",
      });
      assert.deepEqual(r.stats, { n: 3, distinct: 3, min: 1, max: 3 });
    });
  }

  const auto: Array<[string, unknown]> = [
    ["a list under data", { data: items(1, 4), meta: { total: 4 } }],
    ["a list under results", { count: 4, results: items(1, 4) }],
    ["a bare list", items(1, 4)],
  ];
  for (const [name, json] of auto) {
    test(`finds ${name} without a data_selector`, async () => {
      const r = await loadItems(() => ({ json }), {});
      assert.deepEqual(r.stats, { n: 4, distinct: 4, min: 1, max: 4 });
      assert.deepEqual(r.info.rows, { items: 4 });
    });
  }

  test("a single object endpoint loads one row (its list of strings goes to a child table)", async () => {
    const me = { id: 7, login: "ann", plan: { name: "pro" }, roles: ["admin", "dev"] };
    await withApi([{ path: "/me", handler: () => ({ json: me }) }], (api) =>
      withPipeline("single", async ({ p }) => {
        const info = await runRest(p, api, { resources: ["me"] });
        assert.deepEqual(info.rows, { me: 1, me__roles: 2 });
        assert.deepEqual(await p.dataset().sql("select id, login, plan__name from me"), [
          { id: 7, login: "ann", plan__name: "pro" },
        ]);
        assert.deepEqual(sent(api), ["GET /me"]);
      }),
    );
  });
});
