// The weight rule: the Temporal SDK is an optional peer dependency (users who never run `ferry worker` do not
// download it), a devDependency for the project's own tests, pinned exactly; `ferry worker` names what is missing and
// the command that installs it. And the workflow code imports only workflow-safe modules.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { isFerryError } from "../../src/index.js";
import {
  TEMPORAL_INSTALL,
  TEMPORAL_PACKAGES,
  TEMPORAL_SDK_VERSION,
  temporalPackage,
} from "../../src/orchestration/temporal/sdk.js";

const REPO = join(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as Record<
  string,
  Record<string, unknown>
>;

test("the Temporal SDK is an optional peer dependency, a devDependency, pinned exactly, never a dependency", () => {
  assert.equal(TEMPORAL_SDK_VERSION, "1.24.0");
  for (const name of TEMPORAL_PACKAGES) {
    assert.equal(pkg.peerDependencies?.[name], TEMPORAL_SDK_VERSION, `${name} peer`);
    assert.deepEqual(pkg.peerDependenciesMeta?.[name], { optional: true }, `${name} optional`);
    assert.equal(pkg.devDependencies?.[name], TEMPORAL_SDK_VERSION, `${name} dev`);
  }
  const deps = Object.keys(pkg.dependencies ?? {});
  assert.deepEqual(
    deps.filter((d) => d.startsWith("@temporalio/")),
    [],
  );
});

test("a missing SDK is a ConfigError naming the package and the exact install command", async () => {
  const missing = async (s: string) => {
    throw Object.assign(new Error(`Cannot find package '${s}' imported from /app/dist/x.js`), {
      code: "ERR_MODULE_NOT_FOUND",
    });
  };
  await assert.rejects(
    temporalPackage("@temporalio/worker", missing),
    (err: unknown) =>
      isFerryError(err, "config") &&
      /the Temporal SDK is not installed: @temporalio\/worker is missing/.test(err.message) &&
      (err.hint ?? "").includes(TEMPORAL_INSTALL),
  );
  assert.equal(
    TEMPORAL_INSTALL,
    "npm install --save-exact @temporalio/client@1.24.0 @temporalio/worker@1.24.0 @temporalio/workflow@1.24.0 @temporalio/activity@1.24.0",
  );
  // Installed (as in development): the real package loads.
  const worker = await temporalPackage<{ Worker: unknown }>("@temporalio/worker");
  assert.equal(typeof worker.Worker, "function");
});

test("workflow code imports only @temporalio/workflow and the import-free run types (type-only imports aside)", () => {
  const dir = join(REPO, "src/orchestration/temporal");
  const imports = (file: string) => {
    const src = ts.createSourceFile(file, readFileSync(join(dir, file), "utf8"), ts.ScriptTarget.ES2022);
    return src.statements
      .filter(ts.isImportDeclaration)
      .filter((d) => !d.importClause?.isTypeOnly)
      .map((d) => (d.moduleSpecifier as ts.StringLiteral).text);
  };
  assert.deepEqual(imports("workflows.ts"), ["@temporalio/workflow", "./run-types.js"]);
  assert.deepEqual(imports("run-types.ts"), []);
});
