/**
 * The Zendesk source against FakeZendesk (ferry/testing), a local Support account written from Zendesk's API
 * reference (no Zendesk server can run here): the cursor-based ticket and user exports with side-loaded metric sets,
 * the time-based organization export, cursor-paginated lists, deletions, rate limits with Retry-After, and auth.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { LoadInfo, Pipeline } from "../../src/index.js";
import { type ZendeskOptions, zendeskSource } from "../../src/sources/zendesk/index.js";
import { FakeZendesk, type FakeZendeskOptions } from "../../src/testing/index.js";
import { describeError } from "../../src/util/errors.js";
import { ensureBuilt, ferryAsync, stackLines } from "../helpers/cli.js";
import { idStats, withPipeline } from "../helpers/rest-api.js";
import { assertSecretNowhere, counts, rows } from "../helpers/saas.js";

const T0 = 1_767_225_600; // 2026-01-01
const AUTH = { email: "admin@example.com", api_token: "zd-test-token" };

async function withZendesk<T>(o: FakeZendeskOptions, fn: (z: FakeZendesk) => Promise<T>): Promise<T> {
  const z = await FakeZendesk.start({ now: T0, exportPerMinute: 10_000, ...o });
  try {
    return await fn(z);
  } finally {
    await z.close();
  }
}

const run = (p: Pipeline, z: FakeZendesk, o: Partial<ZendeskOptions> = {}): Promise<LoadInfo> =>
  p.run(zendeskSource({ base_url: z.url, ...AUTH, ...o }));

const query = (z: FakeZendesk, path: string) =>
  z.requests.filter((r) => r.path === path).map((r) => decodeURIComponent(r.query.toString()));

describe("zendesk source against FakeZendesk", () => {
  test("first run exports everything a page at a time; the second loads only what changed (updates, deletions, new)", () =>
    withZendesk({ timeExportPageSize: 4 }, (z) =>
      withPipeline("zendesk_runs", async ({ p }) => {
        const tickets = Array.from({ length: 130 }, (_, i) => {
          if (i % 40 === 0) z.tick(1);
          return z.createTicket({
            subject: `T${i}`,
            tags: ["a", "b"],
            custom_fields: [{ id: 7, value: `v${i}` }],
          });
        });
        const users = Array.from({ length: 7 }, () => z.createUser());
        const orgs = Array.from({ length: 10 }, (_, i) => {
          if (i % 3 === 0) z.tick(1);
          return z.createOrganization();
        });
        z.addGroup("Support");
        z.addGroup("Billing");
        z.addTicketField("Order id");
        z.tick(120);

        const first = await run(p, z, { page_size: 50 });
        assert.deepEqual(first.rows, {
          tickets: 130,
          tickets__tags: 260,
          tickets__custom_fields: 130,
          ticket_metrics: 130,
          users: 7,
          organizations: 10,
          groups: 2,
          ticket_fields: 1,
        });
        const exportCalls = query(z, "/api/v2/incremental/tickets/cursor.json");
        assert.equal(exportCalls.length, 3);
        assert.equal(exportCalls[0], "per_page=50&include=metric_sets&start_time=0");
        assert.match(exportCalls[1] ?? "", /^per_page=50&include=metric_sets&cursor=\S+$/);
        assert.equal(query(z, "/api/v2/incremental/organizations.json").length, 3);
        assert.deepEqual(query(z, "/api/v2/groups.json"), ["page[size]=100"]);
        assert.deepEqual(await idStats(p, "organizations").then((s) => [s.n, s.distinct]), [10, 10]);
        const [m] = await rows(
          p,
          `select ticket_id, replies from ticket_metrics where ticket_id = ${tickets[0]?.id}`,
        );
        assert.deepEqual(m, { ticket_id: tickets[0]?.id, replies: 0 });

        z.tick(600);
        z.updateTicket(tickets[5]?.id as number, { status: "open" }, { replies: 2 });
        z.updateTicket(tickets[99]?.id as number, { subject: "Renamed" });
        z.deleteTicket(tickets[7]?.id as number);
        z.createTicket({ subject: "New one" });
        z.updateUser(users[1]?.id as number, { name: "Renamed user" });
        z.deleteUser(users[2]?.id as number);
        z.updateOrganization(orgs[3]?.id as number, { name: "Renamed org" });
        z.tick(120);
        const before = z.requests.length;
        const second = await run(p, z, { page_size: 50 });
        assert.deepEqual(second.rows, {
          tickets: 4,
          tickets__tags: 6, // the new ticket has no tags or custom fields
          tickets__custom_fields: 3,
          ticket_metrics: 3,
          users: 2,
          organizations: 1,
          groups: 2,
          ticket_fields: 1,
        });
        const later = z.requests
          .slice(before)
          .filter((r) => r.path === "/api/v2/incremental/tickets/cursor.json");
        assert.equal(later.length, 1);
        // The stored cursor is the last page's after_cursor: one the first run never sent.
        const firstCursors = exportCalls.map((q) => new URLSearchParams(q).get("cursor"));
        assert.ok(later[0]?.query.get("cursor") && !firstCursors.includes(later[0].query.get("cursor")));
        assert.ok(!later[0]?.query.has("start_time"), "a later run continues from the stored cursor");
        assert.deepEqual(
          await counts(p, ["tickets", "ticket_metrics", "users", "organizations", "groups", "ticket_fields"]),
          {
            tickets: 131,
            ticket_metrics: 131, // the deleted ticket's metric set stays as last loaded
            users: 7,
            organizations: 10,
            groups: 2,
            ticket_fields: 1,
          },
        );
        const st = await rows(p, "select status, count(*) as n from tickets group by status order by status");
        assert.deepEqual(
          st.map((r) => [r.status, Number(r.n)]),
          [
            ["deleted", 1],
            ["new", 129],
            ["open", 1],
          ],
        );
        const [r5] = await rows(p, `select replies from ticket_metrics where ticket_id = ${tickets[5]?.id}`);
        assert.equal(r5?.replies, 2);
        const act = await rows(p, "select active, count(*) as n from users group by active order by active");
        assert.deepEqual(
          act.map((r) => [r.active, Number(r.n)]),
          [
            [false, 1],
            [true, 6],
          ],
        );
        const third = await run(p, z, { page_size: 50 });
        assert.deepEqual(third.rows, { groups: 2, ticket_fields: 1 }, "only the replaced lists load again");
      }),
    ));

  test("a change in the last minute is held back by Zendesk and loaded by the next run, not lost", () =>
    withZendesk({}, (z) =>
      withPipeline("zendesk_lastminute", async ({ p }) => {
        const a = z.createTicket();
        z.createTicket();
        z.tick(300);
        z.updateTicket(a.id as number, { status: "solved" });
        z.tick(30); // the change is 30 s old: Zendesk does not export it yet (nor the ticket, whose time moved)
        const first = await run(p, z, { resources: ["tickets"] });
        assert.equal(first.rows.tickets, 1);
        assert.deepEqual(await rows(p, "select status from tickets"), [{ status: "new" }]);
        z.tick(60);
        const second = await run(p, z, { resources: ["tickets"] });
        assert.equal(second.rows.tickets, 1);
        assert.deepEqual(await rows(p, "select status from tickets order by id"), [
          { status: "solved" },
          { status: "new" },
        ]);
      }),
    ));

  test("ticket metrics added later: the ticket export starts over (its cursor did not cover them), all metrics load", () =>
    withZendesk({}, (z) =>
      withPipeline("zendesk_cover", async ({ p }) => {
        for (let i = 0; i < 5; i++) z.createTicket();
        z.tick(120);
        await run(p, z, { resources: ["tickets"] });
        const second = await run(p, z, { resources: ["tickets", "ticket_metrics"] });
        assert.deepEqual(second.rows, { tickets: 5, ticket_metrics: 5 });
        const exportCalls = query(z, "/api/v2/incremental/tickets/cursor.json");
        assert.equal(exportCalls[1], "per_page=1000&include=metric_sets&start_time=0");
        const third = await run(p, z, { resources: ["tickets", "ticket_metrics"] });
        assert.deepEqual(third.rows, {});
      }),
    ));

  test("organizations: a second shared across pages is read once (time-based export repeats it)", () =>
    withZendesk({ timeExportPageSize: 3 }, (z) =>
      withPipeline("zendesk_orgs", async ({ p }) => {
        for (let i = 0; i < 2; i++) z.createOrganization();
        z.tick(1);
        for (let i = 0; i < 5; i++) z.createOrganization(); // one second holds 5: a page runs past its size
        z.tick(1);
        const last = z.createOrganization();
        z.tick(120);
        const first = await run(p, z, { resources: ["organizations"] });
        assert.equal(first.rows.organizations, 8);
        z.tick(60);
        z.deleteOrganization(last.id as number);
        z.tick(120);
        const second = await run(p, z, { resources: ["organizations"] });
        assert.equal(second.rows.organizations, 1);
        const [d] = await rows(
          p,
          `select deleted_at is not null as gone from organizations where id = ${last.id}`,
        );
        assert.equal(d?.gone, true);
      }),
    ));

  test("rate limits: 429s with Retry-After (the export limit per window and a storm) are waited out, nothing lost or doubled", () =>
    withZendesk({ exportPerMinute: 2, windowSeconds: 1 }, (z) =>
      withPipeline("zendesk_limits", async ({ p }) => {
        for (let i = 0; i < 60; i++) z.createTicket();
        for (let i = 0; i < 30; i++) z.createUser();
        z.tick(120);
        z.failNext(3, 429, 1);
        const started = Date.now();
        const info = await run(p, z, { resources: ["tickets", "users"], page_size: 10 });
        assert.deepEqual([info.rows.tickets, info.rows.users], [60, 30]);
        assert.deepEqual(await idStats(p, "tickets").then((s) => [s.n, s.distinct]), [60, 60]);
        assert.ok(z.refused > 3, `refused ${z.refused}`);
        // 9 export pages at 2 a second, after three 1-second Retry-Afters: at least ~3 s of waiting.
        assert.ok(Date.now() - started >= 3000);
      }),
    ));

  test("oauth_token: a bearer token instead of email and API token", () =>
    withZendesk({ oauthTokens: ["zd-oauth-123"] }, (z) =>
      withPipeline("zendesk_oauth", async ({ p }) => {
        z.createUser();
        z.tick(120);
        const info = await p.run(
          zendeskSource({ base_url: z.url, oauth_token: "zd-oauth-123", resources: ["users"] }),
        );
        assert.equal(info.rows.users, 1);
        assert.equal(z.requests[0]?.headers.authorization, "Bearer zd-oauth-123");
      }),
    ));

  test("basic auth is {email}/token:{api_token}; an agent (not an admin) is told exports need an admin", () =>
    withZendesk({ agents: [{ email: "agent@example.com", api_token: "zd-agent", role: "agent" }] }, (z) =>
      withPipeline("zendesk_403", async ({ p }) => {
        z.addGroup("G");
        const info = await p.run(
          zendeskSource({
            base_url: z.url,
            email: "agent@example.com",
            api_token: "zd-agent",
            resources: ["groups"],
          }),
        );
        assert.equal(info.rows.groups, 1);
        assert.equal(
          z.requests[0]?.headers.authorization,
          `Basic ${Buffer.from("agent@example.com/token:zd-agent").toString("base64")}`,
        );
        await assert.rejects(
          p.run(
            zendeskSource({
              base_url: z.url,
              email: "agent@example.com",
              api_token: "zd-agent",
              resources: ["users"],
            }),
          ),
          (err) => {
            const text = describeError(err);
            assert.match(
              text,
              /the Zendesk user may not read this: Forbidden: You do not have access to this page/,
            );
            assert.match(text, /incremental exports need an admin/);
            return true;
          },
        );
      }),
    ));

  test("options are checked before any request", () => {
    assert.throws(
      () => zendeskSource({ subdomain: "acme", email: "a@b.c" }),
      /zendesk: api_token is missing/,
    );
    assert.throws(
      () => zendeskSource({ subdomain: "acme.zendesk.com", oauth_token: "x" }),
      /subdomain "acme.zendesk.com" is not a subdomain/,
    );
    assert.throws(
      () => zendeskSource({ subdomain: "acme", oauth_token: "x", resources: ["tickets", "macros"] }),
      /unknown resource "macros"/,
    );
    assert.throws(
      () => zendeskSource({ subdomain: "acme", oauth_token: "x", page_size: 5000 }),
      /page_size must be at most 1000/,
    );
  });

  describe("ferry run with credentials Zendesk refuses", () => {
    let tmp = "";
    before(() => {
      ensureBuilt();
      tmp = mkdtempSync(join(tmpdir(), "ferry-zendesk-cli-"));
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    test("401: a clear message naming the settings; the API token is nowhere (output, trace, failed-jobs, files)", () =>
      withZendesk({}, async (z) => {
        const secret = "zdTokenThatMustNeverBePrinted42";
        const env = ["$", "{env:ZENDESK_API_TOKEN}"].join("");
        writeFileSync(
          join(tmp, "zendesk.yaml"),
          `pipeline: { name: zendesk_401, destination: "duckdb:zendesk.duckdb", dataset: zendesk }
source: { type: zendesk, base_url: "${z.url}", email: admin@example.com, api_token: "${env}", resources: [tickets, groups] }
`,
        );
        const r = await ferryAsync(["run", "zendesk.yaml"], tmp, {
          ZENDESK_API_TOKEN: secret,
          FERRY_LOG_LEVEL: "debug",
        });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /Zendesk did not accept the credentials: Couldn't authenticate you/);
        assert.match(r.stderr, /api_token/);
        assert.deepEqual(stackLines(r.stderr), []);
        const basic = Buffer.from(`admin@example.com/token:${secret}`).toString("base64");
        assertSecretNowhere(tmp, "zendesk_401", secret, [r.stdout, r.stderr]);
        assertSecretNowhere(tmp, "zendesk_401", basic, [r.stdout, r.stderr]);
      }));
  });
});
