import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { HttpClient, type HttpClientOptions } from "../../src/http/client.js";
import { HttpError } from "../../src/http/http-error.js";
import { RateLimiter } from "../../src/http/rate-limit.js";
import { apiKeyAuth, oauth2ClientCredentials } from "../../src/sources/rest-api/auth/index.js";
import { describeError } from "../../src/util/errors.js";
import type { Logger } from "../../src/util/log.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const servers: Server[] = [];

/** Starts a local server; `hits` counts requests, `times` their arrival (ms). */
async function serve(handler: Handler) {
  const hits = { count: 0, times: [] as number[] };
  const server = createServer((req, res) => {
    hits.count++;
    hits.times.push(Date.now());
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, hits, server };
}

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

const json = (res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(data));
};
const fast = (o: HttpClientOptions): HttpClient =>
  new HttpClient({ timeoutMs: 2000, ...o, retry: { attempts: 3, initialDelayMs: 10, ...o.retry } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { log: { debug: push, info: push, warn: push, error: push }, lines };
}

describe("retries", { concurrency: true }, () => {
  test("429 with Retry-After in seconds waits at least that long", async () => {
    const { base, hits } = await serve((_q, res) =>
      hits.count === 1
        ? json(res, 429, { error: "slow down" }, { "retry-after": "1" })
        : json(res, 200, { ok: 1 }),
    );
    const res = await fast({ baseUrl: base }).request({ method: "GET", url: "/items" });
    assert.deepEqual(res.json(), { ok: 1 });
    assert.equal(hits.count, 2);
    const waited = (hits.times[1] ?? 0) - (hits.times[0] ?? 0);
    assert.ok(waited >= 1000 - 5, `waited ${waited} ms`);
  });

  test("429 with Retry-After as an HTTP date waits until that time", async () => {
    let until = 0;
    const { base, hits } = await serve((_q, res) => {
      if (hits.count > 1) return json(res, 200, { ok: 2 });
      until = Math.ceil(Date.now() / 1000) * 1000 + 1000;
      json(res, 429, {}, { "retry-after": new Date(until).toUTCString() });
    });
    const res = await fast({ baseUrl: base }).request({ method: "GET", url: "/items" });
    assert.deepEqual(res.json(), { ok: 2 });
    assert.equal(hits.count, 2);
    assert.ok((hits.times[1] ?? 0) >= until - 5, `retried ${until - (hits.times[1] ?? 0)} ms early`);
  });

  test("retry.maxDelayMs caps a long Retry-After", async () => {
    const { base, hits } = await serve((_q, res) =>
      hits.count === 1 ? json(res, 429, {}, { "retry-after": "30" }) : json(res, 200, []),
    );
    const started = Date.now();
    await fast({ baseUrl: base, retry: { maxDelayMs: 50 } }).request({ method: "GET", url: "/" });
    const took = Date.now() - started;
    assert.equal(hits.count, 2);
    // The cap (50 ms) against the server's 30 s: a lower bound, and an upper one far from both (a busy machine).
    assert.ok(took >= 45 && took < 15_000, `took ${took} ms`);
  });

  test("intermittent 500s, then success", async () => {
    const { base, hits } = await serve((_q, res) =>
      hits.count <= 2 ? json(res, 500, { error: "boom" }) : json(res, 200, [{ id: 1 }]),
    );
    const { log, lines } = capture();
    const client = fast({ baseUrl: base, log });
    const res = await client.request({ method: "GET", url: "/items", params: { page: 1 } });
    assert.deepEqual(res.json(), [{ id: 1 }]);
    assert.equal(res.url, `${base}/items?page=1`);
    assert.equal(hits.count, 3);
    assert.equal(client.requests, 3);
    assert.equal(lines.filter((l) => /status 500; retry \d\/2/.test(l)).length, 2);
  });

  test("a slow response is retried, then fails as a transient timeout", async () => {
    const { base, hits } = await serve((_q, res) => {
      setTimeout(() => json(res, 200, {}), 1000).unref();
    });
    const started = Date.now();
    await assert.rejects(
      fast({ baseUrl: base, timeoutMs: 100, retry: { attempts: 2 } }).request({
        method: "GET",
        url: "/slow",
      }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError);
        assert.equal(e.transient, true);
        assert.equal(e.status, 0);
        assert.match(
          e.message,
          /^GET http:\/\/127\.0\.0\.1:\d+\/slow failed after 2 attempts: timed out after [0-9.]+ s \(client\.timeout\)$/,
        );
        return true;
      },
    );
    assert.equal(hits.count, 2);
    assert.ok(Date.now() - started < 900);
  });

  test("connection refused is a transient error after all attempts", async () => {
    const { base, server } = await serve(() => {});
    await new Promise((r) => server.close(r));
    const client = fast({ baseUrl: base });
    await assert.rejects(client.request({ method: "GET", url: "/x" }), (e: unknown) => {
      assert.ok(e instanceof HttpError);
      assert.equal(e.transient, true);
      assert.equal(e.status, 0);
      assert.match(e.message, /failed after 3 attempts: .*ECONNREFUSED/);
      return true;
    });
    assert.equal(client.requests, 3);
  });

  test("404 is terminal: status, URL and body in the error, exactly one request", async () => {
    const { base, hits } = await serve((_q, res) => json(res, 404, { message: "no such repo" }));
    await assert.rejects(
      fast({ baseUrl: base }).request({ method: "GET", url: "/repos/x" }),
      (e: unknown) => {
        assert.ok(e instanceof HttpError);
        assert.equal(e.status, 404);
        assert.equal(e.transient, false);
        assert.equal(e.url, `${base}/repos/x`);
        assert.equal(e.message, `GET ${base}/repos/x failed with status 404: {"message":"no such repo"}`);
        assert.match(e.hint ?? "", /check the path/);
        return true;
      },
    );
    assert.equal(hits.count, 1);
  });

  test("accept returns a 404 response instead of throwing", async () => {
    const { base, hits } = await serve((_q, res) => json(res, 404, { message: "gone" }));
    const res = await fast({ baseUrl: base }).request(
      { method: "GET", url: "/gone" },
      { accept: (status) => status === 404 },
    );
    assert.equal(res.status, 404);
    assert.equal(res.text, '{"message":"gone"}');
    assert.equal(hits.count, 1);
  });
});

describe("request building", () => {
  test("headers given in another letter case replace the defaults instead of being merged", async () => {
    const { base } = await serve((req, res, body) =>
      json(res, 200, { accept: req.headers.accept, type: req.headers["content-type"], body }),
    );
    const client = fast({ baseUrl: base, headers: { "X-Client": "ferry" } });
    const res = await client.request({
      method: "POST",
      url: "/search",
      headers: { Accept: "application/vnd.api+json", "Content-Type": "application/vnd.api+json" },
      json: { q: 1 },
    });
    assert.deepEqual(res.json(), {
      accept: "application/vnd.api+json",
      type: "application/vnd.api+json",
      body: '{"q":1}',
    });
    const plain = await client.request({ method: "POST", url: "/search", json: [1] });
    assert.deepEqual(plain.json(), { accept: "application/json", type: "application/json", body: "[1]" });
  });

  test("a list query value repeats the parameter", async () => {
    const { base } = await serve((req, res) => json(res, 200, { url: req.url }));
    const res = await fast({ baseUrl: base }).request({
      method: "GET",
      url: "/x?keep=1",
      params: { ids: [1, 2], q: "a" },
    });
    assert.deepEqual(res.json(), { url: "/x?keep=1&ids=1&ids=2&q=a" });
  });

  test("a request fetch cannot build (a body on GET, a bad header name) fails at once, not retried", async () => {
    const { base, hits } = await serve((_req, res) => json(res, 200, {}));
    const { log, lines } = capture();
    const client = fast({ baseUrl: base, log });
    for (const request of [
      { method: "GET", url: "/x", json: { q: 1 } },
      { method: "GET", url: "/x", headers: { "X-{odd}": "1" } },
    ]) {
      await assert.rejects(client.request(request), (e: unknown) => {
        assert.ok(e instanceof HttpError && !e.transient, String(e));
        assert.match(e.message, new RegExp(`^GET ${base}/x cannot be sent: `));
        assert.equal(e.hint, "check the request's method, headers and body in the config");
        return true;
      });
    }
    assert.equal(hits.count, 0);
    assert.deepEqual(
      lines.filter((l) => l.includes("retry")),
      [],
    );
  });

  test("a request can carry its own auth, or none, instead of the client's", async () => {
    const { base } = await serve((req, res) => json(res, 200, { key: req.headers["x-key"] ?? null }));
    const client = fast({ baseUrl: base, auth: apiKeyAuth("client-key", { name: "X-Key" }) });
    const own = apiKeyAuth("own-key", { name: "X-Key" });
    assert.deepEqual((await client.request({ method: "GET", url: "/a" })).json(), { key: "client-key" });
    assert.deepEqual((await client.request({ method: "GET", url: "/a" }, { auth: own })).json(), {
      key: "own-key",
    });
    assert.deepEqual((await client.request({ method: "GET", url: "/a" }, { auth: null })).json(), {
      key: null,
    });
  });
});

/** A token endpoint (/token) and an API (/data) that accepts only the newest token. */
async function oauthServer(expiresIn = 3600) {
  const state = { tokens: 0, data: 0, current: "", forms: [] as string[], rejectNext: 0, echo: false };
  const srv = await serve((req, res, body) => {
    if (req.url === "/token") {
      state.forms.push(body);
      state.tokens++;
      state.current = `token-${state.tokens}-${Math.random().toString(36).slice(2)}`;
      return json(res, 200, { access_token: state.current, token_type: "bearer", expires_in: expiresIn });
    }
    state.data++;
    if (state.echo) return json(res, 404, { seen: req.headers.authorization });
    if (state.rejectNext > 0 || req.headers.authorization !== `Bearer ${state.current}`) {
      state.rejectNext--;
      return json(res, 401, { error: "invalid token" });
    }
    setTimeout(() => json(res, 200, { n: state.data }), 5);
  });
  const auth = oauth2ClientCredentials({
    access_token_url: `${srv.base}/token`,
    client_id: "cid",
    client_secret: "client-secret-xyz",
  });
  return { ...srv, state, auth };
}

describe("oauth2 client credentials", () => {
  test("one token fetch serves many concurrent requests", async () => {
    const { base, state, auth } = await oauthServer();
    const client = fast({ baseUrl: base, auth, concurrency: 4 });
    const all = await Promise.all(
      Array.from({ length: 12 }, () => client.request({ method: "GET", url: "/data" })),
    );
    assert.equal(all.length, 12);
    assert.equal(state.tokens, 1);
    assert.equal(state.data, 12);
    assert.equal(
      state.forms[0],
      "grant_type=client_credentials&client_id=cid&client_secret=client-secret-xyz",
    );
  });

  test("an expired token (expires_in: 1) is fetched again", async () => {
    const { base, state, auth } = await oauthServer(1);
    const client = fast({ baseUrl: base, auth });
    await client.request({ method: "GET", url: "/data" });
    await client.request({ method: "GET", url: "/data" });
    assert.equal(state.tokens, 1);
    await sleep(1000);
    await client.request({ method: "GET", url: "/data" });
    assert.equal(state.tokens, 2);
    assert.equal(state.data, 3);
  });

  test("a 401 on a data request refreshes the token once and retries", async () => {
    const { base, state, auth } = await oauthServer();
    const client = fast({ baseUrl: base, auth });
    await client.request({ method: "GET", url: "/data" });
    state.current = "revoked-by-server";
    const res = await client.request({ method: "GET", url: "/data" });
    assert.equal(res.status, 200);
    assert.equal(state.tokens, 2);
    assert.equal(state.data, 3);
    // Still 401 after the refresh: a terminal error, no second refresh.
    state.rejectNext = 2;
    await assert.rejects(client.request({ method: "GET", url: "/data" }), { status: 401, transient: false });
    assert.equal(state.tokens, 3);
    assert.equal(state.data, 5);
  });
});

describe("limits", () => {
  test("concurrency limit holds with 20 parallel calls", async () => {
    let inFlight = 0;
    let max = 0;
    const { base } = await serve((_q, res) => {
      inFlight++;
      max = Math.max(max, inFlight);
      setTimeout(() => {
        inFlight--;
        json(res, 200, {});
      }, 20);
    });
    const client = fast({ baseUrl: base, concurrency: 3 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.request({ method: "GET", url: `/${i}` })));
    assert.equal(max, 3);
    assert.equal(client.requests, 20);
  });

  test("requestsPerSecond spaces request starts", async () => {
    const { base, hits } = await serve((_q, res) => json(res, 200, {}));
    const client = fast({ baseUrl: base, requestsPerSecond: 20, concurrency: 10 });
    // Lower bounds only (a busy machine can delay a request, never make it early): the k-th request cannot start
    // before k * 50 ms after the first was asked for.
    const asked = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => client.request({ method: "GET", url: "/" })));
    assert.equal(hits.count, 6);
    const arrivals = [...hits.times].sort((a, b) => a - b);
    for (const [k, t] of arrivals.entries())
      assert.ok(t - asked >= k * 50 - 1, `request ${k} at +${t - asked} ms`);
  });

  test("the rate limiter lets each waiter go one interval after the one before", async () => {
    const limiter = new RateLimiter(20);
    const asked = Date.now();
    const released = await Promise.all(
      Array.from({ length: 6 }, () => limiter.wait().then(() => Date.now())),
    );
    for (const [k, t] of released.entries())
      assert.ok(t - asked >= k * 50 - 1, `waiter ${k} at +${t - asked} ms`);
  });
});

describe("secrets stay out of errors and logs", () => {
  const leaks = (text: string, secrets: string[]) => secrets.filter((s) => text.includes(s));

  test("api key in the query", async () => {
    const key = "qk-9f8e7d6c5b4a";
    const { base, hits } = await serve((req, res) => json(res, hits.count < 2 ? 503 : 404, { url: req.url }));
    const { log, lines } = capture();
    const client = new HttpClient({
      baseUrl: base,
      auth: apiKeyAuth(key, { name: "sig", location: "query" }),
      log,
      retry: { attempts: 3, initialDelayMs: 10 },
    });
    const err = await client.request({ method: "GET", url: "/data" }).catch((e: unknown) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 404);
    assert.equal(hits.count, 2);
    assert.ok(lines.length >= 3, lines.join("\n"));
    const text = [describeError(err), err.url, ...lines].join("\n");
    assert.deepEqual(leaks(text, [key]), [], text);
    assert.match(err.message, /sig=\*\*\*/);
  });

  test("oauth2 token and client secret", async () => {
    const { base, state, auth } = await oauthServer();
    const { log, lines } = capture();
    const client = new HttpClient({ baseUrl: base, auth, log, retry: { attempts: 2, initialDelayMs: 10 } });
    state.echo = true;
    const err = await client.request({ method: "GET", url: "/data" }).catch((e: unknown) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 404);
    assert.ok(state.current.length > 10);
    const text = [describeError(err), ...lines].join("\n");
    assert.deepEqual(leaks(text, [state.current, "client-secret-xyz"]), [], text);
    assert.match(err.message, /"seen":"Bearer \*\*\*"/);
  });

  test("a token endpoint that echoes the client secret", async () => {
    const secret = "cs-echoed-4242";
    const { base } = await serve((_q, res, body) => json(res, 400, { error: "invalid_scope", got: body }));
    const auth = oauth2ClientCredentials({
      access_token_url: `${base}/token`,
      client_id: "c",
      client_secret: secret,
    });
    const { log, lines } = capture();
    const err = await fast({ baseUrl: base, auth, log })
      .request({ method: "GET", url: "/data" })
      .catch((e: unknown) => e);
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 400);
    assert.match(
      err.message,
      new RegExp(`^OAuth2 token request to ${base}/token failed with status 400: .*invalid_scope`),
    );
    assert.deepEqual(leaks([describeError(err), ...lines].join("\n"), [secret]), []);
  });
});

describe("response policy: an API's own rules for failed responses", () => {
  const policy: HttpClientOptions["policy"] = {
    retry: (res) =>
      res.headers.get("x-should-retry") === "false" ? false : res.status === 409 ? true : undefined,
    delayMs: (res) => (res.headers.get("x-wait-ms") ? Number(res.headers.get("x-wait-ms")) : undefined),
    explain: (res) =>
      res.status === 401
        ? { message: "the service refused the key", hint: "set api_key to a valid key" }
        : undefined,
  };

  test("retry: false stops a 5xx at once; true retries a 409 the defaults would not", async () => {
    const { base, hits } = await serve((_q, res) => json(res, 503, { e: 1 }, { "x-should-retry": "false" }));
    const client = new HttpClient({ baseUrl: base, policy, retry: { initialDelayMs: 1 } });
    await assert.rejects(client.request({ method: "GET", url: "/x" }), /failed with status 503/);
    assert.equal(hits.count, 1);
    let n = 0;
    const s2 = await serve((_q, res) =>
      ++n < 3 ? json(res, 409, { e: "locked" }) : json(res, 200, { ok: true }),
    );
    const c2 = new HttpClient({ baseUrl: s2.base, policy, retry: { initialDelayMs: 1 } });
    assert.deepEqual((await c2.request({ method: "GET", url: "/y" })).json(), { ok: true });
    assert.equal(s2.hits.count, 3);
  });

  test("delayMs: the wait the API states without Retry-After is honoured", async () => {
    let n = 0;
    const { base, hits } = await serve((_q, res) =>
      ++n === 1 ? json(res, 429, {}, { "x-wait-ms": "400" }) : json(res, 200, { ok: 1 }),
    );
    await new HttpClient({ baseUrl: base, policy, retry: { initialDelayMs: 1 } }).request({
      method: "GET",
      url: "/z",
    });
    assert.equal(hits.count, 2);
    assert.ok((hits.times[1] as number) - (hits.times[0] as number) >= 380, "waited the stated 400 ms");
  });

  test("explain: the message and hint say what to do, instead of the body", async () => {
    const { base } = await serve((_q, res) => json(res, 401, { error: "bad key k-123456" }));
    await assert.rejects(
      new HttpClient({ baseUrl: base, policy }).request({ method: "GET", url: "/w" }),
      (err) => {
        const text = describeError(err);
        assert.match(text, /failed with status 401: the service refused the key/);
        assert.match(text, /set api_key to a valid key/);
        assert.ok(!text.includes("k-123456"));
        return true;
      },
    );
  });
});
