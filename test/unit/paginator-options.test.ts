import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  CursorPaginator,
  createPaginator,
  JsonLinkPaginator,
  OffsetPaginator,
  PAGINATORS,
  PageNumberPaginator,
  type PaginatorConfig,
  paginatorDocs,
  paginatorProblems,
} from "../../src/sources/rest-api/paginators/index.js";
import { ConfigError } from "../../src/util/errors.js";
import { REPO } from "../helpers/cli.js";
import { capture, items, resp, run } from "../helpers/paginator-fakes.js";

// Each paginator's options are declared once (paginators/options.ts): the config types, spec validation,
// createPaginator and the docs table all come from that declaration.

describe("one declaration of every paginator's options", () => {
  test("every declared option is accepted by createPaginator with a valid value", () => {
    const sample: Record<string, unknown> = {
      name: "x",
      path: "a.b",
      path_or_null: null,
      body_path: "a.b",
      integer: 3,
      boolean: true,
    };
    for (const [type, spec] of Object.entries(PAGINATORS)) {
      const config: Record<string, unknown> = { type };
      for (const [name, opt] of Object.entries(spec.options) as [string, { kind: string }][]) {
        config[name] = sample[opt.kind];
      }
      for (const [, b] of "exclusive" in spec ? spec.exclusive : []) delete config[b];
      assert.equal(
        paginatorProblems(config).problems.length,
        0,
        `${type}: ${JSON.stringify(paginatorProblems(config))}`,
      );
      assert.equal(createPaginator(config as PaginatorConfig).name, type);
    }
  });

  test("validation comes from the declaration: unknown, required, typed and exclusive options", () => {
    const cases: [unknown, { option: string; problem: string }[]][] = [
      [{ type: "offset" }, [{ option: "limit", problem: "is required" }]],
      [{ type: "offset", limit: 0 }, [{ option: "limit", problem: "must be an integer >= 1, got 0" }]],
      [
        { type: "page_number", page_body_path: "a[0]" },
        [
          {
            option: "page_body_path",
            problem: 'must be field names joined by dots (e.g. "page.cursor"), got "a[0]"',
          },
        ],
      ],
      [
        { type: "header_link", next_url_path: "x" },
        [
          {
            option: "next_url_path",
            problem: "unknown option of the header_link paginator; its options are: links_next_key",
          },
        ],
      ],
      [
        { type: "single_page", limit: 1 },
        [{ option: "limit", problem: "unknown option of the single_page paginator; it takes no options" }],
      ],
      [
        { type: "offset", limit: 5, limit_param: "l", limit_body_path: "l" },
        [{ option: "limit_body_path", problem: "cannot be given with limit_param; give one of them" }],
      ],
      [
        { type: "cursor", has_more_path: 1 },
        [{ option: "has_more_path", problem: "must be a path (a non-empty string), got 1" }],
      ],
      [{ type: "json_response", next_url_path: "n" }, []],
      [{}, []],
    ];
    for (const [config, problems] of cases)
      assert.deepEqual(paginatorProblems(config).problems, problems, JSON.stringify(config));
    assert.equal(paginatorProblems("json_response").type, "json_link");
    assert.equal(paginatorProblems({}).type, "auto");
  });

  test("createPaginator names the option in its errors", () => {
    assert.throws(
      () => createPaginator({ type: "offset" } as PaginatorConfig),
      (e: unknown) => e instanceof ConfigError && e.message === "offset paginator needs a limit",
    );
    assert.throws(
      () => createPaginator({ type: "page_number", page_param: "p", page_body_path: "p" }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          "page_number paginator: page_body_path cannot be given with page_param; give one of them",
    );
    assert.ok(createPaginator("json_response") instanceof JsonLinkPaginator);
  });

  test("docs/rest-api.md shows the table rendered from the declaration", () => {
    const docs = readFileSync(join(REPO, "docs/rest-api.md"), "utf8");
    const table = /<!-- paginators:start -->\n([\s\S]*?)\n<!-- paginators:end -->/.exec(docs)?.[1] ?? "";
    // Cells as written, whatever the padding a formatter gave the table.
    const cells = (md: string) =>
      md.split("\n").map((row) =>
        row
          .split("|")
          .map((c) => c.trim())
          .map((c) => (/^-+$/.test(c) ? "---" : c)),
      );
    assert.deepEqual(
      cells(table),
      cells(paginatorDocs()),
      "regenerate the table in docs/rest-api.md from paginatorDocs()",
    );
  });
});

describe("dlt's body-path and stop options", () => {
  test("page_body_path puts the page number in the JSON body", () => {
    const p = new PageNumberPaginator({ base_page: 1, page_body_path: "paging.page", total_path: null });
    const { requests } = run(
      p,
      [{ body: { items: items(2) } }, { body: { items: items(1) } }, { body: { items: [] } }],
      {
        method: "POST",
        url: "items",
        json: { q: 1 },
      },
    );
    assert.deepEqual(
      requests.map((r) => r.json),
      [
        { q: 1, paging: { page: 1 } },
        { q: 1, paging: { page: 2 } },
        { q: 1, paging: { page: 3 } },
      ],
    );
    assert.deepEqual(
      requests.map((r) => r.params),
      [undefined, undefined, undefined],
      "no page query parameter",
    );
  });

  test("offset_body_path and limit_body_path", () => {
    const p = new OffsetPaginator({
      limit: 2,
      offset_body_path: "o",
      limit_body_path: "l",
      total_path: "total",
    });
    const { requests } = run(
      p,
      [{ body: { items: items(2), total: 3 } }, { body: { items: items(1), total: 3 } }],
      {
        method: "POST",
        url: "items",
      },
    );
    assert.deepEqual(
      requests.map((r) => r.json),
      [
        { o: 0, l: 2 },
        { o: 2, l: 2 },
      ],
    );
  });

  test("cursor: stop_after_empty_page and has_more_path", () => {
    const empty = new CursorPaginator({ cursor_path: "next", stop_after_empty_page: true });
    assert.equal(empty.next(resp({ next: "c" }), []), undefined);
    assert.deepEqual(empty.next(resp({ next: "c" }), items(1))?.params, { cursor: "c" });
    const more = new CursorPaginator({ cursor_path: "next", has_more_path: "more" });
    assert.equal(more.next(resp({ next: "c", more: false }), items(1)), undefined);
    assert.deepEqual(more.next(resp({ next: "c", more: "true" }), items(1))?.params, { cursor: "c" });
    assert.throws(
      () => more.next(resp({ next: "c" }), items(1)),
      /"more" in the response of .* is not a boolean: undefined/,
    );
  });

  test("json_link warns once when the first page has records but no next URL at the path", () => {
    const log = capture();
    const p = new JsonLinkPaginator("links.next", log);
    assert.equal(run(p, [{ body: { items: items(2), next: "/items?page=2" } }]).urls.length, 1);
    assert.deepEqual(log.lines, [
      'warn: paginator json_link: next_url_path "links.next" is not in the response of https://api.example.com/v1/items; no further pages are requested (check the path if the API has more)',
    ]);
    const quiet = capture();
    run(new JsonLinkPaginator("links.next", quiet), [{ body: { items: items(2), links: { next: null } } }]);
    assert.deepEqual(quiet.lines, []);
  });
});
