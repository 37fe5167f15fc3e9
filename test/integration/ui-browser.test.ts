// biome-ignore-all lint/performance/useDomNodeTextContent: these are playwright Locator.innerText() calls (rendered text), not DOM properties
/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core): `ferry ui` over pipelines just run
 * by `ferry jobs run` (a local REST API into DuckDB files), and `/ui` on `ferry serve` while events are sent. The
 * pages show the exact tables and row counts, a run started from the page completes, the schema's history shows the
 * column a second run added, the SQL box refuses writes with its message, the live plot moves, and no request the
 * page makes leaves 127.0.0.1. A failing step leaves a screenshot in test-results/ui/.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FakeApi } from "../../src/testing/index.js";
import { chromiumOrSkip, openBrowser, type TestBrowser } from "../helpers/browser.js";
import { ferryAsync } from "../helpers/cli.js";
import { FerryProcess } from "../helpers/ferry-process.js";
import { restSpec } from "../helpers/schedules.js";
import { waitFor } from "../helpers/serve.js";

const skip = chromiumOrSkip();
let withEmail = false;
const items = () =>
  Array.from({ length: 25 }, (_, i) => ({
    id: i + 1,
    name: `n${i + 1}`,
    tags: ["a", "b"],
    ...(withEmail ? { email: `u${i + 1}@example.com` } : {}),
  }));

/** The link `ferry ui` / `ferry serve` printed for the dashboard. */
async function dashboardUrl(p: FerryProcess): Promise<string> {
  await p.waitFor(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ui\//);
  // ferry ui prints it; ferry serve logs it (stderr)
  const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/ui\/)/.exec(`${p.stdout}\n${p.stderr}`);
  return (m as RegExpExecArray)[1] as string;
}

describe("the dashboard in chromium", { skip }, () => {
  let api: FakeApi;
  let dir: string;
  let ui: FerryProcess;
  let base: string;
  let b: TestBrowser;

  before(async () => {
    api = await FakeApi.start([{ path: "/items", handler: () => ({ json: items() }) }]);
    dir = mkdtempSync(join(tmpdir(), "ferry-ui-"));
    writeFileSync(join(dir, "items.yaml"), restSpec("x", api.url));
    writeFileSync(
      join(dir, "ferry.yaml"),
      `pipelines:\n  - { name: crm, spec: ./items.yaml, destination: "duckdb:crm.duckdb", schedule: { every: 6h } }\n`,
    );
    writeFileSync(join(dir, "empty.yaml"), "pipelines: []\n");
    // Two runs: the second brings a new column (schema version 2).
    for (const email of [false, true]) {
      withEmail = email;
      const r = await ferryAsync(["jobs", "run", "crm"], dir);
      assert.equal(r.status, 0, r.stderr);
    }
    ui = new FerryProcess(["ui", "--port", "0"], dir);
    base = await dashboardUrl(ui);
    b = await openBrowser();
  });

  after(async () => {
    await b?.close();
    if (ui) assert.equal((await ui.stop()).code, 0, ui.stderr);
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the pipelines page shows the pipeline just run: destination, status, rows, schedule", async () => {
    await b.step("pipelines-page", async () => {
      const { page } = b;
      await page.goto(base);
      const row = page.locator("#pipelines tbody tr", { hasText: "crm" });
      await row.waitFor();
      const cells = await row.locator("td").allInnerTexts();
      assert.equal(cells[0], "crm");
      assert.equal(cells[1], "duckdb:crm.duckdb"); // as the project file says
      assert.equal(cells[2], "api");
      assert.equal(cells[3], "completed");
      assert.equal(cells[4], "75"); // 25 items + 50 tags
      assert.equal(cells[7], "every 6h");
    });
  });

  test("a run's page shows stage timings, rows per table and the schema changes", async () => {
    await b.step("run-page", async () => {
      const { page } = b;
      await page.goto(`${base}#/p/crm`);
      await page.locator("#runs tbody tr").nth(1).waitFor();
      assert.equal(await page.locator("#runs tbody tr").count(), 2);
      // the plots of rows per run and run duration are drawn (uPlot canvases) with both runs
      assert.equal(await page.locator("#plot-rows").getAttribute("data-points"), "2");
      assert.equal(await page.locator("#plot-duration canvas").count(), 1);
      // the oldest run: the first, which created the tables
      await page.locator("#runs tbody tr").nth(1).locator("a").click();
      await page.locator("#rows").waitFor();
      assert.equal(await page.locator('#rows [data-table="items"]').innerText(), "25");
      assert.equal(await page.locator('#rows [data-table="items__tags"]').innerText(), "50");
      const stages = await page.locator("#stages tbody tr td:first-child").allInnerTexts();
      assert.deepEqual(stages, ["extract", "normalize", "load", "total"]);
      const changes = await page.locator("#schema-changes tbody tr").allInnerTexts();
      assert.ok(
        changes.some((c) => /new table\titems\t/.test(c)),
        changes.join("\n"),
      );
      assert.ok(
        changes.some((c) => /new table\titems__tags/.test(c)),
        changes.join("\n"),
      );
      assert.equal(await page.locator("#failed-jobs").innerText(), "pipeline crm has no failed jobs");
    });
  });

  test("the schema page shows the child-table tree, column types and the history as a diff", async () => {
    await b.step("schema-page", async () => {
      const { page } = b;
      await page.goto(`${base}#/p/crm/schema`);
      await page.locator("#schema-tree").waitFor();
      // items__tags sits under items
      await page.locator('#schema-tree li[data-table="items"] li[data-table="items__tags"]').waitFor();
      const itemsCols = page.locator('#schema-tree li[data-table="items"] > details > table tbody tr');
      const idRow = itemsCols.filter({ has: page.locator("td:first-child", { hasText: /^id$/ }) });
      assert.equal(await idRow.locator("td").nth(1).innerText(), "bigint");
      assert.equal(await idRow.locator("td").nth(3).innerText(), "primary key");
      const v2 = await page.locator('#schema-history [data-version="2"] li').allInnerTexts();
      assert.deepEqual(v2, ["+ items.email text"]);
      const v1 = await page.locator('#schema-history [data-version="1"] li').allInnerTexts();
      assert.ok(v1.includes("+ table items") && v1.includes("+ table items__tags"), v1.join("\n"));
    });
  });

  test("the data page shows a table's first rows and the SQL box reads but refuses writes", async () => {
    await b.step("data-page", async () => {
      const { page } = b;
      await page.goto(`${base}#/p/crm/data/items`);
      const rows = page.locator('[data-table-rows="items"] tbody tr');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 50); // two runs of 25, append
      const sql = async (text: string) => {
        await page.fill("#sql", text);
        await page.click("#sql-run");
        await page.locator("#sql-result table, #sql-result [role=alert]").first().waitFor();
        return page.locator("#sql-result").innerText();
      };
      assert.match(await sql("select count(*) as n from items where email is not null"), /^n\s+25$/m);
      assert.equal(
        (await sql("delete from items")).split("\n")[0],
        "refused: DELETE is not a reading statement; only reading statements run here (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN)",
      );
      assert.equal(
        (await sql("select 1; drop table items")).split("\n")[0],
        "refused: 2 statements; only reading statements run here (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN), one at a time",
      );
      assert.equal(
        (await sql("with x as (select 1) insert into items (id) select * from x")).split("\n")[0],
        "refused: INSERT writes or changes the session; only reading statements run here (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN)",
      );
      // the database's own error for a query it cannot run
      assert.match(
        await sql("select * from no_such_table"),
        /^the query failed: Catalog Error: Table with name no_such_table does not exist!/,
      );
      // nothing was written
      assert.match(await sql("select count(*) as n from items"), /^n\s+50$/m);
    });
  });

  test("a run started from the page completes and shows its rows", async () => {
    await b.step("run-now", async () => {
      const { page } = b;
      await page.goto(`${base}#/p/crm`);
      await page.locator('button[data-run="crm"]').click();
      await page.waitForURL(/#\/p\/crm\/run\/crm-/);
      await page.locator('#run-facts [data-status="completed"]').waitFor({ timeout: 120_000 });
      assert.equal(await page.locator('#rows [data-table="items"]').innerText(), "25");
      const r = await ferryAsync(["jobs", "list", "--json"], dir);
      const runs = (JSON.parse(r.stdout) as { runs: { status: string; reason?: string }[] }).runs;
      assert.equal(runs.length, 3);
      assert.deepEqual(runs[0], { ...runs[0], status: "completed", reason: "run from the dashboard" });
    });
  });

  test("the live plot moves and the tail shows events while they are sent to ferry serve", async () => {
    const serve = new FerryProcess(
      ["serve", "--config", "empty.yaml", "--token", "phc_ui", "--port", "0", "--dir", "serve-dir"],
      dir,
    );
    try {
      const ui2 = await dashboardUrl(serve);
      const capture = ui2.replace(/\/ui\/$/, "");
      await b.step("events-page", async () => {
        const { page } = b;
        await page.goto(`${ui2}#/events`);
        await page.locator("#plot-rates canvas").waitFor();
        let sent = 0;
        const send = async () => {
          const batch = Array.from({ length: 20 }, (_, i) => ({
            event: "ui_test_event",
            distinct_id: `user-${i}`,
            properties: { n: sent + i },
          }));
          const res = await fetch(`${capture}/batch/`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ api_key: "phc_ui", batch }),
          });
          assert.equal(res.status, 200);
          sent += batch.length;
        };
        const rates = page.locator("#plot-rates");
        const pointsAt = async () => Number((await rates.getAttribute("data-points")) ?? 0);
        const before = await pointsAt();
        // Events go on being sent until the plot has new points and has drawn a rate above zero.
        await waitFor(
          "the events/s plot to show accepted events",
          async () => {
            await send();
            const total = Number((await rates.getAttribute("data-total-accepted")) ?? 0);
            return total > 0 && (await pointsAt()) > before;
          },
          90_000,
        );
        await page.locator("#tail-table tbody tr", { hasText: "ui_test_event" }).first().waitFor();
        assert.match(await page.locator("#events-status").innerText(), /events\/s accepted/);
      });
    } finally {
      assert.equal((await serve.stop()).code, 0, serve.stderr);
    }
  });

  test("no request of the pages left 127.0.0.1", () => {
    assert.ok(b.requests.length > 10, `only ${b.requests.length} request(s) recorded`);
    assert.deepEqual(b.offHost, []);
    assert.ok(b.requests.some((u) => u.endsWith("/ui/vendor/uPlot.iife.min.js")));
  });
});
