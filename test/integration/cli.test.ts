import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { type LoadInfo, pipeline, silentLogger } from "../../src/index.js";
import { DIST_INDEX, ensureBuilt, ferry, stackLines } from "../helpers/cli.js";

before(ensureBuilt);

/** A module importing the built package. */
const mod = (body: string) =>
  `import { resource, source, pipeline } from ${JSON.stringify(DIST_INDEX)};\n${body}\n`;

const USERS = `
const users = resource({ name: "users", primaryKey: "id", incremental: { cursor: "id", initialValue: 0 } }, function* () {
  yield [{ id: 1, name: "Ann", tags: ["x", "y"] }, { id: 2, name: "Bob", tags: ["z"] }];
});`;

/** Source `crm` with users (2 rows, 3 tags) and a pipeline `climod` writing to `<cwd>/out.duckdb`, dataset crm_ds. */
const SOURCE_MODULE = mod(`${USERS}
export const p = pipeline({ name: "climod", destination: "duckdb:" + process.cwd() + "/out.duckdb", dataset: "crm_ds" });
export default source({ name: "crm", resources: [users] });`);

/** Reads a DuckDB dataset with the library (each query opens and closes the file). */
const query = (dbPath: string, dataset: string, sql: string) =>
  pipeline({
    name: "reader",
    destination: `duckdb:${dbPath}`,
    dataset,
    dir: join(tmpdir(), "ferry-reader-unused"),
    logger: silentLogger,
  })
    .dataset()
    .sql(sql);

const tableNames = async (dbPath: string, dataset: string) =>
  (
    await query(
      dbPath,
      dataset,
      `select table_name from information_schema.tables where table_schema = '${dataset}' order by table_name`,
    )
  ).map((r) => r.table_name);

let tmp = "";
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "ferry-cli-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("ferry run <module>", () => {
  test("default export = source with a named pipeline: summary, one line per stage, data in DuckDB", async () => {
    // No package.json here: tsx compiles the .ts as CommonJS, and `export default` must still be found.
    writeFileSync(join(tmp, "crm.ts"), SOURCE_MODULE);
    const r = ferry(["run", "crm.ts"], tmp);
    assert.equal(r.status, 0, r.stderr);
    const db = join(tmp, "out.duckdb");
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `Pipeline climod loaded 5 rows into duckdb:${db} (dataset crm_ds)`);
    assert.match(lines[1] ?? "", /^ {2}load ids: \d+\.\w+$/);
    assert.deepEqual(lines.slice(2, 5), ["  table        rows", "  users        2", "  users__tags  3"]);
    assert.equal(lines[5], "  schema v1: 2 new table(s), 8 new column(s)");
    assert.match(lines[6] ?? "", /^ {2}took \d+\.\d\ds \(extract /);
    assert.equal(lines.length, 7);
    // Not a TTY: one line per finished stage.
    const stages = r.stderr.trimEnd().split("\n");
    assert.equal(stages.length, 3, r.stderr);
    assert.match(stages[0] ?? "", /^ferry extract done in \d+\.\d\ds \(load \d+\.\w+\): users 2 items$/);
    assert.match(stages[1] ?? "", /^ferry normalize done in .*: users 2 items$/);
    assert.match(stages[2] ?? "", /^ferry load done in .*: users 1 file, users__tags 1 file$/);

    assert.ok(
      existsSync(join(tmp, ".ferry", "climod", "state.json")),
      "working dir defaults to .ferry in cwd",
    );
    assert.deepEqual(await query(db, "crm_ds", "select id, name from users order by id"), [
      { id: 1, name: "Ann" },
      { id: 2, name: "Bob" },
    ]);
    assert.deepEqual(await query(db, "crm_ds", "select value from users__tags order by value"), [
      { value: "x" },
      { value: "y" },
      { value: "z" },
    ]);
  });

  test("--json prints the LoadInfo on stdout; a second run loads no new data", () => {
    writeFileSync(join(tmp, "crm.ts"), SOURCE_MODULE);
    const r = ferry(["run", "crm.ts", "--json", "--dir", "wd"], tmp);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as LoadInfo;
    assert.equal(info.pipeline, "climod");
    assert.equal(info.dataset, "crm_ds");
    assert.equal(info.destination, `duckdb:${join(tmp, "out.duckdb")}`);
    assert.deepEqual(info.rows, { users: 2, users__tags: 3 });
    assert.deepEqual(info.items, { users: 2 });
    assert.deepEqual(info.loadIds, [info.loadId]);
    assert.deepEqual(info.pendingCompleted, []);
    assert.equal(info.schemaVersion, 1);
    assert.ok(existsSync(join(tmp, "wd", "climod", "state.json")), "--dir is the pipelines dir");

    // The incremental cursor stopped at id 2: nothing new.
    const again = ferry(["run", "crm.ts", "--dir", "wd"], tmp);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Pipeline climod loaded 0 rows into /);
    assert.match(again.stdout, /^ {2}no new data$/m);
  });

  test("--pipeline, --destination and --dataset override the module; default export = resource", async () => {
    writeFileSync(join(tmp, "res.ts"), mod(`${USERS}\nexport default users;`));
    const db = join(tmp, "ov.duckdb");
    const r = ferry(
      ["run", "res.ts", "--json", "--pipeline", "ov", "--destination", `duckdb:${db}`, "--dataset", "ovds"],
      tmp,
      {
        FERRY_PIPELINES_DIR: join(tmp, "pipes"),
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as LoadInfo;
    assert.equal(info.pipeline, "ov");
    assert.equal(info.dataset, "ovds");
    assert.equal(info.destination, `duckdb:${db}`);
    assert.deepEqual(info.rows, { users: 2, users__tags: 3 });
    assert.ok(existsSync(join(tmp, "pipes", "ov", "state.json")), "FERRY_PIPELINES_DIR is the pipelines dir");
    assert.deepEqual(await tableNames(db, "ovds"), [
      "_ferry_loads",
      "_ferry_pipeline_state",
      "_ferry_version",
      "users",
      "users__tags",
    ]);
  });

  test("default export = resource without options: pipeline named after it, <name>.duckdb in cwd", async () => {
    writeFileSync(join(tmp, "res.ts"), mod(`${USERS}\nexport default users;`));
    const r = ferry(["run", "res.ts"], tmp);
    assert.equal(r.status, 0, r.stderr);
    const db = join(tmp, "users.duckdb");
    assert.match(
      r.stdout,
      new RegExp(`^Pipeline users loaded 5 rows into duckdb:${db} \\(dataset users\\)$`, "m"),
    );
    assert.deepEqual(await query(db, "users", "select count(*)::int as n from users"), [{ n: 2 }]);
  });

  test("default export = pipeline, with `export const source` (ESM package)", async () => {
    writeFileSync(join(tmp, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(tmp, "pipe.ts"),
      mod(`${USERS}
export default pipeline({ name: "piped", destination: "duckdb:" + process.cwd() + "/piped.duckdb", dataset: "pd" });
const crm = source({ name: "crm", resources: [users] });
export { crm as source };`),
    );
    const r = ferry(["run", "pipe.ts", "--json"], tmp);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as LoadInfo;
    assert.equal(info.pipeline, "piped");
    assert.equal(info.dataset, "pd");
    assert.deepEqual(info.rows, { users: 2, users__tags: 3 });
    assert.deepEqual(await query(join(tmp, "piped.duckdb"), "pd", "select id from users order by id"), [
      { id: 1 },
      { id: 2 },
    ]);
  });

  test("a module without a usable default export: exit 1, message with a hint, no stack", () => {
    writeFileSync(join(tmp, "none.ts"), "export const x = 1;\n");
    const r = ferry(["run", "none.ts"], tmp);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: none\.ts: the default export is not a pipeline, source or resource$/m);
    assert.match(r.stderr, /^ {2}hint: export default source\(/m);
    assert.deepEqual(stackLines(r.stderr), []);

    const missing = ferry(["run", "nope.ts"], tmp);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error: file not found: nope\.ts$/m);
    assert.match(missing.stderr, /hint: pass the path of a \.ts\/\.js module/);
    assert.deepEqual(stackLines(missing.stderr), []);
  });

  test("a FERRY_* setting that does not parse: exit 1 naming the variable, nothing run", () => {
    writeFileSync(join(tmp, "res.ts"), mod(`${USERS}\nexport default users;`));
    const r = ferry(["run", "res.ts"], tmp, { FERRY_NORMALIZE_WORKERS: "abc" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      'error: FERRY_NORMALIZE_WORKERS="abc" is not valid: a whole number >= 1\n' +
        "  hint: set FERRY_NORMALIZE_WORKERS to a whole number >= 1, or unset it for the default\n",
    );
    assert.equal(existsSync(join(tmp, "users.duckdb")), false);
    assert.equal(existsSync(join(tmp, ".ferry")), false);
  });

  test("a resource that throws: exit 1 naming the resource; --verbose adds the stack", async () => {
    writeFileSync(
      join(tmp, "boom.ts"),
      mod(
        `export default resource({ name: "boom_res" }, function* () { yield { id: 1 }; throw new Error("kaboom upstream"); });`,
      ),
    );
    const r = ferry(["run", "boom.ts", "--dir", "wd"], tmp);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: resource "boom_res" failed: kaboom upstream$/m);
    assert.match(r.stderr, /hint: /);
    assert.deepEqual(stackLines(r.stderr), []);
    assert.deepEqual(await tableNames(join(tmp, "boom_res.duckdb"), "boom_res"), [], "nothing was loaded");

    const v = ferry(["--verbose", "run", "boom.ts", "--dir", "wd"], tmp);
    assert.equal(v.status, 1);
    assert.match(v.stderr, /resource "boom_res" failed: kaboom upstream/);
    assert.ok(stackLines(v.stderr).length > 0, v.stderr);

    // The failed first run can be inspected.
    const t = ferry(["pipeline", "boom_res", "trace", "--dir", "wd"], tmp);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^run of boom_res: \S+ -> \S+ FAILED$/m);
    assert.match(t.stdout, /^ {2}extract\s+\d+ ms {2}error: resource "boom_res" failed: kaboom upstream$/m);
    assert.match(t.stdout, /^error: resource "boom_res" failed: kaboom upstream\nhint: /m);
  });
});

describe("ferry run <spec.yaml>", () => {
  const spec = (type: string) => `pipeline:
  name: specpipe
  destination: "duckdb:\${env:FERRY_TEST_DB}"
  dataset: shop
source:
  type: ${type}
  resources:
    - { name: orders, path: data/orders.jsonl, primary_key: id, write_disposition: merge }
`;

  test("json_files reads JSONL with an env placeholder substituted", async () => {
    mkdirSync(join(tmp, "data"));
    writeFileSync(
      join(tmp, "data", "orders.jsonl"),
      '{"id":1,"total":10.5}\n{"id":2,"total":3,"meta":{"k":"v"}}\n{"id":1,"total":11}\n',
    );
    writeFileSync(join(tmp, "spec.yaml"), spec("json_files"));
    const db = join(tmp, "spec.duckdb");
    const r = ferry(["run", "spec.yaml", "--json", "--dir", "wd"], tmp, { FERRY_TEST_DB: db });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as LoadInfo;
    assert.equal(info.pipeline, "specpipe");
    assert.equal(info.dataset, "shop");
    assert.deepEqual(info.items, { orders: 3 });
    assert.deepEqual(info.rows, { orders: 3 });
    // merge on id: the later id 1 wins.
    assert.deepEqual(await query(db, "shop", "select id, total, meta__k from orders order by id"), [
      { id: 1, total: 11, meta__k: null },
      { id: 2, total: 3, meta__k: "v" },
    ]);
  });

  test("a missing environment variable and an unknown source type are config errors", () => {
    writeFileSync(join(tmp, "spec.yaml"), spec("json_files"));
    const r = ferry(["run", "spec.yaml"], tmp);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^error: environment variable FERRY_TEST_DB is not set \(used in spec\.pipeline\.destination\)$/m,
    );
    assert.match(r.stderr, /hint: export FERRY_TEST_DB=\.\.\. before running/);
    assert.deepEqual(stackLines(r.stderr), []);

    writeFileSync(join(tmp, "spec2.yaml"), spec("rest_thing"));
    const u = ferry(["run", "spec2.yaml"], tmp, { FERRY_TEST_DB: join(tmp, "x.duckdb") });
    assert.equal(u.status, 1);
    assert.match(u.stderr, /unknown source type "rest_thing"/);
    assert.match(u.stderr, /hint: available source types: json_files/);
    assert.deepEqual(stackLines(u.stderr), []);
  });
});

describe("ferry pipeline", () => {
  // One pipeline, inspected and then synced and dropped, in order.
  let home = "";
  let db = "";
  let loadId = "";
  const wd = () => join(home, "wd");
  const cmd = (...args: string[]) => ferry(["pipeline", ...args, "--dir", wd()], home);

  before(() => {
    home = mkdtempSync(join(tmpdir(), "ferry-cli-pipeline-"));
    db = join(home, "out.duckdb");
    writeFileSync(join(home, "crm.ts"), SOURCE_MODULE);
    const r = ferry(["run", "crm.ts", "--json", "--dir", wd()], home);
    assert.equal(r.status, 0, r.stderr);
    loadId = String((JSON.parse(r.stdout) as LoadInfo).loadId);
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test("list", () => {
    const r = cmd("list");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "climod\n");
    assert.deepEqual(JSON.parse(cmd("list", "--json").stdout), ["climod"]);
    const empty = ferry(["pipeline", "list"], tmp);
    assert.equal(empty.stdout, `no pipelines in ${join(tmp, ".ferry")}\n`);
  });

  test("<name> info, text and --json", () => {
    const r = cmd("climod", "info");
    assert.equal(r.status, 0, r.stderr);
    for (const line of [
      "pipeline:      climod",
      `working dir:   ${join(wd(), "climod")}`,
      `destination:   duckdb:${db}`,
      "dataset:       crm_ds",
      `state version: 1 (last load ${loadId})`,
      "schemas:       crm (default at v1)",
      "tables:        users, users__tags",
      "pending:       none",
      "failed:        none",
      "  users: cursor id at 2",
    ]) {
      assert.ok(r.stdout.split("\n").includes(line), `missing "${line}" in:\n${r.stdout}`);
    }
    const j = JSON.parse(cmd("climod", "info", "--json").stdout) as Record<string, unknown>;
    assert.equal(j.pipeline, "climod");
    assert.equal(j.dataset, "crm_ds");
    assert.equal(j.lastLoadId, loadId);
    assert.deepEqual(j.tables, ["users", "users__tags"]);
    assert.deepEqual(j.pendingPackages, []);
    assert.deepEqual(j.failedPackages, []);
    assert.equal((j.lastRun as { ok: boolean }).ok, true);
    assert.deepEqual(
      (j.resources as Record<string, { incremental: Record<string, { lastValue: unknown }> }>).users
        ?.incremental.id?.lastValue,
      2,
    );
  });

  test("<name> schema prints YAML with tables, columns and types", () => {
    const r = cmd("climod", "schema");
    assert.equal(r.status, 0, r.stderr);
    const doc = parseYaml(r.stdout) as {
      name: string;
      version: number;
      tables: Record<string, { parent?: string; columns: Record<string, { type: string }> }>;
    };
    assert.equal(doc.name, "crm");
    assert.equal(doc.version, 1);
    assert.deepEqual(Object.keys(doc.tables), ["users", "users__tags"]);
    const types = (t: string) =>
      Object.fromEntries(Object.entries(doc.tables[t]?.columns ?? {}).map(([c, v]) => [c, v.type]));
    assert.deepEqual(types("users"), {
      _ferry_id: "text",
      _ferry_load_id: "text",
      id: "bigint",
      name: "text",
    });
    assert.deepEqual(types("users__tags"), {
      _ferry_id: "text",
      _ferry_parent_id: "text",
      _ferry_list_idx: "bigint",
      value: "text",
    });
    assert.equal(doc.tables.users__tags?.parent, "users");
  });

  test("<name> trace and failed-jobs", () => {
    const t = cmd("climod", "trace");
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^run of climod: \S+ -> \S+ ok$/m);
    for (const step of ["restore", "extract", "normalize", "load"])
      assert.match(t.stdout, new RegExp(`^ {2}${step}\\s+\\d+ ms$`, "m"));
    assert.match(t.stdout, /^ {2}users: 2 rows$/m);
    assert.match(t.stdout, /^ {2}users__tags: 3 rows$/m);

    const f = cmd("climod", "failed-jobs");
    assert.equal(f.status, 0, f.stderr);
    assert.equal(f.stdout, "pipeline climod has no failed jobs\n");
    assert.deepEqual(JSON.parse(cmd("climod", "failed-jobs", "--json").stdout), []);
  });

  test("unknown pipeline or command: exit 1 with a hint", () => {
    const r = cmd("nope", "info");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: pipeline "nope" has no working dir in /m);
    assert.match(r.stderr, /hint: check --dir \(or FERRY_PIPELINES_DIR\)/);
    assert.deepEqual(stackLines(r.stderr), []);
    const c = cmd("climod", "frobnicate");
    assert.equal(c.status, 1);
    assert.match(c.stderr, /unknown pipeline command "frobnicate"/);
    assert.match(
      c.stderr,
      /hint: use one of: info, schema, trace, failed-jobs, drop, sync, optimize, vacuum/,
    );
  });

  test("sync restores a deleted working dir from the destination", () => {
    rmSync(join(wd(), "climod"), { recursive: true });
    assert.equal(cmd("climod", "info").status, 1);
    const s = cmd("climod", "sync", "--destination", `duckdb:${db}`, "--dataset", "crm_ds");
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout, `restored pipeline climod from duckdb:${db}: state v1, last load ${loadId}\n`);
    const i = cmd("climod", "info");
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /^ {2}users: cursor id at 2$/m);
    assert.match(i.stdout, /^tables: {8}users, users__tags$/m);
  });

  test("drop refuses without --yes, then drops tables and the working dir", async () => {
    const no = cmd("climod", "drop");
    assert.equal(no.status, 1);
    assert.match(no.stderr, /hint: pass --yes to confirm/);
    assert.ok(existsSync(join(wd(), "climod")));
    assert.deepEqual(await query(db, "crm_ds", "select count(*)::int as n from users"), [{ n: 2 }]);

    const yes = cmd("climod", "drop", "--yes");
    assert.equal(yes.status, 0, yes.stderr);
    assert.match(yes.stdout, /^dropped pipeline climod: 5 table\(s\) \(/);
    assert.deepEqual(await tableNames(db, "crm_ds"), []);
    assert.equal(existsSync(join(wd(), "climod")), false);
    assert.match(cmd("list").stdout, /^no pipelines in /);
  });
});
