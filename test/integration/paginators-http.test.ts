import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { HttpClient } from "../../src/http/client.js";
import type { HttpRequest } from "../../src/http/types.js";
import {
  createPaginator,
  type Paginator,
  type PaginatorConfig,
} from "../../src/sources/rest-api/paginators/index.js";
import type { Logger } from "../../src/util/log.js";

/** 5 pages of 3 records: ids 1..15. */
const ALL = Array.from({ length: 15 }, (_, i) => ({ id: i + 1, name: `r${i + 1}` }));
const PAGE = 3;
const ALL_IDS = ALL.map((r) => r.id);

interface Reply {
  body: unknown;
  headers?: Record<string, string>;
}
/** Answers one request; `origin` is http://127.0.0.1:<port>. */
type Handler = (url: URL, origin: string, body: string) => Reply;

/** Starts a local server with one handler; it logs "METHOD /path?query" (plus the body of a POST) per request. */
async function serve(t: { after(fn: () => void | Promise<void>): void }, handler: Handler) {
  const log: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const origin = `http://${req.headers.host}`;
      log.push(`${req.method} ${req.url}${body ? ` ${body}` : ""}`);
      const reply = handler(new URL(req.url ?? "/", origin), origin, body);
      res.writeHead(200, { "content-type": "application/json", ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { log, origin, client: new HttpClient({ baseUrl: `${origin}/api`, retry: { attempts: 1 } }) };
}

/** The loop a REST source runs: request, select records, ask the paginator for the next request. */
async function fetchAll(
  client: HttpClient,
  paginator: Paginator,
  first: HttpRequest,
  select: (body: unknown) => unknown[],
) {
  const records: unknown[] = [];
  let req: HttpRequest | undefined = paginator.init(first);
  for (let n = 0; req !== undefined; n++) {
    if (n >= 20) throw new Error("paginator did not stop");
    const res = await client.request(req);
    const page = select(res.json());
    records.push(...page);
    req = paginator.next(res, page);
  }
  return records;
}

const ids = (records: unknown[]) => records.map((r) => (r as { id: number }).id);
const data = (body: unknown) => (body as { data: unknown[] }).data;
const slice = (offset: number) => ALL.slice(offset, offset + PAGE);
const num = (url: URL, name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
const token = (offset: number) => Buffer.from(`o:${offset}`).toString("base64url");
const untoken = (t: string | null | undefined) =>
  t ? Number(Buffer.from(t, "base64url").toString().slice(2)) : 0;

// One server style per paginator. Pages are 1-based unless the style says otherwise.
const jsonLink: Handler = (url) => {
  const page = num(url, "page", 1);
  return {
    body: {
      data: slice((page - 1) * PAGE),
      pagination: { next: page < 5 ? `?page=${page + 1}&size=3` : null },
    },
  };
};
const headerLink: Handler = (url, origin) => {
  const page = num(url, "page", 1);
  const links = [`<${origin}/api/items?page=1>; rel="first"`, `<${origin}/api/items?page=5>; rel="last"`];
  if (page < 5) links.unshift(`<${origin}/api/items?page=${page + 1}>; rel="next"`);
  return { body: slice((page - 1) * PAGE), headers: { link: links.join(", ") } };
};
const slackCursor: Handler = (url) => {
  const offset = untoken(url.searchParams.get("cursor"));
  const next = offset + PAGE < ALL.length ? token(offset + PAGE) : "";
  return { body: { ok: true, data: slice(offset), response_metadata: { next_cursor: next } } };
};

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe("paginators against a local HTTP server", () => {
  test("json_link: relative next links, old params dropped", async (t) => {
    const { log, client } = await serve(t, jsonLink);
    const paginator = createPaginator({ type: "json_link", next_url_path: "pagination.next" });
    const got = await fetchAll(client, paginator, { method: "GET", url: "items", params: { size: 3 } }, data);
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, [
      "GET /api/items?size=3",
      ...[2, 3, 4, 5].map((p) => `GET /api/items?page=${p}&size=3`),
    ]);
  });

  test("header_link: GitHub-style Link headers", async (t) => {
    const { log, client } = await serve(t, headerLink);
    const got = await fetchAll(
      client,
      createPaginator("header_link"),
      { method: "GET", url: "items" },
      (b) => b as unknown[],
    );
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, ["GET /api/items", ...[2, 3, 4, 5].map((p) => `GET /api/items?page=${p}`)]);
  });

  test("offset: stops when offset reaches the total", async (t) => {
    const { log, client } = await serve(t, (url) => ({
      body: { data: slice(num(url, "offset", -1)), total: 15 },
    }));
    const paginator = createPaginator({ type: "offset", limit: 3 });
    const got = await fetchAll(
      client,
      paginator,
      { method: "GET", url: "items", params: { sort: "id" } },
      data,
    );
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(
      log,
      [0, 3, 6, 9, 12].map((o) => `GET /api/items?sort=id&offset=${o}&limit=3`),
    );
  });

  test("page_number: no total, stops on the first empty page", async (t) => {
    const { log, client } = await serve(t, (url) => ({
      body: { data: slice((num(url, "p", -1) - 1) * PAGE) },
    }));
    const paginator = createPaginator({
      type: "page_number",
      base_page: 1,
      page_param: "p",
      total_path: null,
    });
    const got = await fetchAll(client, paginator, { method: "GET", url: "items" }, data);
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(
      log,
      [1, 2, 3, 4, 5, 6].map((p) => `GET /api/items?p=${p}`),
    );
  });

  test("cursor: Slack-style response_metadata.next_cursor into ?cursor=", async (t) => {
    const { log, client } = await serve(t, slackCursor);
    const paginator = createPaginator({ type: "cursor", cursor_path: "response_metadata.next_cursor" });
    const got = await fetchAll(
      client,
      paginator,
      { method: "GET", url: "items", params: { limit: 3 } },
      data,
    );
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, [
      "GET /api/items?limit=3",
      ...[3, 6, 9, 12].map((o) => `GET /api/items?limit=3&cursor=${token(o)}`),
    ]);
  });

  test("cursor: in the JSON body of a POST", async (t) => {
    const { log, client } = await serve(t, (_url, _origin, body) => {
      const offset = untoken((JSON.parse(body) as { page?: { cursor?: string } }).page?.cursor);
      return {
        body: { results: slice(offset), next_page_token: offset + PAGE < 15 ? token(offset + PAGE) : null },
      };
    });
    const paginator = createPaginator({
      type: "cursor",
      cursor_path: "next_page_token",
      cursor_body_path: "page.cursor",
    });
    const first = { method: "POST", url: "search", json: { filter: "all", page: { size: 3 } } };
    const got = await fetchAll(client, paginator, first, (b) => (b as { results: unknown[] }).results);
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, [
      'POST /api/search {"filter":"all","page":{"size":3}}',
      ...[3, 6, 9, 12].map(
        (o) => `POST /api/search {"filter":"all","page":{"size":3,"cursor":"${token(o)}"}}`,
      ),
    ]);
  });

  test("header_cursor: cursor in a response header", async (t) => {
    const { log, client } = await serve(t, (url) => {
      const offset = Number(url.searchParams.get("after") ?? 0);
      const headers: Record<string, string> =
        offset + PAGE < 15 ? { "x-next-cursor": String(offset + PAGE) } : {};
      return { body: slice(offset), headers };
    });
    const paginator = createPaginator({
      type: "header_cursor",
      cursor_key: "X-Next-Cursor",
      cursor_param: "after",
    });
    const got = await fetchAll(client, paginator, { method: "GET", url: "items" }, (b) => b as unknown[]);
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, ["GET /api/items", ...[3, 6, 9, 12].map((o) => `GET /api/items?after=${o}`)]);
  });

  test("auto: detects each style and fetches the same pages as the explicit paginator", async (t) => {
    const styles: [Handler, string, HttpRequest, (b: unknown) => unknown[], PaginatorConfig][] = [
      [
        jsonLink,
        "json_link",
        { method: "GET", url: "items", params: { size: 3 } },
        data,
        { type: "json_link", next_url_path: "pagination.next" },
      ],
      [headerLink, "header_link", { method: "GET", url: "items" }, (b) => b as unknown[], "header_link"],
      [
        slackCursor,
        "cursor",
        { method: "GET", url: "items" },
        data,
        { type: "cursor", cursor_path: "response_metadata.next_cursor" },
      ],
    ];
    for (const [handler, name, first, select, explicit] of styles) {
      const auto = await serve(t, handler);
      const infos: string[] = [];
      const paginator = createPaginator("auto", { ...silent, info: (m) => infos.push(m) });
      assert.deepEqual(ids(await fetchAll(auto.client, paginator, first, select)), ALL_IDS);
      assert.equal(paginator.name, name);
      assert.equal(infos.length, 1);
      assert.match(infos[0] ?? "", new RegExp(`auto chose ${name} for ${auto.origin}/api/items`));
      const plain = await serve(t, handler);
      await fetchAll(plain.client, createPaginator(explicit), first, select);
      assert.equal(auto.log.length, 5);
      assert.deepEqual(auto.log, plain.log);
    }
  });

  test("auto: a response without links is a single page", async (t) => {
    const { log, client } = await serve(t, () => ({ body: ALL }));
    const got = await fetchAll(
      client,
      createPaginator(undefined),
      { method: "GET", url: "all" },
      (b) => b as unknown[],
    );
    assert.deepEqual(ids(got), ALL_IDS);
    assert.deepEqual(log, ["GET /api/all"]);
  });
});
