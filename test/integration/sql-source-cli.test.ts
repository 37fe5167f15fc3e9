/**
 * `source: { type: sql_database }` specs run through the CLI against Postgres and MariaDB: tables by their own
 * names, exclude_tables, chunk_size, incremental with initial_value, the password from the environment, and
 * failures that print host/port/database but never the password.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LoadInfo, pipeline, silentLogger } from "../../src/index.js";
import { ensureBuilt, ferry, stackLines } from "../helpers/cli.js";
import { sourceServers } from "./sql-source-helpers.js";

const SPACE = "sqlsrc_cli";
const SECRET = "N0t-The-Real-Pa55word";
/** The spec's own placeholder syntax (not a JS template). */
const ENV_PASSWORD = ["$", "{env:SQLSRC_PASSWORD}"].join("");

before(ensureBuilt);

for (const s of await sourceServers()) {
  const ts = s.name === "postgres" ? "timestamp(6)" : "DATETIME(6)";
  const name = `sqlcli_${s.name}`;

  describe(`ferry run <spec> with sql_database: ${s.name}`, { skip: s.svc.skip }, () => {
    let tmp = "";
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), "ferry-sqlcli-"));
      await s.reset(SPACE);
      await s.exec(
        SPACE,
        `CREATE TABLE ${s.q("Order Items")} (id INT PRIMARY KEY, sku VARCHAR(10), updated_at ${ts});
         INSERT INTO ${s.q("Order Items")} VALUES (1, 'a', '2023-12-31 23:00:00'), (2, 'b', '2024-01-02 00:00:00'),
           (3, 'c', '2024-01-03 00:00:00');
         CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(10));
         INSERT INTO customers VALUES (1, 'Ada');
         CREATE TABLE audit_log (id INT PRIMARY KEY);`,
      );
    });
    after(async () => {
      rmSync(tmp, { recursive: true, force: true });
      await s.drop(SPACE);
    });

    const url = new URL(s.url(SPACE));
    const password = decodeURIComponent(url.password);
    url.password = "PASSWORD_PLACEHOLDER";
    const spec = (extra = "") => `pipeline: { name: ${name}, destination: "duckdb:out.duckdb", dataset: shop }
source:
  type: sql_database
  url: "${url.toString().replace("PASSWORD_PLACEHOLDER", ENV_PASSWORD)}"
${s.schema(SPACE) ? `  schema: ${s.schema(SPACE)}\n` : ""}  exclude_tables: [audit_log]
  chunk_size: 2
  incremental:
    "Order Items": { cursor: updated_at, initial_value: "2024-01-01T00:00:00Z" }
${extra}`;

    const query = (sql: string) =>
      pipeline({
        name: "reader",
        destination: `duckdb:${join(tmp, "out.duckdb")}`,
        dataset: "shop",
        dir: join(tmp, "reader"),
        logger: silentLogger,
      })
        .dataset()
        .sql(sql);

    it("loads the tables a spec names, then only new rows", async () => {
      writeFileSync(join(tmp, "shop.yaml"), spec());
      const env = { SQLSRC_PASSWORD: password };
      const first = ferry(["run", "shop.yaml", "--json"], tmp, env);
      assert.equal(first.status, 0, first.stderr);
      const info = JSON.parse(first.stdout) as LoadInfo;
      assert.deepEqual(info.rows, { customers: 1, order_items: 2 });
      assert.deepEqual(await query("select id, sku from order_items order by id"), [
        { id: 2, sku: "b" },
        { id: 3, sku: "c" },
      ]);
      await s.exec(SPACE, `INSERT INTO ${s.q("Order Items")} VALUES (4, 'd', '2024-01-04 00:00:00')`);
      const second = ferry(["run", "shop.yaml", "--json"], tmp, env);
      assert.equal(second.status, 0, second.stderr);
      assert.deepEqual((JSON.parse(second.stdout) as LoadInfo).rows, { customers: 1, order_items: 1 });
      assert.deepEqual(await query("select count(*) as n from order_items"), [{ n: 3 }]);
      // customers is read whole and replaced, not appended.
      assert.deepEqual(await query("select count(*) as n from customers"), [{ n: 1 }]);
      const tables = await query(
        "select table_name from information_schema.tables where table_schema = 'shop' and table_name not like '\\_ferry%' escape '\\' order by 1",
      );
      assert.deepEqual(
        tables.map((r) => r.table_name),
        ["customers", "order_items"],
      );
    });

    it("prints where a failed login went, never the password", () => {
      writeFileSync(join(tmp, "bad.yaml"), spec());
      const r = ferry(["run", "bad.yaml"], tmp, { SQLSRC_PASSWORD: SECRET });
      assert.notEqual(r.status, 0);
      assert.match(
        r.stderr,
        new RegExp(`127\\.0\\.0\\.1:${url.port}, database "[a-z_]+", user "ferry" rejected the login`),
      );
      assert.match(r.stderr, /hint: check the user name and password in the URL/);
      assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), r.stderr);
      assert.deepEqual(stackLines(r.stderr), []);
    });

    it("rejects unknown spec keys with the list of allowed ones", () => {
      writeFileSync(join(tmp, "typo.yaml"), spec("  chunksize: 5\n"));
      const r = ferry(["run", "typo.yaml"], tmp, { SQLSRC_PASSWORD: password });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /sql_database: unknown source key\(s\) "chunksize"/);
      assert.match(r.stderr, /allowed: name, url, schema, tables, exclude_tables, include_views, chunk_size/);
    });
  });
}
