/**
 * `ferry serve`'s configuration through the real CLI: what a user who gets it wrong sees (exit code 1, the message
 * naming what is wrong, a hint, no stack trace), and a `--config` file whose token comes from `${env:NAME}`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ensureBuilt, ferry, stackLines } from "../helpers/cli.js";
import { posthogNode, recordingFetch, sentEvents } from "../helpers/serve.js";
import { ServeProcess } from "../helpers/serve-cli.js";
import { duckdbEvents, waitForDuckDbRows } from "../helpers/serve-tables.js";

const root = mkdtempSync(join(tmpdir(), "ferry-serve-config-"));
after(() => rmSync(root, { recursive: true, force: true }));
before(() => ensureBuilt());

function workDir(yaml?: string): string {
  const dir = mkdtempSync(join(root, "w-"));
  if (yaml !== undefined) writeFileSync(join(dir, "ferry.yaml"), yaml);
  return dir;
}

/** `ferry serve <args>` that must refuse to start: exit code 1, the lines it printed, no stack trace. */
function refusal(args: string[], cwd: string, env: Record<string, string | undefined> = {}): string {
  const r = ferry(["serve", "--port", "0", ...args], cwd, env);
  assert.equal(r.status, 1, `exit code 1 (stderr: ${r.stderr})`);
  assert.equal(r.stdout, "");
  assert.deepEqual(stackLines(r.stderr), []);
  return r.stderr;
}

describe("ferry serve configuration (CLI)", () => {
  test("no token anywhere: exit 1, saying how to set one", () => {
    const err = refusal([], workDir());
    assert.equal(
      err,
      "error: ferry serve has no project: no token is configured\n" +
        "  hint: pass --token phc_... (your PostHog project API key, or any token your clients send), or list projects in ferry.yaml under serve.projects\n",
    );
  });

  test("an unknown key in ferry.yaml is named, with the keys ferry knows", () => {
    const err = refusal([], workDir("serve:\n  prot: 8011\n  projects:\n    - token: phc_a\n"));
    assert.match(err, /^error: serve\.prot is not a setting ferry knows\n/);
    assert.match(err, /\n {2}hint: known: host, port, destination, dir, trust_proxy, .*projects\n$/);
    const inProject = refusal([], workDir("serve:\n  projects:\n    - token: phc_a\n      datset: web\n"));
    assert.match(inProject, /^error: serve\.projects\[0\]\.datset is not a setting ferry knows\n/);
    assert.match(inProject, /hint: known: token, dataset, materialize, plugins\n$/);
  });

  test("two projects loading into one dataset are refused", () => {
    const yaml =
      "serve:\n  projects:\n    - token: phc_a\n      dataset: web\n    - token: phc_b\n      dataset: web\n";
    assert.equal(
      refusal([], workDir(yaml)),
      'error: two projects load into the dataset "web"\n' +
        "  hint: give each project a dataset of its own (serve.projects[].dataset)\n",
    );
    // The same when one comes from the file and one from the flags (the default dataset, posthog).
    const mixed = refusal(["--token", "phc_b"], workDir("serve:\n  projects:\n    - token: phc_a\n"));
    assert.match(mixed, /^error: two projects load into the dataset "posthog"\n/);
  });

  test("a port in use: exit 1 naming the port and what to do", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    try {
      const port = (busy.address() as { port: number }).port;
      const r = ferry(["serve", "--port", String(port), "--token", "phc_a"], workDir());
      assert.equal(r.status, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `port ${port} on 127\\.0\\.0\\.1 is in use; stop what holds it or choose another port \\(--port\\)`,
        ),
      );
      assert.deepEqual(stackLines(r.stderr), []);
    } finally {
      busy.close();
    }
  });

  test("--config whose token is an env: placeholder: it comes from the environment and stays out of the logs", async () => {
    const dir = workDir();
    const db = join(dir, "events.duckdb");
    const file = join(dir, "serve-config.yaml");
    writeFileSync(
      file,
      `serve:\n  destination: duckdb:${db}\n  projects:\n    - token: \${env:FERRY_E2E_SERVE_TOKEN}\n      dataset: app\n`,
    );
    // Unset: refused, naming the variable and where it is used. (The hint's "=..." placeholder comes out masked
    // as "=***": the secret masking takes any TOKEN=value for a secret.)
    const unset = refusal(["--config", file], dir, { FERRY_E2E_SERVE_TOKEN: undefined });
    const expected = `error: environment variable FERRY_E2E_SERVE_TOKEN is not set (used in ${file}.serve.projects[0].token)\n  hint: export FERRY_E2E_SERVE_TOKEN=`;
    assert.ok(unset.startsWith(expected), unset);

    const token = "phc_from_the_environment_42";
    const server = await ServeProcess.start(["--config", file, "--port", "0", "--json"], dir, {
      FERRY_E2E_SERVE_TOKEN: token,
    });
    try {
      const rec = recordingFetch();
      const ph = posthogNode(server.url, token, rec.fetch);
      ph.capture({ distinctId: "env-user", event: "configured", properties: { ok: true } });
      await ph.shutdown();
      assert.deepEqual(
        rec.requests.map((r) => r.status),
        [200],
      );
      // Another token is not a project of this server.
      const other = await fetch(`${server.url}/batch/`, {
        method: "POST",
        body: JSON.stringify({ api_key: "phc_other", batch: [{ event: "x", distinct_id: "d" }] }),
      });
      assert.equal(other.status, 401);
      await other.text();

      await waitForDuckDbRows(db, "app", 1);
      const rows = await duckdbEvents(db, "app");
      assert.deepEqual(
        rows.map((r) => [r.uuid, r.event, r.distinct_id, r.properties.ok]),
        sentEvents(rec.requests).map((e) => [e.uuid, "configured", "env-user", true]),
      );
      assert.deepEqual(await server.stop("SIGTERM"), { code: 0, signal: null });
      const stderr = server.lines.join("\n");
      assert.ok(!stderr.includes(token), "the token from the environment is masked in the logs");
      assert.match(stderr, /\(\*\*\* -> app\)/);
    } finally {
      await server.kill();
    }
  });

  test("with --json a configuration error is a JSON line too", {}, () => {
    const r = ferry(["serve", "--port", "0", "--json"], workDir());
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1);
    const j = JSON.parse(lines[0] as string) as { level: string; msg: string };
    assert.equal(j.level, "error");
    assert.match(j.msg, /no token is configured/);
  });
});
