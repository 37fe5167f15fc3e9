import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import pg from "pg";
import { stagingSchema } from "../../../src/destinations/postgres/index.js";
import {
  ConfigError,
  DestinationError,
  describeError,
  LoadPackageFailedError,
  type Pipeline,
  pipeline,
  resource,
  silentLogger,
} from "../../../src/index.js";
import { dropSchemas } from "../../helpers/backends.js";
import { service } from "../../helpers/services.js";

// What only Postgres has: a server connection that can drop mid-load, credentials, a staging schema and the
// unique index behind ON CONFLICT upserts. The shared suites (types, dispositions, names, state) run here too.

const pgService = await service("postgres");

const withUrl = (url: string, change: (u: URL) => void) => {
  const u = new URL(url);
  change(u);
  return u.toString();
};

interface Ctx {
  p: Pipeline;
  dataset: string;
  dir: string;
}

async function withPipeline(
  label: string,
  fn: (c: Ctx) => Promise<void>,
  extra: Partial<Parameters<typeof pipeline>[0]> = {},
): Promise<void> {
  const dataset = `fpg_${label}_${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "ferry-"));
  const p = pipeline({
    name: label,
    destination: pgService.url,
    dataset,
    dir: join(dir, ".ferry"),
    logger: silentLogger,
    ...extra,
  });
  try {
    await fn({ p, dataset, dir });
  } finally {
    await dropSchemas(pgService.url, [dataset, stagingSchema(dataset)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: pgService.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Terminates the first ferry backend of this dataset seen running a COPY; resolves true once it did. */
function terminateDuringCopy(dataset: string, signal: { stop: boolean }): Promise<boolean> {
  return admin(async (c) => {
    while (!signal.stop) {
      const r = await c.query(
        `select pg_terminate_backend(pid) as killed from pg_stat_activity
          where application_name = 'ferry' and state = 'active' and query like 'COPY %' and strpos(query, $1) > 0`,
        [dataset],
      );
      if (r.rows.some((x) => x.killed === true)) return true;
      await new Promise((res) => setTimeout(res, 5));
    }
    return false;
  });
}

/** 150k rows, ~15 MB of load files: their COPY runs long enough to be terminated. */
const bulk = () =>
  resource({ name: "bulk" }, function* () {
    for (let i = 0; i < 150; i++)
      yield Array.from({ length: 1000 }, (_, k) => ({
        id: i * 1000 + k,
        pad: `row ${i * 1000 + k} `.padEnd(80, "x"),
      }));
  });

const rowCount = async (p: Pipeline, table: string) =>
  (await p.dataset().tables()).includes(table)
    ? (await p.dataset().sql(`select count(*) as n, count(distinct id) as k from "${table}"`))[0]
    : { n: 0, k: 0 };

describe("postgres destination", { skip: pgService.skip }, () => {
  test("a connection terminated during COPY is retried on a new connection: the load completes exactly once", () =>
    withPipeline("dropretry", async ({ p, dataset }) => {
      await p.extract(bulk());
      await p.normalize();
      const signal = { stop: false };
      const killer = terminateDuringCopy(dataset, signal);
      const loaded = await p.load().finally(() => {
        signal.stop = true;
      });
      assert.equal(await killer, true, "a COPY was terminated");
      assert.equal(loaded.loadIds.length, 1);
      assert.deepEqual(await rowCount(p, "bulk"), { n: 150_000, k: 150_000 });
      assert.deepEqual(await p.dataset().sql("select count(*) as n from _ferry_loads"), [{ n: 1 }]);
    }));

  test("without retries the load fails cleanly (nothing half-loaded) and the next run completes it once", () =>
    withPipeline(
      "dropfail",
      async ({ p, dataset }) => {
        await p.extract(bulk());
        await p.normalize();
        const signal = { stop: false };
        const killer = terminateDuringCopy(dataset, signal);
        await assert.rejects(
          p.load().finally(() => {
            signal.stop = true;
          }),
          (e: unknown) => {
            assert.ok(e instanceof DestinationError, String(e));
            assert.equal(e.transient, true);
            assert.match(e.message, /terminat|Connection/i);
            return true;
          },
        );
        assert.equal(await killer, true);
        assert.deepEqual(await rowCount(p, "bulk"), { n: 0, k: 0 });
        assert.equal((await p.dataset().tables()).includes("_ferry_loads"), false);
        assert.equal((await p.packages()).pending.length, 1);
        const info = await p.run();
        assert.equal(info.pendingCompleted.length, 1);
        assert.deepEqual(await rowCount(p, "bulk"), { n: 150_000, k: 150_000 });
        assert.deepEqual(await p.dataset().sql("select count(*) as n from _ferry_loads"), [{ n: 1 }]);
        assert.equal((await p.packages()).pending.length, 0);
      },
      { retry: { attempts: 1, initialDelayMs: 10 } },
    ));

  test("a wrong password fails at once with host, port, database and user, never the password", async () => {
    const secret = `wrong-${randomBytes(6).toString("hex")}`;
    const url = withUrl(pgService.url, (u) => {
      u.password = secret;
    });
    const u = new URL(pgService.url);
    const dir = mkdtempSync(join(tmpdir(), "ferry-"));
    try {
      const p = pipeline({ name: "badpw", destination: url, dir, logger: silentLogger });
      const started = Date.now();
      const err = await p.run([{ id: 1 }], { table: "t" }).then(
        () => assert.fail("the run must fail"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DestinationError, String(err));
      assert.equal(err.transient, false);
      assert.ok(Date.now() - started < 5000, "no retries for bad credentials");
      assert.match(err.message, new RegExp(`${u.hostname}:${u.port}`));
      assert.match(err.message, new RegExp(`database "${u.pathname.slice(1)}"`));
      assert.match(err.message, new RegExp(`user "${u.username}"`));
      assert.match(err.message, /password authentication failed/);
      assert.match(err.hint ?? "", /password/);
      const printed = `${describeError(err)} ${JSON.stringify(err.fields)} ${err.stack ?? ""}`;
      assert.equal(printed.includes(secret), false, printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a refused connection and a missing database say what to check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-"));
    try {
      const refused = pipeline({
        name: "refused",
        destination: "postgres://someone:pw-not-shown@127.0.0.1:1/nowhere",
        dir,
        logger: silentLogger,
        retry: { attempts: 1, initialDelayMs: 10 },
      });
      await assert.rejects(refused.run([{ id: 1 }], { table: "t" }), (e: unknown) => {
        assert.ok(e instanceof DestinationError);
        assert.equal(e.transient, true);
        assert.match(e.message, /127\.0\.0\.1:1, database "nowhere", user "someone"/);
        assert.match(e.hint ?? "", /server runs/);
        assert.equal(describeError(e).includes("pw-not-shown"), false);
        return true;
      });
      const reserved = pipeline({
        name: "reserved",
        destination: pgService.url,
        dataset: "pg_mine",
        dir,
        logger: silentLogger,
      });
      await assert.rejects(reserved.run([{ id: 1 }], { table: "t" }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /dataset name "pg_mine" cannot be a Postgres schema/);
        return true;
      });
      const missing = pipeline({
        name: "missing",
        destination: withUrl(pgService.url, (u) => {
          u.pathname = "/no_such_db_ferry";
        }),
        dir,
        logger: silentLogger,
      });
      await assert.rejects(missing.run([{ id: 1 }], { table: "t" }), (e: unknown) => {
        assert.ok(e instanceof DestinationError);
        assert.match(e.message, /database "no_such_db_ferry"/);
        assert.match(e.hint ?? "", /does not exist/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a NUL character fails the load clearly (table, column) and loads nothing; clean data loads next", () =>
    withPipeline("nul", async ({ p }) => {
      await p.run([{ id: 0, s: "fine" }], { table: "other" });
      const err = await p
        .run(
          [
            { id: 1, s: "ok" },
            { id: 2, s: "bad\u0000value" },
          ],
          { table: "t" },
        )
        .then(
          () => assert.fail("must fail"),
          (e: unknown) => e,
        );
      assert.ok(err instanceof LoadPackageFailedError, String(err));
      assert.match(err.message, /row 2 of table "t" has a NUL character \(\\u0000\) in column "s"/);
      assert.equal((await p.dataset().tables()).includes("t"), false);
      assert.equal((await p.packages()).failed.length, 1);
      const ok = await p.run([{ id: 3, s: "clean", doc: { k: "v" } }], { table: "t" });
      assert.deepEqual(ok.rows, { t: 1 });
      assert.deepEqual(await p.dataset().sql("select id, s from t"), [{ id: 3, s: "clean" }]);
    }));

  test("merges stage in <dataset>_staging (left empty) and upsert tables get a unique primary key index", () =>
    withPipeline("staging", async ({ p, dataset }) => {
      const users = (strategy: "upsert" | "delete-insert", rows: unknown[]) =>
        resource(
          {
            name: `u_${strategy.replace("-", "_")}`,
            primaryKey: ["id", "org"],
            writeDisposition: { disposition: "merge", strategy },
          },
          rows,
        );
      for (const s of ["upsert", "delete-insert"] as const) {
        await p.run(users(s, [{ id: 1, org: "a", v: 1, tags: ["x"] }]));
        await p.run(
          users(s, [
            { id: 1, org: "a", v: 2 },
            { id: 1, org: "b", v: 3 },
          ]),
        );
      }
      const indexes = await admin((c) =>
        c.query("select tablename, indexdef from pg_indexes where schemaname = $1 order by tablename", [
          dataset,
        ]),
      );
      assert.equal(indexes.rows.length, 1);
      assert.equal(indexes.rows[0]?.tablename, "u_upsert");
      assert.match(String(indexes.rows[0]?.indexdef), /^CREATE UNIQUE INDEX .* USING btree \(id, org\)$/);
      const staging = await admin((c) =>
        c.query(
          "select n.nspname, (select count(*) from pg_class k where k.relnamespace = n.oid)::int as tables from pg_namespace n where n.nspname = $1",
          [stagingSchema(dataset)],
        ),
      );
      assert.deepEqual(staging.rows, [{ nspname: `${dataset}_staging`, tables: 0 }]);
      for (const t of ["u_upsert", "u_delete_insert"])
        assert.deepEqual(await p.dataset().sql(`select id, org, v from ${t} order by id, org`), [
          { id: 1, org: "a", v: 2 },
          { id: 1, org: "b", v: 3 },
        ]);
    }));

  test("postgresql:// works; sessions run in UTC as application ferry; state keeps no password", () =>
    withPipeline(
      "session",
      async ({ p }) => {
        await p.run([{ id: 1, at: "2024-01-01T12:00:00+05:00" }], { table: "t" });
        assert.deepEqual(
          await p
            .dataset()
            .sql(
              "select current_setting('TimeZone') as tz, current_setting('application_name') as app, cast(at as varchar) as at from t",
            ),
          [{ tz: "UTC", app: "ferry", at: "2024-01-01 07:00:00+00" }],
        );
        const pass = new URL(pgService.url).password;
        const state = JSON.stringify(p.state);
        assert.match(state, /"destination":"postgresql:\/\/[^"@:]+@/);
        assert.equal(state.includes(`:${pass}@`), false);
        assert.equal((await p.destination()).description.includes(`:${pass}@`), false);
      },
      { destination: pgService.url.replace(/^postgres:/, "postgresql:") },
    ));
});
