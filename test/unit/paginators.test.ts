import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CursorPaginator,
  createPaginator,
  HeaderCursorPaginator,
  HeaderLinkPaginator,
  JsonLinkPaginator,
  OffsetPaginator,
  PageNumberPaginator,
  parseLinkHeader,
  SinglePagePaginator,
} from "../../src/sources/rest-api/paginators/index.js";
import { ConfigError } from "../../src/util/errors.js";
import { BASE, capture, items, resp, run } from "../helpers/paginator-fakes.js";

describe("json_link", () => {
  test("follows absolute next URLs at the default path and stops at null", () => {
    const { urls } = run(new JsonLinkPaginator(), [
      { body: { items: items(2), next: "https://api.example.com/v1/items?page=2" } },
      { body: { items: items(2), next: "https://other.example.com/items?page=3&x=1" } },
      { body: { items: items(1), next: null } },
    ]);
    assert.deepEqual(urls, [
      `${BASE}/items`,
      `${BASE}/items?page=2`,
      "https://other.example.com/items?page=3&x=1",
    ]);
  });

  test("resolves relative links against the response URL, drops old params, keeps the rest", () => {
    const first = {
      method: "POST",
      url: "items",
      params: { size: 2 },
      headers: { "x-k": "v" },
      json: { q: 1 },
    };
    const { requests, urls } = run(
      new JsonLinkPaginator("pagination.next"),
      [
        { body: { pagination: { next: "/v1/items?cursor=a" } } },
        { body: { pagination: { next: "?cursor=b" } } },
        { body: { pagination: { next: "more?cursor=c" } } },
        { body: { pagination: { next: { href: "items?cursor=d" } } } },
        { body: { pagination: { next: "" } } },
      ],
      first,
    );
    assert.deepEqual(urls, [
      `${BASE}/items?size=2`,
      `${BASE}/items?cursor=a`,
      `${BASE}/items?cursor=b`,
      `${BASE}/more?cursor=c`,
      `${BASE}/items?cursor=d`,
    ]);
    assert.deepEqual(requests[1], {
      method: "POST",
      url: `${BASE}/items?cursor=a`,
      headers: { "x-k": "v" },
      json: { q: 1 },
    });
  });

  test("stops when the path is missing", () => {
    assert.equal(run(new JsonLinkPaginator("links.next"), [{ body: { links: {} } }]).urls.length, 1);
  });
});

describe("header_link", () => {
  test("follows rel=next among several links and stops without one", () => {
    const link = (p: number) =>
      `<${BASE}/items?page=${p}&per_page=2>; rel="next", <${BASE}/items?page=9&per_page=2>; rel="last", <${BASE}/items?page=1>; rel="first"`;
    const { requests, urls } = run(
      new HeaderLinkPaginator(),
      [
        { body: items(2), headers: { link: link(2) } },
        { body: items(2), headers: { link: link(3) } },
        {
          body: items(1),
          headers: { link: `<${BASE}/items?page=1>; rel="first", <${BASE}/items?page=2>; rel="prev"` },
        },
      ],
      { method: "GET", url: "items", params: { per_page: 2 } },
    );
    assert.deepEqual(urls, [
      `${BASE}/items?per_page=2`,
      `${BASE}/items?page=2&per_page=2`,
      `${BASE}/items?page=3&per_page=2`,
    ]);
    assert.equal(requests[1]?.params, undefined);
  });

  test("parses quoted and bare rels, several rels in one value, commas and < in values, case", () => {
    const h =
      '<https://x.test/a?ids=1,2;3>; title="a, <b>; c"; rel="prev", <https://x.test/b>;REL = "Last  NEXT" ,' +
      "<https://x.test/c>; rel=first; rel=next";
    assert.deepEqual(parseLinkHeader(h), [
      { url: "https://x.test/a?ids=1,2;3", params: { title: "a, <b>; c", rel: "prev" }, rels: ["prev"] },
      { url: "https://x.test/b", params: { rel: "Last  NEXT" }, rels: ["last", "next"] },
      { url: "https://x.test/c", params: { rel: "first" }, rels: ["first"] },
    ]);
    const p = new HeaderLinkPaginator();
    assert.equal(p.next(resp([], { headers: { link: h } }))?.url, "https://x.test/b");
    assert.deepEqual(parseLinkHeader(""), []);
    assert.deepEqual(parseLinkHeader("garbage; rel=next"), []);
  });

  test("relative links, custom rel key and several Link headers", () => {
    const r = resp([], {
      url: `${BASE}/items?page=1`,
      headers: [
        ["link", '</v1/items?page=2>; rel="next"'],
        ["link", '<?page=7>; rel="next-page"'],
      ],
    });
    assert.equal(new HeaderLinkPaginator().next(r)?.url, `${BASE}/items?page=2`);
    assert.equal(new HeaderLinkPaginator("next-page").next(r)?.url, `${BASE}/items?page=7`);
    assert.equal(new HeaderLinkPaginator("last").next(r), undefined);
  });
});

describe("offset", () => {
  test("pages by limit until offset >= total, keeping other params", () => {
    const { urls } = run(
      new OffsetPaginator({ limit: 10 }),
      [
        { body: { items: items(10), total: 25 } },
        { body: { items: items(10), total: 25 } },
        { body: { items: items(5), total: 25 } },
      ],
      { method: "GET", url: "items", params: { sort: "id" } },
    );
    assert.deepEqual(
      urls,
      [0, 10, 20].map((o) => `${BASE}/items?sort=id&offset=${o}&limit=10`),
    );
  });

  test("custom params, start offset, nested total as a string", () => {
    const p = new OffsetPaginator({
      limit: 2,
      offset: 4,
      offset_param: "skip",
      limit_param: "take",
      total_path: "meta.total",
    });
    const page = { body: { items: items(2), meta: { total: "8" } } };
    assert.deepEqual(run(p, [page, page]).urls, [
      `${BASE}/items?skip=4&take=2`,
      `${BASE}/items?skip=6&take=2`,
    ]);
  });

  test("without total: stops on a short page, or on an empty one", () => {
    const short = run(new OffsetPaginator({ limit: 3, total_path: null }), [
      { body: items(3) },
      { body: items(2) },
    ]);
    assert.deepEqual(short.urls, [`${BASE}/items?offset=0&limit=3`, `${BASE}/items?offset=3&limit=3`]);
    const empty = run(new OffsetPaginator({ limit: 3 }), [
      { body: { items: items(3) } },
      { body: { items: [] } },
    ]);
    assert.equal(empty.urls.length, 2);
  });

  test("a total or has_more that says more wins over a short page", () => {
    const byTotal = run(new OffsetPaginator({ limit: 3 }), [
      { body: { items: items(2), total: 5 } },
      { body: { items: items(2), total: 5 } },
    ]);
    assert.equal(byTotal.urls.length, 2);
    const byHasMore = run(new OffsetPaginator({ limit: 3, has_more_path: "has_more" }), [
      { body: { items: items(1), has_more: true } },
      { body: { items: items(2), has_more: "true" } },
      { body: { items: items(3), has_more: false } },
    ]);
    assert.deepEqual(
      byHasMore.urls,
      [0, 3, 6].map((o) => `${BASE}/items?offset=${o}&limit=3`),
    );
  });

  test("maximum_offset stops before requesting it", () => {
    const full = { body: items(10) };
    const { urls } = run(new OffsetPaginator({ limit: 10, total_path: null, maximum_offset: 30 }), [
      full,
      full,
      full,
    ]);
    assert.deepEqual(
      urls,
      [0, 10, 20].map((o) => `${BASE}/items?offset=${o}&limit=10`),
    );
  });

  test("stop_after_empty_page: false goes on past empty pages until the total", () => {
    const p = new OffsetPaginator({ limit: 2, stop_after_empty_page: false });
    const { urls } = run(p, [
      { body: { items: [], total: 6 } },
      { body: { items: [], total: 6 } },
      { body: { items: [], total: 6 } },
    ]);
    assert.equal(urls.length, 3);
  });

  test("stop_after_empty_page: false with nothing to stop on is an error", () => {
    assert.throws(
      () => new OffsetPaginator({ limit: 2, total_path: null, stop_after_empty_page: false }),
      ConfigError,
    );
    const p = new OffsetPaginator({ limit: 2, stop_after_empty_page: false });
    p.init({ method: "GET", url: "items" });
    assert.throws(
      () => p.next(resp({ items: items(2) }), items(2)),
      (e: unknown) =>
        e instanceof ConfigError &&
        /neither a total at "total", and stop_after_empty_page is false/.test(e.message),
    );
  });

  test("a bad total or has_more is an error; a missing explicit total_path warns once", () => {
    const bad = new OffsetPaginator({ limit: 2, total_path: "count" });
    assert.throws(
      () => bad.next(resp({ count: "many" }), items(2)),
      /"count" in the response is not an integer: "many"/,
    );
    const hm = new OffsetPaginator({ limit: 2, has_more_path: "more" });
    assert.throws(() => hm.next(resp({ more: "perhaps" }), items(2)), /not a boolean/);
    // The default "total" is only a guess: a non-integer there is ignored.
    const guess = new OffsetPaginator({ limit: 2 });
    assert.equal(guess.next(resp({ total: { value: 3 } }), items(2))?.params?.offset, 2);
    const log = capture();
    const p = new OffsetPaginator({ limit: 2, total_path: "meta.total" }, log);
    const { urls } = run(p, [
      { body: { items: items(2) } },
      { body: { items: items(2) } },
      { body: { items: items(1) } },
    ]);
    assert.equal(urls.length, 3);
    assert.deepEqual(log.lines, [
      'warn: offset paginator: total_path "meta.total" not found in the response; check the path',
    ]);
  });

  test("options are checked", () => {
    assert.throws(() => createPaginator("offset"), /offset paginator needs a limit/);
    assert.throws(() => new OffsetPaginator({ limit: 0 }), /limit must be an integer >= 1/);
    assert.throws(() => new OffsetPaginator({ limit: 1.5 }), ConfigError);
  });
});

describe("page_number", () => {
  test("defaults: base 0, total pages at total", () => {
    const page = { body: { items: items(2), total: 3 } };
    assert.deepEqual(
      run(new PageNumberPaginator(), [page, page, page]).urls,
      [0, 1, 2].map((n) => `${BASE}/items?page=${n}`),
    );
  });

  test("base_page 1 with total_path; start page; custom param keeps other params", () => {
    const page = { body: { items: items(1), meta: { total_pages: 3 } } };
    const one = run(new PageNumberPaginator({ base_page: 1, total_path: "meta.total_pages" }), [
      page,
      page,
      page,
    ]);
    assert.deepEqual(
      one.urls,
      [1, 2, 3].map((n) => `${BASE}/items?page=${n}`),
    );
    const from2 = run(
      new PageNumberPaginator({ base_page: 1, page: 2, page_param: "p", total_path: "meta.total_pages" }),
      [page, page],
      {
        method: "GET",
        url: "items",
        params: { per: 5 },
      },
    );
    assert.deepEqual(from2.urls, [`${BASE}/items?per=5&p=2`, `${BASE}/items?per=5&p=3`]);
  });

  test("without total: goes on over short pages and stops on an empty one", () => {
    const { urls } = run(new PageNumberPaginator({ base_page: 1, total_path: null }), [
      { body: items(5) },
      { body: items(1) },
      { body: [] },
    ]);
    assert.deepEqual(
      urls,
      [1, 2, 3].map((n) => `${BASE}/items?page=${n}`),
    );
  });

  test("maximum_page is not requested (as dlt); has_more false stops", () => {
    const full = { body: items(2) };
    const max = run(new PageNumberPaginator({ base_page: 1, maximum_page: 3, total_path: null }), [
      full,
      full,
    ]);
    assert.deepEqual(max.urls, [`${BASE}/items?page=1`, `${BASE}/items?page=2`]);
    const more = run(new PageNumberPaginator({ total_path: null, has_more_path: "paging.more" }), [
      { body: { items: items(1), paging: { more: true } } },
      { body: { items: items(1), paging: { more: false } } },
    ]);
    assert.equal(more.urls.length, 2);
  });

  test("stop_after_empty_page: false needs a total, has_more or maximum_page", () => {
    assert.throws(
      () => createPaginator({ type: "page_number", total_path: null, stop_after_empty_page: false }),
      ConfigError,
    );
    const p = createPaginator({ type: "page_number", stop_after_empty_page: false, has_more_path: "more" });
    assert.throws(() => p.next(resp({ items: [] }), []), /neither a total at "total" nor has_more at "more"/);
    const page = { body: { items: [], total: 2 } };
    assert.equal(
      run(createPaginator({ type: "page_number", stop_after_empty_page: false }), [page, page]).urls.length,
      2,
    );
  });

  test("init restarts the count", () => {
    const p = new PageNumberPaginator({ total_path: null });
    run(p, [{ body: items(1) }, { body: [] }]);
    assert.deepEqual(p.init({ method: "GET", url: "x" }).params, { page: 0 });
  });
});

describe("cursor", () => {
  test("default cursors.next into ?cursor=, replacing the previous one; stops on null, empty or missing", () => {
    for (const last of [{ cursors: { next: null } }, { cursors: { next: "" } }, { cursors: {} }, {}]) {
      const { urls } = run(
        new CursorPaginator(),
        [{ body: { cursors: { next: "a b" } } }, { body: { cursors: { next: 7 } } }, { body: last }],
        { method: "GET", url: "items", params: { limit: 5 } },
      );
      assert.deepEqual(urls, [
        `${BASE}/items?limit=5`,
        `${BASE}/items?limit=5&cursor=a+b`,
        `${BASE}/items?limit=5&cursor=7`,
      ]);
    }
  });

  test("custom cursor_path and cursor_param", () => {
    const p = createPaginator({
      type: "cursor",
      cursor_path: "response_metadata.next_cursor",
      cursor_param: "after",
    });
    const next = p.next(resp({ response_metadata: { next_cursor: "dXNlcg==" } }), []);
    assert.deepEqual(next, { method: "GET", url: "items", params: { after: "dXNlcg==" } });
  });

  test("cursor_body_path puts the cursor in a copy of the JSON body", () => {
    const first = {
      method: "POST",
      url: "search",
      params: { v: 2 },
      json: { query: { text: "x", cursor: "old" }, size: 3 },
    };
    const { requests } = run(
      new CursorPaginator({ cursor_path: "nextPageToken", cursor_body_path: "query.cursor" }),
      [{ body: { nextPageToken: "t1" } }, { body: { nextPageToken: null } }],
      first,
    );
    assert.deepEqual(requests[1], { ...first, json: { query: { text: "x", cursor: "t1" }, size: 3 } });
    const bare = new CursorPaginator({ cursor_body_path: "$.page.token" });
    assert.deepEqual(bare.next(resp({ cursors: { next: "z" } }))?.json, { page: { token: "z" } });
  });

  test("bad options and cursor values", () => {
    assert.throws(() => new CursorPaginator({ cursor_param: "c", cursor_body_path: "c" }), /not both/);
    assert.throws(() => new CursorPaginator({ cursor_body_path: "a[0]" }), /not a dotted path/);
    assert.throws(
      () => new CursorPaginator().next(resp({ cursors: { next: { id: 1 } } })),
      /is not a cursor/,
    );
  });
});

describe("header_cursor and single_page", () => {
  test("header_cursor reads the header into the param until it is gone", () => {
    const { urls } = run(new HeaderCursorPaginator("X-Next-Token", "page_token"), [
      { body: [], headers: { "x-next-token": "abc" } },
      { body: [], headers: { "x-next-token": " " } },
    ]);
    assert.deepEqual(urls, [`${BASE}/items`, `${BASE}/items?page_token=abc`]);
    const def = createPaginator("header_cursor");
    assert.deepEqual(def.next(resp([], { headers: { next: "n1" } }), [])?.params, { cursor: "n1" });
    assert.equal(def.next(resp([]), []), undefined);
  });

  test("single_page never asks for more", () => {
    const p = createPaginator("single_page");
    assert.ok(p instanceof SinglePagePaginator);
    const req = { method: "GET", url: "x", params: { a: 1 } };
    assert.deepEqual(p.init(req), req);
    assert.notEqual(p.init(req), req);
    assert.equal(
      p.next(resp({ next: `${BASE}/x?page=2` }, { headers: { link: `<${BASE}/y>; rel="next"` } }), []),
      undefined,
    );
  });
});
