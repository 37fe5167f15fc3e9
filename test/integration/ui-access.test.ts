/**
 * The dashboard's access rules and its read-only SQL over HTTP (no browser): a dashboard bound off loopback needs its
 * token (a `?token=` link becomes an HttpOnly cookie), a loopback one answers loopback Host names only, writes need
 * the X-Ferry-UI header, secrets in a destination URL are masked, and SQL runs in a read-only transaction in the
 * Postgres test server (`scripts/services.sh up postgres`). The handler is served on 127.0.0.1 in every case; "bound
 * off loopback" is the host the dashboard is told it is bound to (tests never listen on other addresses).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";
import { parseJobsConfig } from "../../src/orchestration/jobs-config.js";
import { readOnlyQuery } from "../../src/ui/data-view.js";
import { createDashboard, type Dashboard } from "../../src/ui/ui-server.js";
import { dropSchemas } from "../helpers/backends.js";
import { ferryAsync } from "../helpers/cli.js";
import { service } from "../helpers/services.js";

async function serve(d: Dashboard): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (!d.handler(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function rawGet(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard access", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ferry-ui-access-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("off loopback a token is generated and required; ?token= sets an HttpOnly cookie", async () => {
    const d = createDashboard({ dir, host: "0.0.0.0", logger: silentLogger });
    assert.equal(d.tokenGenerated, true);
    const token = d.token as string;
    assert.ok(token.length >= 40);
    const { url, server } = await serve(d);
    try {
      const none = await fetch(`${url}/ui/api/overview`);
      assert.equal(none.status, 401);
      assert.match(
        ((await none.json()) as { error: string }).error,
        /^an access token is required: open the link ferry printed at start/,
      );
      assert.equal((await fetch(`${url}/ui/`)).status, 401);
      const wrong = await fetch(`${url}/ui/api/overview`, { headers: { authorization: `Bearer x${token}` } });
      assert.equal(wrong.status, 401);
      const bearer = await fetch(`${url}/ui/api/overview`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(bearer.status, 200);
      assert.deepEqual(await bearer.json(), { pipelines: [], events: false, runNow: false });
      const link = await fetch(d.link(url), { redirect: "manual" });
      assert.equal(link.status, 303);
      assert.equal(link.headers.get("location"), "/ui/");
      const cookie = link.headers.get("set-cookie") as string;
      assert.equal(cookie, `ferry_ui_token=${token}; HttpOnly; SameSite=Strict; Path=/ui`);
      const withCookie = await fetch(`${url}/ui/`, { headers: { cookie: cookie.split(";")[0] as string } });
      assert.equal(withCookie.status, 200);
      assert.match(await withCookie.text(), /<script type="module" src="app.js"><\/script>/);
    } finally {
      server.close();
    }
  });

  test("ferry ui refuses a port that is not one, and one in use, saying what to do", async () => {
    const bad = await ferryAsync(["ui", "--port", "http"], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: --port must be a port number \(0-65535\), not http$/m);
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    try {
      const port = String((holder.address() as AddressInfo).port);
      const busy = await ferryAsync(["ui", "--port", port], dir);
      assert.equal(busy.status, 1);
      assert.match(
        busy.stderr,
        new RegExp(
          `the dashboard cannot listen on 127\\.0\\.0\\.1:${port} .*choose another port with --port`,
        ),
      );
    } finally {
      holder.close();
    }
  });

  test("a given token is used, not printed as generated", () => {
    const d = createDashboard({ dir, host: "10.1.2.3", token: "chosen-token", logger: silentLogger });
    assert.equal(d.token, "chosen-token");
    assert.equal(d.tokenGenerated, false);
  });

  test("on loopback no token, but only loopback Host names, and writes need X-Ferry-UI", async () => {
    const d = createDashboard({ dir, host: "127.0.0.1", logger: silentLogger });
    assert.equal(d.token, undefined);
    const { url, server } = await serve(d);
    try {
      assert.equal((await fetch(`${url}/ui/api/overview`)).status, 200);
      // fetch() sets Host itself: a raw request names another one, as a page reached by DNS rebinding would
      const rebound = await rawGet(`${url}/ui/api/overview`, "attacker.example");
      assert.equal(rebound.status, 421);
      assert.equal(
        rebound.body,
        "this dashboard answers on 127.0.0.1 and localhost only, not on attacker.example",
      );
      const post = await fetch(`${url}/ui/api/pipelines/crm/run`, { method: "POST", body: "{}" });
      assert.equal(post.status, 403);
      assert.deepEqual(await post.json(), { error: "send the X-Ferry-UI: 1 header" });
      const css = await fetch(`${url}/ui/vendor/uPlot.min.css`);
      assert.equal(css.status, 200);
      assert.match(
        css.headers.get("content-security-policy") as string,
        /^default-src 'self'; script-src 'self';/,
      );
      assert.equal((await fetch(`${url}/ui/../package.json`)).status, 404);
      assert.equal((await fetch(`${url}/ui/%2e%2e%2fpackage.json`)).status, 404);
    } finally {
      server.close();
    }
  });
});

const pg = await service("postgres");

describe("dashboard over a Postgres pipeline", { skip: pg.skip }, () => {
  const dataset = `ui_${randomBytes(4).toString("hex")}`;
  let dir: string;
  let url: string;
  let server: Server;
  const p = () => pipeline({ name: "pgui", destination: pg.url, dataset, dir: join(dir, ".ferry") });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "ferry-ui-pg-"));
    await p().run(
      [
        { id: 1, name: "a" },
        { id: 2, name: "b" },
      ],
      { table: "things" },
    );
    // The state keeps the URL without its password: the project file's destination is how the dashboard connects.
    const jobs = parseJobsConfig(
      { pipelines: [{ name: "pgui", spec: "x.yaml", destination: pg.url, dataset }] },
      dir,
    );
    const d = createDashboard({ dir: join(dir, ".ferry"), jobs, host: "127.0.0.1", logger: silentLogger });
    ({ url, server } = await serve(d));
  });
  after(async () => {
    server?.close();
    await dropSchemas(pg.url, [dataset]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the destination's password is masked on the pipelines page", async () => {
    const text = await (await fetch(`${url}/ui/api/overview`)).text();
    const password = decodeURIComponent(new URL(pg.url).password);
    assert.ok(!text.includes(`:${password}@`), text);
    const row = (JSON.parse(text) as { pipelines: { name: string; destination: string }[] }).pipelines[0];
    assert.equal(row?.name, "pgui");
    assert.match(row?.destination ?? "", /^postgres:\/\/\S*:\*\*\*@127\.0\.0\.1:\d+\//);
  });

  test("SQL runs in a read-only transaction, and the box refuses writes", async () => {
    const sql = (q: string) =>
      fetch(`${url}/ui/api/pipelines/pgui/sql`, {
        method: "POST",
        headers: { "x-ferry-ui": "1", "content-type": "application/json" },
        body: JSON.stringify({ sql: q }),
      });
    const count = await sql("select count(*)::int as n from things");
    assert.deepEqual(await count.json(), { rows: [{ n: 2 }], truncated: false });
    // the second guard: the database itself would refuse a write the statement check let through
    const ro = await readOnlyQuery(p(), "show transaction_read_only");
    assert.deepEqual(ro.rows, [{ transaction_read_only: "on" }]);
    const refused = await sql("update things set name = 'x'");
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), {
      error:
        "refused: UPDATE is not a reading statement; only reading statements run here (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN)",
    });
    // values JSON has no type for: bytes as \x hex, integers beyond 2^53 as text
    const odd = await sql("select '\\x01ff'::bytea as b, 9007199254740993::bigint as big");
    assert.deepEqual(await odd.json(), {
      rows: [{ b: "\\x01ff", big: "9007199254740993" }],
      truncated: false,
    });
    const after = await sql("select name from things order by id");
    assert.deepEqual(await after.json(), { rows: [{ name: "a" }, { name: "b" }], truncated: false });
  });
});
