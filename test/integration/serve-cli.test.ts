/**
 * `ferry serve` through the real CLI (`node dist/cli/main.js serve --port 0`), as users run it: posthog-node sends to
 * it and the events land while it runs; SIGTERM and SIGINT stop accepting, load everything the log holds and exit 0;
 * `--json` makes every stderr line a `{time, level, msg}` object, the status line included.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { assertEventRow, posthogNode, recordingFetch, sentEvents } from "../helpers/serve.js";
import { jsonLine, ServeProcess } from "../helpers/serve-cli.js";
import { duckdbEvents, type FileHolder, holdDuckDbFile, waitForDuckDbRows } from "../helpers/serve-tables.js";

const TOKEN = "phc_ferry_e2e_cli";
const root = mkdtempSync(join(tmpdir(), "ferry-serve-cli-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh working dir (ferry.yaml, .ferry and the DuckDB file go there). */
function workDir(yaml?: string): string {
  const dir = mkdtempSync(join(root, "w-"));
  if (yaml !== undefined) writeFileSync(join(dir, "ferry.yaml"), yaml);
  return dir;
}

/** An empty DuckDB database file (so that another process can hold it before the server's first load). */
async function emptyDuckDb(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  instance.closeSync();
}

/** Every stderr line of a `--json` server parses as `{time, level, msg}` with an ISO time; returns the messages. */
function jsonMessages(lines: string[]): string[] {
  return lines
    .filter((l) => l !== "")
    .map((l) => {
      const j = jsonLine(l);
      assert.match(j.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(["debug", "info", "warn", "error"].includes(j.level), l);
      return j.msg;
    });
}

/** Sends `count` captures with posthog-node and waits until all are acknowledged. */
async function sendCaptures(url: string, count: number, rec = recordingFetch()) {
  const ph = posthogNode(url, TOKEN, rec.fetch, { flushAt: 50, flushInterval: 100 });
  for (let i = 0; i < count; i++)
    ph.capture({ distinctId: `cli-${i % 6}`, event: "cli_event", properties: { i } });
  await ph.shutdown();
  assert.equal(sentEvents(rec.requests).length, count);
  assert.deepEqual(
    rec.requests.filter((r) => r.status !== 200),
    [],
    "every request acknowledged",
  );
  return rec;
}

/** True when nothing accepts connections at `url` any more. */
async function refused(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_readiness`);
    await res.text();
    return false;
  } catch (err) {
    return /ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err));
  }
}

describe("ferry serve (CLI)", () => {
  test("posthog-node -> `ferry serve --port 0 --json`: the events land while it runs; SIGTERM exits 0", async () => {
    const dir = workDir();
    const db = join(dir, "events.duckdb");
    const server = await ServeProcess.start(
      ["--port", "0", "--token", TOKEN, "--dataset", "web", "--destination", `duckdb:${db}`, "--json"],
      dir,
    );
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(server.url, "http://127.0.0.1:0");
      const rec = recordingFetch();
      const ph = posthogNode(server.url, TOKEN, rec.fetch);
      const start = Date.now();
      ph.capture({
        distinctId: "cli-user",
        event: "signed_up",
        properties: { plan: "pro", $set: { email: "a@b.c" } },
      });
      ph.identify({
        distinctId: "cli-user",
        properties: { $set: { name: "Ada" }, $set_once: { first: "x" } },
      });
      ph.alias({ distinctId: "cli-user", alias: "anon-1" });
      ph.groupIdentify({ groupType: "company", groupKey: "acme", properties: { name: "Acme" } });
      await ph.shutdown();
      const end = Date.now();
      assert.deepEqual(
        rec.requests.map((r) => r.status),
        [200],
      );

      // Polled from this process while the server (another process) runs: it holds the file only to load.
      await waitForDuckDbRows(db, "web", 4);
      const rows = await duckdbEvents(db, "web");
      const byUuid = new Map(rows.map((r) => [r.uuid, r]));
      for (const e of sentEvents(rec.requests)) assertEventRow(byUuid.get(e.uuid), e, [start, end]);

      assert.deepEqual(await server.stop("SIGTERM"), { code: 0, signal: null });
      const messages = jsonMessages(server.lines);
      assert.match(
        messages[0] ?? "",
        /^capture listening on http:\/\/127\.0\.0\.1:\d+ \(api_host for PostHog clients\)/,
      );
      const tail = messages.slice(messages.indexOf("SIGTERM: stopping"));
      assert.equal(tail[0], "SIGTERM: stopping");
      assert.equal(tail[1], "capture stopped; loading the 0 event(s) the log still holds");
      // The status line, logged once more when the server stops.
      assert.match(tail[2] ?? "", /^events: \d+\/s accepted, \d+\/s loaded, lag 0 event\(s\)$/);
      assert.equal(tail.at(-1), "stopped: every acknowledged event is loaded");
      assert.equal(server.stdout, "");
    } finally {
      await server.kill();
    }
  });

  test("SIGTERM with events still in the log: stops accepting, loads every acknowledged event, exits 0", async (t) => {
    // Micro-batches of an hour: nothing is loaded before the signal, all of it after.
    const yaml = `serve:\n  batch_interval: 1h\n  batch_events: 1000000\n  projects:\n    - token: ${TOKEN}\n      dataset: web\n`;
    const dir = workDir(yaml);
    const db = join(dir, "events.duckdb");
    await emptyDuckDb(db);
    const server = await ServeProcess.start(["--port", "0", "--destination", `duckdb:${db}`, "--json"], dir);
    let holder: FileHolder | undefined;
    try {
      const rec = await sendCaptures(server.url, 300);
      // Another process holds the file: the server is seen stopped but loading (no longer accepting, still alive).
      holder = await holdDuckDbFile(db);
      server.child.kill("SIGTERM");
      const stopLine = await server.waitForLine(
        /capture stopped; loading the \d+ event\(s\) the log still holds/,
      );
      assert.equal(await refused(server.url), true, "the capture port is closed once the signal came");
      assert.equal(server.child.exitCode, null, "still running: loading what the log holds");
      await holder.release();
      assert.deepEqual(await server.exited(), { code: 0, signal: null });

      const rows = await duckdbEvents(db, "web");
      assert.equal(rows.length, 300);
      assert.deepEqual(
        new Set(rows.map((r) => r.uuid)),
        new Set(sentEvents(rec.requests).map((e) => e.uuid)),
      );
      const messages = jsonMessages(server.lines);
      assert.ok(messages.includes("stopped: every acknowledged event is loaded"));
      assert.match(messages.find((m) => m.startsWith("events: ")) ?? "", /, lag 0 event\(s\)$/);
      await t.test("the stop line names the events the log holds", {}, () =>
        assert.match(jsonLine(stopLine).msg, /loading the 300 event\(s\)/),
      );
    } finally {
      await holder?.release().catch(() => holder?.child.kill("SIGKILL"));
      await server.kill();
    }
  });

  test("SIGINT (Ctrl-C): loads every acknowledged event and exits 0; plain logs without --json", async () => {
    const yaml = `serve:\n  batch_interval: 1h\n  projects:\n    - token: ${TOKEN}\n      dataset: web\n`;
    const dir = workDir(yaml);
    const db = join(dir, "events.duckdb");
    const server = await ServeProcess.start(["--port", "0", "--destination", `duckdb:${db}`], dir);
    try {
      const rec = await sendCaptures(server.url, 120);
      assert.deepEqual(await server.stop("SIGINT"), { code: 0, signal: null });
      const rows = await duckdbEvents(db, "web");
      assert.equal(rows.length, 120);
      assert.deepEqual(
        new Set(rows.map((r) => r.uuid)),
        new Set(sentEvents(rec.requests).map((e) => e.uuid)),
      );
      const text = server.lines.filter((l) => l !== "");
      assert.ok(
        text.every((l) => /^ferry (debug|info |warn |error) /.test(l)),
        text.join("\n"),
      );
      assert.ok(text.includes("ferry info  SIGINT: stopping"));
      assert.ok(
        text.some((l) =>
          /^ferry info {2}capture stopped; loading the \d+ event\(s\) the log still holds$/.test(l),
        ),
      );
      assert.ok(text.includes("ferry info  stopped: every acknowledged event is loaded"));
    } finally {
      await server.kill();
    }
  });
});
