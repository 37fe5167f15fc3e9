import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AuthTransport } from "../../src/http/auth.js";
import { HttpError } from "../../src/http/http-error.js";
import type { HttpRequest } from "../../src/http/types.js";
import type { AuthConfig } from "../../src/sources/rest-api/auth/auth-config.js";
import {
  apiKeyAuth,
  bearerAuth,
  createAuth,
  httpBasicAuth,
  oauth2ClientCredentials,
} from "../../src/sources/rest-api/auth/index.js";
import { ConfigError } from "../../src/util/errors.js";

const noTransport: AuthTransport = {
  send: () => Promise.reject(new Error("no transport in this test")),
};

async function applied(config: AuthConfig, base: Partial<HttpRequest> = {}): Promise<HttpRequest> {
  const request: HttpRequest = { method: "GET", url: "/x", ...base };
  await createAuth(config).apply(request, noTransport);
  return request;
}

/** A fake token endpoint: records the form bodies it gets and answers with `reply(n)` for the n-th call. */
function tokenTransport(reply: (n: number) => { status: number; text: string }, delayMs = 0) {
  const forms: URLSearchParams[] = [];
  const requests: HttpRequest[] = [];
  const transport: AuthTransport = {
    async send(request) {
      requests.push(request);
      forms.push(new URLSearchParams(request.body));
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const { status, text } = reply(forms.length);
      return { status, text, json: () => JSON.parse(text) };
    },
  };
  return { transport, forms, requests };
}

const tokens = (n: number) => ({
  status: 200,
  text: JSON.stringify({ access_token: `tok-${n}`, expires_in: 3600 }),
});
const oauthConfig = {
  type: "oauth2_client_credentials" as const,
  access_token_url: "https://id.example.test/oauth/token",
  client_id: "my-client",
  client_secret: "s3cr3t-client-value",
};

describe("bearer, api_key and http_basic", () => {
  test("bearer sets Authorization: Bearer <token> and keeps other headers", async () => {
    const r = await applied({ type: "bearer", token: "abc123" }, { headers: { "X-Trace": "1" } });
    assert.deepEqual(r.headers, { "X-Trace": "1", Authorization: "Bearer abc123" });
    assert.deepEqual(bearerAuth("abc123").secrets(), ["abc123"]);
  });

  test("a token without a type is bearer auth (dlt's shorthand)", async () => {
    const r = await applied({ token: "abc123" });
    assert.deepEqual(r.headers, { Authorization: "Bearer abc123" });
  });

  test("api_key location param is the query (dlt's alias)", async () => {
    const r = await applied({ type: "api_key", name: "key", api_key: "k-9", location: "param" });
    assert.deepEqual(r.params, { key: "k-9" });
  });

  test("http_basic takes an empty username (a token as the password)", async () => {
    const r = await applied({ type: "http_basic", username: "", password: "tok" });
    assert.deepEqual(r.headers, { Authorization: `Basic ${Buffer.from(":tok").toString("base64")}` });
  });

  test("bearer replaces an Authorization header in another letter case", async () => {
    const r = await applied({ type: "bearer", token: "abc123" }, { headers: { authorization: "old" } });
    assert.deepEqual(r.headers, { Authorization: "Bearer abc123" });
  });

  test("api_key defaults to the Authorization header", async () => {
    const r = await applied({ type: "api_key", api_key: "key-1" });
    assert.deepEqual(r.headers, { Authorization: "key-1" });
    assert.equal(r.params, undefined);
  });

  test("api_key in a named header", async () => {
    const r = await applied({ type: "api_key", name: "X-API-Key", api_key: "key-1", location: "header" });
    assert.deepEqual(r.headers, { "X-API-Key": "key-1" });
  });

  test("api_key in the query keeps other params", async () => {
    const r = await applied(
      { type: "api_key", name: "api_key", api_key: "key-2", location: "query" },
      { params: { page: 2 } },
    );
    assert.deepEqual(r.params, { page: 2, api_key: "key-2" });
    assert.equal(r.headers, undefined);
  });

  test("api_key as a cookie, alone or appended to an existing Cookie header", async () => {
    const cfg: AuthConfig = { type: "api_key", name: "session", api_key: "key-3", location: "cookie" };
    assert.deepEqual((await applied(cfg)).headers, { Cookie: "session=key-3" });
    const r = await applied(cfg, { headers: { cookie: "theme=dark" } });
    assert.deepEqual(r.headers, { Cookie: "theme=dark; session=key-3" });
  });

  test("apiKeyAuth factory", async () => {
    const r: HttpRequest = { method: "GET", url: "/" };
    const auth = apiKeyAuth("key-4", { name: "token", location: "query" });
    await auth.apply(r, noTransport);
    assert.deepEqual(r.params, { token: "key-4" });
    assert.deepEqual(auth.secrets(), ["key-4"]);
  });

  test("http_basic sets Basic base64(user:pass)", async () => {
    const r = await applied({ type: "http_basic", username: "aladdin", password: "opensesame" });
    assert.deepEqual(r.headers, { Authorization: "Basic YWxhZGRpbjpvcGVuc2VzYW1l" });
    const auth = httpBasicAuth("aladdin", "opensesame");
    assert.deepEqual(auth.secrets(), ["opensesame", "YWxhZGRpbjpvcGVuc2VzYW1l"]);
  });

  test("http_basic accepts an empty password (key as username) and UTF-8 names", async () => {
    const r = await applied({ type: "http_basic", username: "sk_live_1", password: "" });
    assert.deepEqual(r.headers, { Authorization: `Basic ${Buffer.from("sk_live_1:").toString("base64")}` });
    const u = await applied({ type: "http_basic", username: "zoë", password: "pä" });
    assert.equal(u.headers?.Authorization, `Basic ${Buffer.from("zoë:pä", "utf8").toString("base64")}`);
  });
});

describe("validation", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ type: "bearer" }, /^auth\.token is required for type bearer$/],
    [{ type: "bearer", token: "" }, /^auth\.token is required for type bearer$/],
    [{ type: "api_key", name: "k" }, /^auth\.api_key is required for type api_key$/],
    [
      { type: "api_key", api_key: "k", location: "body" },
      /^auth\.location "body" is not supported for type api_key$/,
    ],
    [{ type: "api_key", api_key: "k", name: "" }, /^auth\.name must be a non-empty string for type api_key$/],
    [{ type: "http_basic", password: "p" }, /^auth\.username is required for type http_basic$/],
    [{ type: "http_basic", username: "u" }, /^auth\.password is required for type http_basic$/],
    [{ ...oauthConfig, access_token_url: undefined }, /^auth\.access_token_url is required for type oauth2_/],
    [{ ...oauthConfig, client_id: "" }, /^auth\.client_id is required for type oauth2_client_credentials$/],
    [{ ...oauthConfig, client_secret: undefined }, /^auth\.client_secret is required for type oauth2_/],
    [{ ...oauthConfig, default_token_expiration: 0 }, /^auth\.default_token_expiration must be a positive/],
    [{ type: "digest" }, /^auth\.type "digest" is not supported$/],
    [{ token: "" }, /^auth\.token is required for type bearer$/],
  ];
  for (const [config, message] of cases) {
    test(`rejects ${JSON.stringify(config)}`, () => {
      assert.throws(
        () => createAuth(config as AuthConfig),
        (e: unknown) => e instanceof ConfigError && message.test(e.message) && typeof e.hint === "string",
      );
    });
  }

  test("factories validate too", () => {
    assert.throws(() => bearerAuth(""), /auth\.token is required for type bearer/);
    assert.throws(() => apiKeyAuth(""), /auth\.api_key is required/);
  });
});

describe("oauth2_client_credentials", () => {
  test("posts the client credentials form and sends the token as bearer", async () => {
    const { transport, forms, requests } = tokenTransport(tokens);
    const auth = createAuth({
      ...oauthConfig,
      scope: "read write",
      access_token_request_data: { audience: "api" },
    });
    const r: HttpRequest = { method: "GET", url: "/data" };
    await auth.apply(r, transport);
    assert.deepEqual(r.headers, { Authorization: "Bearer tok-1" });
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.method, "POST");
    assert.equal(requests[0]?.url, "https://id.example.test/oauth/token");
    assert.equal(requests[0]?.headers?.["content-type"], "application/x-www-form-urlencoded");
    assert.deepEqual(Object.fromEntries(forms[0] ?? []), {
      grant_type: "client_credentials",
      client_id: "my-client",
      client_secret: "s3cr3t-client-value",
      scope: "read write",
      audience: "api",
    });
  });

  test("caches the token; refresh() fetches a new one and returns true", async () => {
    const { transport, forms } = tokenTransport(tokens);
    const auth = oauth2ClientCredentials(oauthConfig);
    assert.deepEqual(auth.secrets(), ["s3cr3t-client-value"]);
    const r1: HttpRequest = { method: "GET", url: "/a" };
    const r2: HttpRequest = { method: "GET", url: "/b" };
    await auth.apply(r1, transport);
    await auth.apply(r2, transport);
    assert.equal(forms.length, 1);
    assert.equal(r2.headers?.Authorization, "Bearer tok-1");
    assert.equal(await auth.refresh?.(transport), true);
    assert.equal(forms.length, 2);
    const r3: HttpRequest = { method: "GET", url: "/c" };
    await auth.apply(r3, transport);
    assert.equal(r3.headers?.Authorization, "Bearer tok-2");
    assert.deepEqual(auth.secrets().sort(), ["s3cr3t-client-value", "tok-1", "tok-2"]);
  });

  test("concurrent requests share one token fetch", async () => {
    const { transport, forms } = tokenTransport(tokens, 20);
    const auth = oauth2ClientCredentials(oauthConfig);
    const reqs = Array.from({ length: 10 }, (_, i): HttpRequest => ({ method: "GET", url: `/${i}` }));
    await Promise.all(reqs.map((r) => auth.apply(r, transport)));
    assert.equal(forms.length, 1);
    assert.deepEqual(new Set(reqs.map((r) => r.headers?.Authorization)), new Set(["Bearer tok-1"]));
  });

  test("without expires_in the token lives default_token_expiration seconds", async () => {
    const { transport, forms } = tokenTransport((n) => ({
      status: 200,
      text: `{"access_token":"short-${n}"}`,
    }));
    const auth = oauth2ClientCredentials({ ...oauthConfig, default_token_expiration: 0.05 });
    const r: HttpRequest = { method: "GET", url: "/" };
    await auth.apply(r, transport);
    await auth.apply(r, transport);
    assert.equal(forms.length, 1);
    await new Promise((res) => setTimeout(res, 60));
    await auth.apply(r, transport);
    assert.equal(forms.length, 2);
    assert.equal(r.headers?.Authorization, "Bearer short-2");
  });

  test("a token endpoint error names status and URL, shows the body, hides the secret", async () => {
    const { transport } = tokenTransport(() => ({
      status: 401,
      text: `{"error":"invalid_client","echo":"client_secret s3cr3t-client-value"}`,
    }));
    const auth = oauth2ClientCredentials(oauthConfig);
    await assert.rejects(auth.apply({ method: "GET", url: "/" }, transport), (e: unknown) => {
      assert.ok(e instanceof HttpError);
      assert.equal(e.status, 401);
      assert.equal(e.url, "https://id.example.test/oauth/token");
      assert.equal(e.transient, false);
      assert.match(
        e.message,
        /OAuth2 token request to https:\/\/id\.example\.test\/oauth\/token failed with status 401/,
      );
      assert.match(e.message, /invalid_client/);
      assert.ok(!e.message.includes("s3cr3t-client-value"), e.message);
      return true;
    });
  });

  test("a 503 from the token endpoint is transient; a response without access_token is not", async () => {
    const down = tokenTransport(() => ({ status: 503, text: "maintenance" }));
    await assert.rejects(
      oauth2ClientCredentials(oauthConfig).apply({ method: "GET", url: "/" }, down.transport),
      {
        status: 503,
        transient: true,
      },
    );
    const odd = tokenTransport(() => ({ status: 200, text: `{"token":"x"}` }));
    await assert.rejects(
      oauth2ClientCredentials(oauthConfig).apply({ method: "GET", url: "/" }, odd.transport),
      {
        message: "OAuth2 token response of https://id.example.test/oauth/token has no access_token",
        transient: false,
      },
    );
  });

  test("after a failed token fetch the next request tries again", async () => {
    const { transport, forms } = tokenTransport((n) => (n === 1 ? { status: 500, text: "oops" } : tokens(n)));
    const auth = oauth2ClientCredentials(oauthConfig);
    await assert.rejects(auth.apply({ method: "GET", url: "/" }, transport), { status: 500 });
    const r: HttpRequest = { method: "GET", url: "/" };
    await auth.apply(r, transport);
    assert.equal(r.headers?.Authorization, "Bearer tok-2");
    assert.equal(forms.length, 2);
  });
});
