import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AuthConfig } from "../../src/sources/rest-api/index.js";
import type { FakeRequest, FakeResponse } from "../../src/testing/index.js";
import { describeError } from "../../src/util/errors.js";
import { idStats, items, runRest, sent, userTables, withApi, withPipeline } from "../helpers/rest-api.js";

const ALL = items(1, 25);
const page = (r: FakeRequest) => Number(r.query.get("page") ?? 1);
/** 25 items, 10 a page, `?page=N` (1-based), `{ data, total_pages: 3 }`. */
const pages = (r: FakeRequest) => ({
  json: { data: ALL.slice((page(r) - 1) * 10, page(r) * 10), total_pages: 3 },
});
const PAGED = { type: "page_number" as const, base_page: 1, total_path: "total_pages" };
const all25 = { n: 25, distinct: 25, min: 1, max: 25 };

/** Loads `items` (3 pages) with this auth; returns what the server saw. */
async function loadWithAuth(auth: AuthConfig) {
  return withApi([{ path: "/items", handler: pages }], (api) =>
    withPipeline("auth", async ({ p }) => {
      await runRest(p, api, { client: { auth, paginator: PAGED }, resources: ["items"] });
      assert.deepEqual(await idStats(p, "items"), all25);
      return { requests: sent(api), authorization: api.requests.map((r) => r.headers.authorization) };
    }),
  );
}

describe("rest_api auth", () => {
  test("bearer: every page carries Authorization: Bearer <token>", async () => {
    const r = await loadWithAuth({ type: "bearer", token: "tok-bearer-0001" });
    assert.deepEqual(r.authorization, Array(3).fill("Bearer tok-bearer-0001"));
  });

  test("api_key in the query: every page carries it, no Authorization header", async () => {
    const r = await loadWithAuth({
      type: "api_key",
      name: "api_key",
      api_key: "key-0002",
      location: "query",
    });
    assert.deepEqual(
      r.requests,
      [1, 2, 3].map((n) => `GET /items?page=${n}&api_key=key-0002`),
    );
    assert.deepEqual(r.authorization, [undefined, undefined, undefined]);
  });

  test("http_basic: Authorization: Basic base64(user:password)", async () => {
    const r = await loadWithAuth({ type: "http_basic", username: "me", password: "pw-0003" });
    assert.deepEqual(r.authorization, Array(3).fill(`Basic ${Buffer.from("me:pw-0003").toString("base64")}`));
  });

  const OAUTH = (url: string): AuthConfig => ({
    type: "oauth2_client_credentials",
    access_token_url: `${url}/oauth/token`,
    client_id: "cid",
    client_secret: "csecret-0004",
    scope: "read",
  });

  test("oauth2 client credentials: a token the server stops accepting is renewed after the 401", async () => {
    let issued = 0;
    const uses = new Map<string, number>();
    const statuses: number[] = [];
    await withApi(
      [
        {
          path: "/oauth/token",
          method: "POST",
          handler: () => ({
            json: { access_token: `tok-${++issued}`, token_type: "bearer", expires_in: 3600 },
          }),
        },
        {
          path: "/items",
          handler: (r) => {
            // The server takes each token for two requests only.
            const token = String(r.headers.authorization).replace("Bearer ", "");
            const n = (uses.get(token) ?? 0) + 1;
            uses.set(token, n);
            const out: FakeResponse = n > 2 ? { status: 401, json: { error: "token expired" } } : pages(r);
            statuses.push(out.status ?? 200);
            return out;
          },
        },
      ],
      (api) =>
        withPipeline("oauth", async ({ p }) => {
          await runRest(p, api, { client: { auth: OAUTH(api.url), paginator: PAGED }, resources: ["items"] });
          assert.deepEqual(await idStats(p, "items"), all25);
          const tokenCalls = api.requestsTo("/oauth/token");
          assert.deepEqual(
            tokenCalls.map((r) => Object.fromEntries(new URLSearchParams(r.body))),
            Array(2).fill({
              grant_type: "client_credentials",
              client_id: "cid",
              client_secret: "csecret-0004",
              scope: "read",
            }),
          );
          const apiCalls = api.requestsTo("/items");
          assert.deepEqual(
            apiCalls.map((r) => `${r.query.get("page")} ${r.headers.authorization}`),
            ["1 Bearer tok-1", "2 Bearer tok-1", "3 Bearer tok-1", "3 Bearer tok-2"],
          );
          assert.deepEqual(statuses, [200, 200, 401, 200]);
        }),
    );
  });

  test("oauth2 client credentials: a short-lived token is renewed before it expires (no 401)", async () => {
    const issuedAt = new Map<string, number>();
    const statuses: number[] = [];
    await withApi(
      [
        {
          path: "/oauth/token",
          method: "POST",
          handler: () => {
            const token = `tok-${issuedAt.size + 1}`;
            issuedAt.set(token, Date.now());
            return { json: { access_token: token, expires_in: 2 } };
          },
        },
        {
          path: "/items",
          handler: (r) => {
            const token = String(r.headers.authorization).replace("Bearer ", "");
            const age = Date.now() - (issuedAt.get(token) ?? 0);
            const out: FakeResponse =
              age > 2000 ? { status: 401, json: { error: "expired" } } : { ...pages(r), delayMs: 700 };
            statuses.push(out.status ?? 200);
            return out;
          },
        },
      ],
      (api) =>
        withPipeline("oauth2", async ({ p }) => {
          await runRest(p, api, {
            client: { auth: OAUTH(api.url), paginator: { type: "page_number", base_page: 1 } },
            resources: ["items"],
          });
          // Pages 1-3 have records and page 4 is empty: 4 requests of 700 ms outlive a 2 s token.
          assert.deepEqual(await idStats(p, "items"), all25);
          assert.deepEqual(statuses, [200, 200, 200, 200]);
          const tokens = api.requestsTo("/items").map((r) => r.headers.authorization);
          assert.ok(issuedAt.size >= 2, `tokens issued: ${issuedAt.size}`);
          assert.deepEqual(new Set(tokens).size, issuedAt.size);
          assert.equal(tokens[3], `Bearer tok-${issuedAt.size}`);
          assert.equal(tokens[0], "Bearer tok-1");
        }),
    );
  });
});

describe("rest_api failures", () => {
  test("a 429 with Retry-After and intermittent 500s during pagination still load every record once", async () => {
    const attempts = new Map<number, number>();
    const log: Array<{ at: number; line: string }> = [];
    await withApi(
      [
        {
          path: "/items",
          handler: (r) => {
            const n = page(r);
            const a = (attempts.get(n) ?? 0) + 1;
            attempts.set(n, a);
            let out: FakeResponse = pages(r);
            if (n === 2 && a === 1)
              out = { status: 429, headers: { "Retry-After": "1" }, json: { error: "slow down" } };
            if (n === 3 && a <= 2) out = { status: a === 1 ? 500 : 503, json: { error: "oops" } };
            log.push({ at: Date.now(), line: `page ${n}: ${out.status ?? 200}` });
            return out;
          },
        },
      ],
      (api) =>
        withPipeline("retries", async ({ p }) => {
          const info = await runRest(p, api, {
            client: { max_attempts: 3, paginator: PAGED },
            resources: ["items"],
          });
          assert.deepEqual(info.rows, { items: 25 });
          assert.deepEqual(await idStats(p, "items"), all25);
          assert.deepEqual(
            log.map((l) => l.line),
            ["page 1: 200", "page 2: 429", "page 2: 200", "page 3: 500", "page 3: 503", "page 3: 200"],
          );
          const waited = (log[2]?.at ?? 0) - (log[1]?.at ?? 0);
          assert.ok(waited >= 990, `waited ${waited} ms after Retry-After: 1`);
        }),
    );
  });

  test("a 401 without refresh fails the run naming status and URL, never the token", async () => {
    const token = "tok-never-shown-0005";
    await withApi(
      [
        {
          path: "/items",
          handler: (r) => ({ status: 401, json: { message: `${r.headers.authorization} is revoked` } }),
        },
      ],
      (api) =>
        withPipeline("unauth", async ({ p }) => {
          await assert.rejects(
            runRest(p, api, { client: { auth: { type: "bearer", token } }, resources: ["items"] }),
            (e: Error) => {
              assert.equal(
                e.message,
                `GET ${api.url}/items failed with status 401: {"message":"Bearer *** is revoked"}`,
              );
              assert.ok(!describeError(e).includes(token) && !String(e.stack).includes(token));
              assert.match(describeError(e), /hint: check the credentials \(auth\) and their permissions/);
              return true;
            },
          );
          assert.equal(api.requests.length, 1);
          assert.deepEqual(await userTables(p, "unauth"), []);
        }),
    );
  });

  test("a 400 on page 2 fails the run (key in the query masked) and loads nothing", async () => {
    const key = "key-never-shown-0006";
    await withApi(
      [
        {
          path: "/items",
          handler: (r) => (page(r) === 2 ? { status: 400, json: { error: "bad page" } } : pages(r)),
        },
      ],
      (api) =>
        withPipeline("bad", async ({ p }) => {
          const auth: AuthConfig = { type: "api_key", name: "key", api_key: key, location: "query" };
          await assert.rejects(
            runRest(p, api, { client: { auth, paginator: PAGED }, resources: ["items"] }),
            (e: Error) => {
              assert.equal(
                e.message,
                `GET ${api.url}/items?page=2&key=*** failed with status 400: {"error":"bad page"}`,
              );
              assert.ok(!describeError(e).includes(key));
              return true;
            },
          );
          assert.deepEqual(sent(api), [`GET /items?page=1&key=${key}`, `GET /items?page=2&key=${key}`]);
          assert.deepEqual(await userTables(p, "bad"), []);
        }),
    );
  });

  test("an endpoint slower than client.timeout fails with a timeout message after max_attempts", async () => {
    await withApi([{ path: "/slow", handler: () => ({ json: [{ id: 1 }], delayMs: 1500 }) }], (api) =>
      withPipeline("slow", async ({ p }) => {
        // The message says the attempts timed out (each answer would take 1.5 s); no wall-time bound (a busy machine).
        await assert.rejects(
          runRest(p, api, { client: { timeout: 0.2, max_attempts: 2 }, resources: ["slow"] }),
          (e: Error) => {
            assert.equal(
              e.message,
              `GET ${api.url}/slow failed after 2 attempts: timed out after 0.2 s (client.timeout)`,
            );
            return true;
          },
        );
        assert.equal(api.requests.length, 2);
      }),
    );
  });
});
