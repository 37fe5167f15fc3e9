/**
 * `ferry plugin new` and `ferry plugin test` from the built CLI: a scaffolded plugin whose own test passes against
 * `ferry/testing`, and the diff report of a plugin run in the real sandbox.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { ensureBuilt, ferry, REPO, stackLines } from "../helpers/cli.js";
import { tempDir } from "../helpers/plugins.js";

const TSX = import.meta.resolve("tsx");

describe("ferry plugin", () => {
  before(() => ensureBuilt());

  test("new scaffolds a plugin whose test passes, and refuses a folder that is not empty", () => {
    const tmp = tempDir();
    try {
      const r = ferry(["plugin", "new", "drop-email"], tmp.dir);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /^created drop-email\/: index\.ts \(the plugin\), index\.test\.ts \(its test\), README\.md/,
      );
      assert.match(r.stdout, /module: \.\/drop-email\/index\.ts/);
      assert.deepEqual(readdirSync(join(tmp.dir, "drop-email")).sort(), [
        "README.md",
        "index.test.ts",
        "index.ts",
        "package.json",
      ]);
      // The project's own ferry, as `npm install ferry` would give it.
      mkdirSync(join(tmp.dir, "node_modules"));
      symlinkSync(REPO, join(tmp.dir, "node_modules", "ferry"), "dir");
      const t = spawnSync(process.execPath, ["--import", TSX, "--test", "index.test.ts"], {
        cwd: join(tmp.dir, "drop-email"),
        // Not a child of this test run (node --test reports to its parent otherwise): its own output.
        env: { ...process.env, NODE_TEST_CONTEXT: undefined },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(t.status, 0, t.stdout + t.stderr);
      assert.match(t.stdout, /# pass 2/);

      const tried = ferry(
        ["plugin", "test", "drop-email/index.ts", "--config", '{"property":"email"}'],
        tmp.dir,
      );
      assert.equal(tried.status, 0, tried.stderr);
      assert.match(
        tried.stdout,
        /order completed 0190d1c5-0000-7000-8000-000000000004: changed\n {2}- properties\.email: "ada@example\.com"/,
      );

      const again = ferry(["plugin", "new", "drop-email"], tmp.dir);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /drop-email exists and is not empty/);
      assert.equal(ferry(["plugin", "new", "no spaces"], tmp.dir).status, 1);
    } finally {
      tmp.cleanup();
    }
  });

  test("test prints a diff per sample event, what failed, and the webhooks; exit 1 when something failed", () => {
    const tmp = tempDir();
    try {
      writeFileSync(
        join(tmp.dir, "mixed.ts"),
        `export function processEvent(event: any, { config }: any) {
           if (event.event === "$identify") return null;
           if (event.event === "$autocapture") throw new Error("no clicks please");
           event.properties.team = config.team;
           delete event.properties.$lib;
           return event;
         }
         export function composeWebhook(event: any) {
           return { url: "https://hooks.example.com/in", body: JSON.stringify({ e: event.event }) };
         }`,
      );
      const r = ferry(["plugin", "test", "mixed.ts", "--config", '{"team":"growth"}'], tmp.dir);
      assert.equal(r.status, 1);
      assert.equal(
        r.stdout,
        [
          "$pageview 0190d1c5-0000-7000-8000-000000000001: changed",
          '  - properties.$lib: "web"',
          '  + properties.team: "growth"',
          "  webhook: POST https://hooks.example.com/in",
          '    {"e":"$pageview"}',
          "$identify 0190d1c5-0000-7000-8000-000000000002: dropped",
          "$autocapture 0190d1c5-0000-7000-8000-000000000003: failed: no clicks please",
          "order completed 0190d1c5-0000-7000-8000-000000000004: changed",
          '  - properties.$lib: "posthog-node"',
          '  + properties.team: "growth"',
          "  webhook: POST https://hooks.example.com/in",
          '    {"e":"order completed"}',
          "4 event(s): 2 changed, 0 unchanged, 1 dropped, 1 failed (hooks: composeWebhook, processEvent)",
          "",
        ].join("\n"),
      );
      assert.match(r.stderr, /^error: the plugin failed on 1 event\(s\)/);
      assert.deepEqual(stackLines(r.stderr), []);

      writeFileSync(
        join(tmp.dir, "events.jsonl"),
        `${JSON.stringify({ uuid: "e-1", event: "signed up", properties: { plan: "pro" } })}\n\n${JSON.stringify({ event: "x" })}\n`,
      );
      const j = ferry(
        [
          "plugin",
          "test",
          "ferry:property-filter",
          "--config",
          '{"properties":["plan"]}',
          "--events",
          "events.jsonl",
          "--json",
        ],
        tmp.dir,
      );
      assert.equal(j.status, 0, j.stderr);
      const reports = JSON.parse(j.stdout);
      assert.deepEqual(reports[0], {
        uuid: "e-1",
        event: "signed up",
        outcome: "changed",
        changes: [{ path: "properties.plan", before: "pro" }],
      });
      assert.equal(reports[1].outcome, "unchanged");
    } finally {
      tmp.cleanup();
    }
  });

  test("test explains a bad config, a failing setup and a module that is not there", () => {
    const tmp = tempDir();
    try {
      const bad = ferry(["plugin", "test", "ferry:downsampler", "--config", "{percentage: 5}"], tmp.dir);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^error: --config is not JSON/);
      const setup = ferry(["plugin", "test", "ferry:downsampler"], tmp.dir);
      assert.equal(setup.status, 1);
      assert.match(
        setup.stderr,
        /^error: setupPlugin failed: downsampler: config\.percentage must be a number 0\.\.100, not undefined/,
      );
      const missing = ferry(["plugin", "test", "nope.ts"], tmp.dir);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /^error: the plugin module nope\.ts does not exist/);
      assert.ok(!existsSync(join(tmp.dir, "nope.ts")));
    } finally {
      tmp.cleanup();
    }
  });
});
