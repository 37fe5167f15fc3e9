import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pipeline, silentLogger } from "../../src/index.js";
import { ensureBuilt, REPO } from "../helpers/cli.js";

// A user's pipeline module in a fresh folder made by `npm init` (no "type": "module"): tsx compiles the .ts file
// to CommonJS there, so `import ... from "ferry"` becomes require("ferry"). ferry is installed into the folder
// from this checkout (npm install file:..., offline), and the module runs through `npx ferry run`.

const PIPELINE = `import { pipeline, resource } from "ferry";
import { restApiSource } from "ferry/sources/rest-api";

export const source = resource({ name: "things", primaryKey: "id" }, [{ id: 1, n: "a" }, { id: 2, n: "b" }]);
export const build = typeof restApiSource;
export default pipeline({ name: "cjs", destination: "duckdb:cjs.duckdb", dataset: "d" });
`;

const sh = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, FERRY_LOG_LEVEL: "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('a pipeline module in a folder without "type": "module"', () => {
  let dir: string;
  before(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), "ferry-cjs-"));
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "my-pipeline", version: "1.0.0", license: "MIT" }),
    );
    const install = sh(
      "npm",
      ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", `file:${REPO}`],
      dir,
    );
    assert.equal(install.status, 0, install.stderr);
    writeFileSync(join(dir, "pipeline.ts"), PIPELINE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("runs with `npx ferry run pipeline.ts` and loads its rows", async () => {
    const r = sh("npx", ["--no-install", "ferry", "run", "pipeline.ts"], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Pipeline cjs loaded 2 rows into duckdb:/);
    const rows = await pipeline({
      name: "reader",
      destination: `duckdb:${join(dir, "cjs.duckdb")}`,
      dataset: "d",
      dir: join(dir, "reader"),
      logger: silentLogger,
    })
      .dataset()
      .sql("select id, n from things order by id");
    assert.deepEqual(rows, [
      { id: 1, n: "a" },
      { id: 2, n: "b" },
    ]);
  });

  test("a CommonJS script in the folder can require every entry point of the package", () => {
    writeFileSync(
      join(dir, "check.cjs"),
      `const names = ["ferry", "ferry/sources/rest-api", "ferry/sources/sql-database", "ferry/sources/stripe", "ferry/sources/hubspot", "ferry/sources/zendesk", "ferry/testing"];
console.log(names.map((n) => n + ":" + Object.keys(require(n)).length).join(" "));
console.log(typeof require("ferry").pipeline, typeof require("ferry/sources/rest-api").restApiSource, typeof require("ferry/sources/stripe").stripeSource, typeof require("ferry/sources/hubspot").hubspotSource, typeof require("ferry/sources/zendesk").zendeskSource, typeof require("ferry/testing").FakeStripe);`,
    );
    const r = sh(process.execPath, ["check.cjs"], dir);
    assert.equal(r.status, 0, r.stderr);
    const [counts, types] = r.stdout.trim().split("\n");
    for (const part of counts?.split(" ") ?? []) assert.ok(Number(part.split(":")[1]) > 0, part);
    assert.equal(types, "function function function function function function");
  });
});
