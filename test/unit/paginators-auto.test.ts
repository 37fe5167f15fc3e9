import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AutoPaginator,
  CursorPaginator,
  createPaginator,
  HeaderLinkPaginator,
  JsonLinkPaginator,
  OffsetPaginator,
  PageNumberPaginator,
  type Paginator,
  type PaginatorConfig,
} from "../../src/sources/rest-api/paginators/index.js";
import { ConfigError } from "../../src/util/errors.js";
import { BASE, capture, items, type Page, recordsOf, resp, run } from "../helpers/paginator-fakes.js";

describe("auto", () => {
  const detect = (page: Page) => {
    const log = capture();
    const p = createPaginator(undefined, log) as AutoPaginator;
    const next = p.next(
      resp(page.body, { headers: page.headers, url: `${BASE}/items?page=1` }),
      recordsOf(page.body),
    );
    return { name: p.name, next, log: log.lines };
  };

  test("Link header -> header_link", () => {
    const d = detect({ body: items(2), headers: { link: `<${BASE}/items?page=2>; rel="next"` } });
    assert.equal(d.name, "header_link");
    assert.equal(d.next?.url, `${BASE}/items?page=2`);
    assert.match(
      d.log[0] ?? "",
      /^info: paginator: auto chose header_link for .*: the Link header has rel="next"/,
    );
  });

  test("a next URL at common body paths -> json_link", () => {
    const cases: [unknown, string][] = [
      [{ next: `${BASE}/items?page=2` }, `${BASE}/items?page=2`],
      [{ links: { next: "/v1/items?page=2" } }, `${BASE}/items?page=2`],
      [{ links: { next: { href: "?page=2" } } }, `${BASE}/items?page=2`],
      [{ _links: { next: { href: `${BASE}/h?p=2` } } }, `${BASE}/h?p=2`],
      [{ pagination: { next: "?page=2" } }, `${BASE}/items?page=2`],
      [{ meta: { next: `${BASE}/m` } }, `${BASE}/m`],
      [{ next_page_url: `${BASE}/items?page=2` }, `${BASE}/items?page=2`],
      [{ meta: { pagination: { links: { next: `${BASE}/l` } } } }, `${BASE}/l`],
      [{ "@odata.nextLink": `${BASE}/o?$skip=10` }, `${BASE}/o?$skip=10`],
    ];
    for (const [body, url] of cases) {
      const d = detect({ body: { items: items(1), ...(body as object) } });
      assert.equal(d.name, "json_link", JSON.stringify(body));
      assert.equal(d.next?.url, url);
    }
  });

  test("a cursor at common body paths -> cursor", () => {
    const cases: [unknown, Record<string, string>][] = [
      [{ next_cursor: "c1" }, { cursor: "c1" }],
      [{ cursor: "c2" }, { cursor: "c2" }],
      [{ meta: { next_cursor: "c3" } }, { cursor: "c3" }],
      [{ response_metadata: { next_cursor: "c4" } }, { cursor: "c4" }],
      [{ nextPageToken: "c5" }, { pageToken: "c5" }],
      [{ next: "not-a-url", next_cursor: "c6" }, { cursor: "c6" }],
    ];
    for (const [body, params] of cases) {
      const d = detect({ body: { items: items(1), ...(body as object) } });
      assert.equal(d.name, "cursor", JSON.stringify(body));
      assert.deepEqual(d.next?.params, params);
    }
  });

  test("nothing found -> single_page; a warning when the body says there is more", () => {
    for (const body of [
      items(3),
      { items: items(3), next: null, next_cursor: "" },
      { items: items(3), total: 3 },
    ]) {
      const d = detect({ body });
      assert.equal(d.name, "single_page");
      assert.equal(d.next, undefined);
      assert.deepEqual(d.log, [
        `info: paginator: auto chose single_page for ${BASE}/items?page=1: the response shows no next page link or cursor`,
      ]);
    }
    const warned = detect({ body: { items: items(3), has_more: true } });
    assert.match(warned.log[1] ?? "", /^warn: .*looks like one page of several \("has_more" is true\)/);
    assert.match(
      detect({ body: { items: items(3), total: 10 } }).log[1] ?? "",
      /"total" is 10 but the page has 3/,
    );
  });

  test("after choosing it behaves as the chosen paginator, and init resets the choice", () => {
    const p = createPaginator("auto");
    const { urls } = run(p, [
      { body: { items: items(1), next_cursor: "x" } },
      { body: { items: items(1), next_cursor: "y", next: `${BASE}/ignored` } },
      { body: { items: items(1) } },
    ]);
    assert.deepEqual(urls, [`${BASE}/items`, `${BASE}/items?cursor=x`, `${BASE}/items?cursor=y`]);
    assert.equal(p.name, "cursor");
    p.init({ method: "GET", url: "items" });
    assert.equal(p.name, "auto");
  });
});

describe("createPaginator", () => {
  test("types, defaults and bad configs", () => {
    assert.ok(createPaginator(undefined) instanceof AutoPaginator);
    const cases: [PaginatorConfig, new (...a: never[]) => Paginator][] = [
      ["json_link", JsonLinkPaginator],
      ["header_link", HeaderLinkPaginator],
      ["page_number", PageNumberPaginator],
      ["cursor", CursorPaginator],
      [{ type: "offset", limit: 5 }, OffsetPaginator],
    ];
    for (const [config, cls] of cases) assert.ok(createPaginator(config) instanceof cls);
    assert.equal((createPaginator("json_link") as JsonLinkPaginator).nextUrlPath, "next");
    assert.equal((createPaginator("cursor") as CursorPaginator).cursorPath, "cursors.next");
    assert.throws(() => createPaginator("pages" as PaginatorConfig), /unknown paginator type "pages"[\s\S]*/);
    assert.throws(
      () => createPaginator({ type: "json_link", next_url_key: "x" } as unknown as PaginatorConfig),
      (e: unknown) =>
        e instanceof ConfigError &&
        /unknown option "next_url_key"/.test(e.message) &&
        e.hint === "its options are: next_url_path",
    );
    assert.throws(
      () => createPaginator({ type: "cursor", cursor_param: "" }),
      /cursor_param must be a non-empty string/,
    );
    const bad = { type: "offset", limit: 3, stop_after_empty_page: "no" } as unknown as PaginatorConfig;
    assert.throws(() => createPaginator(bad), /stop_after_empty_page must be true or false/);
    const badPath = { type: "page_number", total_path: 3 } as unknown as PaginatorConfig;
    assert.throws(() => createPaginator(badPath), /total_path must be a path/);
    assert.equal(createPaginator({ type: "page_number", total_path: null }).name, "page_number");
  });
});
