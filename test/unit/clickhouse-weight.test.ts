import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(import.meta.dirname, "../..");

test("the ClickHouse client loads only when a ClickHouse destination connects; chdb is no dependency", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-weight-"));
  try {
    // A resolve hook that records every bare specifier this process imports.
    const log = join(dir, "imports.log");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  if (!specifier.startsWith(".") && !specifier.startsWith("node:") && !specifier.startsWith("file:")) appendFileSync(${JSON.stringify(log)}, specifier + "\\n");
  return next(specifier, context);
}`,
    );
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(`file://${join(dir, "hooks.mjs")}`)});`,
    );
    const script = `
      import { appendFileSync } from "node:fs";
      const ferry = await import(${JSON.stringify(join(ROOT, "src/index.ts"))});
      const d = await ferry.resolveDestination("clickhouse://u:p@127.0.0.1:1/db", "p");
      appendFileSync(${JSON.stringify(log)}, "--- resolved " + d.name + "\\n");
      await d.connect({ dataset: "x", pipelineName: "p", logger: ferry.silentLogger }).catch(() => undefined);
      appendFileSync(${JSON.stringify(log)}, "--- connected\\n");
    `;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--import", join(dir, "register.mjs"), "--input-type=module", "-e", script],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(log, "utf8").split("\n");
    const resolved = lines.indexOf("--- resolved clickhouse");
    const connected = lines.indexOf("--- connected");
    assert.ok(resolved > 0 && connected > resolved, lines.join("\n"));
    assert.ok(
      !lines.slice(0, resolved).includes("@clickhouse/client"),
      "not loaded by importing ferry or resolving the URL",
    );
    assert.ok(lines.slice(resolved, connected).includes("@clickhouse/client"), "loaded by connect()");
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    for (const deps of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"])
      assert.equal(pkg[deps]?.chdb, undefined, `chdb is not in ${deps}`);
    assert.equal(pkg.dependencies?.["@clickhouse/client"], "1.23.1", "pinned");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
