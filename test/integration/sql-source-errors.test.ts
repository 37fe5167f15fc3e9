/**
 * What a user sees when the SQL source cannot do its work (Postgres and MariaDB): a missing table or schema, a
 * refused connection, a bad password — each message names host, port and database, says what to check, and never
 * shows the password.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { ConfigError, describeError, ExtractError, FerryError } from "../../src/index.js";
import { sqlDatabase, sqlTable } from "../../src/sources/sql-database/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";
import { sourceServers } from "./sql-source-helpers.js";

const SPACE = "sqlsrc_errors";
const SECRET = "Wr0ng-Secret-pa55word";

/** A TCP port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Awaits a promise that must fail and returns the error with its full printed form. */
async function failure(p: Promise<unknown>): Promise<{ err: FerryError; text: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FerryError, `expected a FerryError, got ${String(err)}`);
    return { err, text: describeError(err) };
  }
  assert.fail("expected a failure");
}

for (const s of await sourceServers()) {
  const engine = s.name === "postgres" ? "postgres" : "mysql";
  const base = new URL(s.url(SPACE));
  const where = `${engine} at 127.0.0.1:${base.port}, database "${decodeURIComponent(base.pathname.slice(1))}"`;

  describe(`sql source errors: ${s.name}`, { skip: s.svc.skip }, () => {
    before(async () => {
      await s.reset(SPACE);
      await s.exec(
        SPACE,
        `CREATE TABLE ${s.q("Order Items")} (id INT PRIMARY KEY);
         CREATE TABLE doomed (id INT PRIMARY KEY);
         CREATE VIEW a_view AS SELECT id FROM doomed;`,
      );
    });
    after(() => s.drop(SPACE));

    const connect = { url: s.url(SPACE), schema: s.schema(SPACE) };

    it("names a missing table, where it was looked for, and the tables that are there", async () => {
      const { err, text } = await failure(sqlDatabase({ ...connect, tables: ["order items"] }));
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        new RegExp(
          `tables names "order items", which is not a table in schema "${SPACE}" of ${where}, user "ferry"`,
        ),
      );
      assert.match(
        text,
        /hint: did you mean "Order Items"\? table names are case-sensitive.*tables there: Order Items, doomed/,
      );
      const view = await failure(sqlTable({ ...connect, table: "nope" }));
      assert.match(view.err.message, /table names "nope", which is not a table/);
      const notView = await failure(sqlDatabase({ ...connect, tables: ["a_view"] }));
      assert.match(notView.text, /hint: "a_view" is a view: set includeViews/);
      const excluded = await failure(sqlDatabase({ ...connect, excludeTables: ["ghost"] }));
      assert.match(excluded.err.message, /excludeTables names "ghost"/);
      const inc = await failure(
        sqlDatabase({ ...connect, tables: ["doomed"], incremental: { ghost: { cursor: "id" } } }),
      );
      assert.match(inc.err.message, /incremental names table "ghost", which is not loaded/);
    });

    it("names a missing schema or database", async () => {
      if (s.name === "postgres") {
        const { err, text } = await failure(sqlDatabase({ url: s.url(SPACE), schema: "no_such_schema" }));
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`schema "no_such_schema" does not exist in ${where}`));
        assert.match(text, /hint: check the schema name \(case-sensitive\); schemas there: .*public/);
      } else {
        const { err, text } = await failure(sqlDatabase({ url: s.url("no_such_db") }));
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          /cannot use mysql at 127\.0\.0\.1:\d+, database "no_such_db", user "ferry": Unknown database/,
        );
        assert.match(text, /hint: check the database name at the end of the URL/);
      }
    });

    it("says where a refused connection went and what to check", async () => {
      const url = new URL(s.url(SPACE));
      url.port = String(await closedPort());
      url.password = SECRET;
      const { err, text } = await failure(sqlDatabase({ url: url.toString(), schema: s.schema(SPACE) }));
      assert.ok(err instanceof ExtractError);
      assert.equal(err.transient, true);
      assert.match(
        err.message,
        new RegExp(
          `^cannot connect to ${engine} at 127\\.0\\.0\\.1:${url.port}, database "${SPACE}|ferry_test`,
        ),
      );
      assert.match(err.message, /connection refused/);
      assert.match(
        text,
        new RegExp(
          `hint: check that the ${engine} server is running and accepts TCP connections on 127\\.0\\.0\\.1:${url.port}`,
        ),
      );
      assert.ok(!text.includes(SECRET), text);
    });

    it("reports a bad password without showing it", async () => {
      const url = new URL(s.url(SPACE));
      url.password = SECRET;
      const { err, text } = await failure(sqlDatabase({ url: url.toString(), schema: s.schema(SPACE) }));
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`^${where}, user "ferry" rejected the login`));
      assert.match(text, /hint: check the user name and password in the URL/);
      assert.ok(!text.includes(SECRET), text);
      assert.ok(!JSON.stringify({ ...err, cause: String(err.cause) }).includes(SECRET));
    });

    it("rejects URLs it cannot use, and bad options, before connecting", async () => {
      await assert.rejects(sqlDatabase({ url: "oracle://u:p@h/db" }), /unsupported URL scheme "oracle:"/);
      await assert.rejects(sqlDatabase({ url: "not a url" }), /url is not a valid URL/);
      await assert.rejects(sqlDatabase({ ...connect, chunkSize: 0 }), /chunkSize must be an integer/);
      await assert.rejects(sqlDatabase({ ...connect, tables: ["a\u0000b"] }), /is not a valid name/);
    });

    it("fails the run cleanly when a table is dropped after the source was created", async () => {
      const res = await sqlTable({ ...connect, table: "doomed" });
      await s.exec(SPACE, "DROP VIEW a_view; DROP TABLE doomed");
      const t = tempPipeline(`err_doomed_${s.name}`);
      try {
        const { err } = await failure(t.p.run(res));
        assert.ok(err instanceof ExtractError);
        assert.match(err.message, /table "doomed" no longer exists in schema/);
        assert.equal(err.fields.resource, "doomed");
        assert.deepEqual(await t.p.packages(), { pending: [], failed: [] });
      } finally {
        t.cleanup();
      }
    });
  });
}
