// A user project whose module imports ferry from its own node_modules: a second, separately loaded copy of the
// package in the CLI's process. What that copy makes (resources, jsonLines batches, errors) must be recognised by
// the CLI's copy through brands, since `instanceof` fails across copies.
import assert from "node:assert/strict";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type LoadInfo, pipeline, silentLogger } from "../../src/index.js";
import { ensureBuilt, ferry, REPO, stackLines } from "../helpers/cli.js";

let project = "";

before(() => {
  ensureBuilt();
  project = mkdtempSync(join(tmpdir(), "ferry-copy-"));
  // A real copy of the built package (package.json + dist), not a link: Node would resolve a link to the repo's
  // files and load the same module instances as the CLI. Its dependencies resolve through a node_modules link.
  const pkg = join(project, "node_modules", "ferry");
  mkdirSync(pkg, { recursive: true });
  cpSync(join(REPO, "package.json"), join(pkg, "package.json"));
  cpSync(join(REPO, "dist"), join(pkg, "dist"), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"), "dir");
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", type: "module" }));
});
after(() => rmSync(project, { recursive: true, force: true }));

const query = (db: string, dataset: string, sql: string) =>
  pipeline({
    name: "reader",
    destination: `duckdb:${db}`,
    dataset,
    dir: join(project, "reader"),
    logger: silentLogger,
  })
    .dataset()
    .sql(sql);

test("jsonLines() from the module's own copy of ferry is loaded as records", async () => {
  writeFileSync(
    join(project, "events.ts"),
    `import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { jsonLines, resource } from "ferry";
writeFileSync("resolved.txt", fileURLToPath(import.meta.resolve("ferry")));
export default resource({ name: "events" }, function* () {
  yield jsonLines('{"id":1,"name":"a","tags":["x","y"]}\\n{"id":2,"name":"b","meta":{"k":1.5}}\\n');
  yield jsonLines('{"id":3,"name":"c"}\\n');
});
`,
  );
  const r = ferry(["run", "events.ts", "--json", "--dir", "wd"], project);
  assert.equal(r.status, 0, r.stderr);
  // The module got the copy in its node_modules, not the repo's build the CLI runs.
  assert.equal(
    readFileSync(join(project, "resolved.txt"), "utf8"),
    join(realpathSync(project), "node_modules/ferry/dist/index.js"),
  );
  const info = JSON.parse(r.stdout) as LoadInfo;
  assert.deepEqual(info.items, { events: 3 });
  assert.deepEqual(info.rows, { events: 3, events__tags: 2 });
  const db = join(project, "events.duckdb");
  assert.deepEqual(await query(db, "events", "select id, name, meta__k from events order by id"), [
    { id: 1, name: "a", meta__k: null },
    { id: 2, name: "b", meta__k: 1.5 },
    { id: 3, name: "c", meta__k: null },
  ]);
  assert.deepEqual(await query(db, "events", "select value from events__tags order by _ferry_list_idx"), [
    { value: "x" },
    { value: "y" },
  ]);
  // Not a record holding the batch's fields.
  const columns = await query(
    db,
    "events",
    "select column_name from information_schema.columns where table_schema = 'events' and table_name = 'events' order by column_name",
  );
  assert.deepEqual(
    columns.map((c) => c.column_name),
    ["_ferry_id", "_ferry_load_id", "id", "meta__k", "name"],
  );
});

test("a ferry error thrown with the module's own copy is reported as a ferry error: its hint, no stack", () => {
  writeFileSync(
    join(project, "boom.ts"),
    `import { ConfigError, resource } from "ferry";
export default resource({ name: "boom" }, function* () {
  yield { id: 1 };
  throw new ConfigError("the API token is missing", { hint: "set API_TOKEN and run again" });
});
`,
  );
  const r = ferry(["run", "boom.ts", "--dir", "wd"], project);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, "");
  assert.ok(
    r.stderr.endsWith(
      "error: the API token is missing\n  where: resource=boom\n  hint: set API_TOKEN and run again\n",
    ),
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /--verbose for the stack trace/);
  assert.deepEqual(stackLines(r.stderr), []);

  // The trace records it with its code.
  const t = ferry(["pipeline", "boom", "trace", "--json", "--dir", "wd"], project);
  assert.equal(t.status, 0, t.stderr);
  assert.deepEqual((JSON.parse(t.stdout) as { error?: unknown }).error, {
    message: "the API token is missing",
    code: "config",
    hint: "set API_TOKEN and run again",
  });
});
