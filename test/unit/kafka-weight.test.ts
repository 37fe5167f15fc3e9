import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(import.meta.dirname, "../..");

test("kafkajs loads only when ferry serve uses a kafka:// log", () => {
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
      const { startServe } = await import(${JSON.stringify(join(ROOT, "src/events/serve.ts"))});
      const { resolveServeConfig } = await import(${JSON.stringify(join(ROOT, "src/events/serve-config.ts"))});
      await import(${JSON.stringify(join(ROOT, "src/cli/serve-command.ts"))});
      const config = resolveServeConfig({ serve: { log: "kafka://127.0.0.1:1" } }, { token: ["phc_x"] }, ${JSON.stringify(join(dir, ".f"))});
      appendFileSync(${JSON.stringify(log)}, "--- configured\\n");
      const err = await startServe(config, { logger: ferry.silentLogger }).then(() => "started", (e) => e.message);
      appendFileSync(${JSON.stringify(log)}, "--- " + err + "\\n");
    `;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--import", join(dir, "register.mjs"), "--input-type=module", "-e", script],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(log, "utf8").split("\n");
    const configured = lines.indexOf("--- configured");
    assert.ok(configured > 0, lines.join("\n"));
    assert.ok(!lines.slice(0, configured).includes("kafkajs"), "not loaded by importing ferry serve");
    assert.ok(lines.slice(configured).includes("kafkajs"), "loaded by a kafka:// log");
    assert.match(lines.at(-2) ?? "", /^--- cannot reach Kafka at 127\.0\.0\.1:1/);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<
      string,
      Record<string, string>
    >;
    assert.equal(pkg.dependencies?.kafkajs, "2.2.4", "pinned");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
