import assert from "node:assert/strict";
import { test } from "node:test";
import { type Pipeline, resource } from "../../../src/index.js";
import { DataError } from "../../../src/util/errors.js";
import { eachBackend, withDataset } from "../../helpers/backends.js";
import { ensureBuilt, ferry } from "../../helpers/cli.js";

// A merge whose primary key (or merge key) the records do not have is stopped before any SQL runs, with the
// table, the missing key, the fields the records have and what to change; `ferry pipeline <name> failed-jobs`
// shows the same reason for the package that was set aside.

/** The dataset's tables but ferry's own (as every destination lists them: ClickHouse has no information_schema before 22). */
const tables = async (p: Pipeline, _dataset: string) =>
  (await p.dataset().tables()).filter((t) => !t.startsWith("_ferry"));

await eachBackend("merge keys the records lack", (b) => {
  test("a merge resource with typed column hints that yields nothing loads nothing, and later records merge", () =>
    withDataset(b, "pkempty", async (ds) => {
      const p = ds.pipeline("pkempty");
      const things = (data: Record<string, unknown>[]) =>
        resource(
          {
            name: "things",
            primaryKey: "id",
            writeDisposition: "merge",
            columns: { name: { type: "text" } },
          },
          data,
        );
      const first = await p.run(things([]));
      assert.deepEqual(first.rows, {});
      const second = await p.run(things([{ id: 1, name: "a" }]));
      assert.deepEqual(second.rows, { things: 1 });
      assert.deepEqual(await p.dataset().sql("select cast(id as integer) as id, name from things"), [
        { id: 1, name: "a" },
      ]);
    }));

  test("a primary key the records lack: a named error before any SQL, the reason kept for failed-jobs", () =>
    withDataset(b, "pkmissing", async (ds) => {
      const p = ds.pipeline("pkmissing");
      const things = resource({ name: "things", primaryKey: "id", writeDisposition: "merge" }, [
        { uid: 1, name: "a", meta: { size: 2 } },
        { uid: 2, name: "b", meta: { size: 3 } },
      ]);
      const message =
        'table "things" (resource "things") merges on primary key "id", but its records have no "id" field; the records have: uid, name, meta__size';
      await assert.rejects(p.run(things), (e: unknown) => {
        assert.ok(e instanceof DataError, String(e));
        assert.equal(e.message, message);
        assert.deepEqual(e.fields, { table: "things", resource: "things", column: "id" });
        assert.equal(
          e.hint,
          'set the primary key (primary_key / primaryKey) to fields the records have, or load with write disposition "append" or "replace"',
        );
        return true;
      });
      assert.deepEqual(await tables(p, ds.dataset), [], "no table was created: no SQL ran for the package");
      const { pending, failed } = await p.packages();
      assert.equal(pending.length, 0);
      assert.equal(failed.length, 1);

      ensureBuilt();
      const cli = ferry(["pipeline", "pkmissing", "failed-jobs", "--dir", `${ds.dir}/.ferry`], ds.dir);
      assert.equal(cli.status, 0, cli.stderr);
      assert.deepEqual(cli.stdout.trimEnd().split("\n").slice(1), [
        "  the package failed before a job started:",
        `    ${message}`,
        "      where: table=things resource=things column=id",
        '      hint: set the primary key (primary_key / primaryKey) to fields the records have, or load with write disposition "append" or "replace"',
      ]);
      const json = JSON.parse(
        ferry(["pipeline", "pkmissing", "failed-jobs", "--json", "--dir", `${ds.dir}/.ferry`], ds.dir).stdout,
      );
      assert.equal(json[0].error.split("\n")[0], message);

      // Fixed config: the next run loads, the failed package stays aside.
      const fixed = things.with({ primaryKey: "uid" });
      assert.deepEqual((await p.run(fixed)).rows, { things: 2 });
      assert.deepEqual((await p.run(fixed)).rows, { things: 2 });
      assert.deepEqual(await p.dataset().sql("select uid, name from things order by uid"), [
        { uid: 1, name: "a" },
        { uid: 2, name: "b" },
      ]);
    }));

  test("a merge key the records lack is named too; a nested key path the records have is fine", () =>
    withDataset(b, "mkmissing", async (ds) => {
      const p = ds.pipeline("mkmissing");
      const rows = [
        { meta: { id: 1 }, day: "2024-01-01", v: 1 },
        { meta: { id: 2 }, day: "2024-01-01", v: 2 },
      ];
      const merge = { name: "facts", writeDisposition: "merge" as const, primaryKey: "meta.id" };
      await assert.rejects(p.run(resource({ ...merge, mergeKey: ["day", "region"] }, rows)), {
        message:
          'table "facts" (resource "facts") merges on merge key "region", but its records have no "region" field; the records have: meta__id, day, v',
      });
      assert.deepEqual((await p.run(resource({ ...merge, mergeKey: "day" }, rows))).rows, { facts: 2 });
      assert.deepEqual(await p.dataset().sql("select meta__id, v from facts order by meta__id"), [
        { meta__id: 1, v: 1 },
        { meta__id: 2, v: 2 },
      ]);
    }));
});
