/**
 * Plugins in a running `ferry serve` (in this process, DuckDB destination, real plugin host): events sent over HTTP
 * go through the projects' plugins in order; failures follow each plugin's on_error and land in `plugin_errors`
 * (exact rows, loaded with the events); setupPlugin failures, scheduled functions, and storage across a restart.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConfigError } from "../../src/util/errors.js";
import {
  pluginErrors,
  queryDuckDb,
  sendBatch,
  startPluginServe,
  TOKEN,
  tempDir,
  waitFor,
  waitForLoaded,
  writePlugin,
} from "../helpers/plugins.js";

const ev = (uuid: string, properties: Record<string, unknown>, event = "clicked") => ({
  uuid,
  event,
  distinct_id: `user-${uuid.slice(-1)}`,
  timestamp: "2026-03-01T12:00:00.000Z",
  properties,
});

/** uuids that sort in the order they are written. */
const U = (n: number) => `01900000-0000-7000-8000-${String(n).padStart(12, "0")}`;

async function events(dbPath: string): Promise<Record<string, Record<string, unknown>>> {
  const rows = await queryDuckDb(
    dbPath,
    "SELECT uuid, properties::VARCHAR AS p FROM posthog.events ORDER BY uuid",
  );
  return Object.fromEntries(rows.map((r) => [String(r.uuid), JSON.parse(String(r.p))]));
}

describe("plugins in ferry serve", () => {
  test("plugins run in order; failures follow on_error; plugin_errors holds exactly what failed", async () => {
    const tmp = tempDir();
    try {
      const step = (name: string, failOn: string) =>
        writePlugin(
          tmp.dir,
          name,
          `export function processEvent(event: any) {
            const m = event.properties.mode;
            if (m === "${failOn}") throw new Error("${name} refuses " + event.uuid);
            if (m === "loop-${name}") for (;;) {}
            if (m === "exit-${name}") (process as any).exit(1);
            if (m === "fs-${name}") require("fs");
            if (m === "huge-${name}") event.properties.blob = "x".repeat(5 * 1024 * 1024);
            event.properties.chain = [...(event.properties.chain ?? []), "${name}"];
            return event;
          }`,
        );
      step("first", "fail-first");
      step("second", "fail-second");
      step("third", "fail-third");
      const s = await startPluginServe(
        {
          projects: [
            {
              token: TOKEN,
              plugins: [
                { module: "./first.ts", on_error: "pass", timeout: "300ms" },
                { module: "./second.ts", on_error: "drop" },
                { module: "./third.ts", on_error: "dead_letter" },
                { module: "ferry:downsampler", name: "keep-all", config: { percentage: 100 } },
              ],
            },
          ],
        },
        { dir: tmp.dir },
      );
      try {
        await sendBatch(s.url, [
          ev(U(1), {}),
          ev(U(2), { mode: "fail-first" }),
          ev(U(3), { mode: "fail-second" }),
          ev(U(4), { mode: "fail-third" }),
          ev(U(5), { mode: "loop-first" }),
          ev(U(6), { mode: "exit-second" }),
          ev(U(7), { mode: "fs-third" }),
          ev(U(8), { mode: "huge-first" }),
        ]);
        await waitForLoaded(s, 4);
      } finally {
        await s.stop();
      }
      const all = ["first", "second", "third"];
      assert.deepEqual(await events(s.dbPath), {
        [U(1)]: { chain: all, $sample_rate: 1 },
        // first failed with on_error pass: the event went on as first got it.
        [U(2)]: { mode: "fail-first", chain: ["second", "third"], $sample_rate: 1 },
        [U(5)]: { mode: "loop-first", chain: ["second", "third"], $sample_rate: 1 },
        [U(8)]: { mode: "huge-first", chain: ["second", "third"], $sample_rate: 1 },
      });
      const deadEvent = (uuid: string, mode: string) => ({
        uuid,
        event: "clicked",
        distinct_id: `user-${uuid.slice(-1)}`,
        ip: "127.0.0.1",
        site_url: "",
        team_id: 0,
        token: TOKEN,
        sent_at: null,
        timestamp: "2026-03-01T12:00:00.000Z",
        properties: { mode, chain: ["first", "second"] },
      });
      const rows = await pluginErrors(s.dbPath);
      // `now` (when ferry received the event) differs per run: compared apart.
      for (const r of rows) if (r.event) delete (r.event as Record<string, unknown>).now;
      assert.deepEqual(rows, [
        {
          plugin: "first",
          hook: "processEvent",
          event_uuid: U(2),
          error: `first refuses ${U(2)}`,
          action: "pass",
          attempts: null,
          event: null,
        },
        {
          plugin: "first",
          hook: "processEvent",
          event_uuid: U(5),
          error: "processEvent ran past its time limit of 300 ms and was stopped",
          action: "pass",
          attempts: null,
          event: null,
        },
        {
          plugin: "first",
          hook: "processEvent",
          event_uuid: U(8),
          error: "processEvent returned 5.0 MB of JSON; the limit is 4.0 MB",
          action: "pass",
          attempts: null,
          event: null,
        },
        {
          plugin: "second",
          hook: "processEvent",
          event_uuid: U(3),
          error: `second refuses ${U(3)}`,
          action: "drop",
          attempts: null,
          event: null,
        },
        {
          plugin: "second",
          hook: "processEvent",
          event_uuid: U(6),
          error: "ReferenceError: process is not defined",
          action: "drop",
          attempts: null,
          event: null,
        },
        {
          plugin: "third",
          hook: "processEvent",
          event_uuid: U(4),
          error: `third refuses ${U(4)}`,
          action: "dead_letter",
          attempts: null,
          event: deadEvent(U(4), "fail-third"),
        },
        {
          plugin: "third",
          hook: "processEvent",
          event_uuid: U(7),
          error:
            'require("fs") is not available in the plugin sandbox: plugins have no file system, process or network access (use meta.fetch for HTTP, meta.storage to keep data)',
          action: "dead_letter",
          attempts: null,
          event: deadEvent(U(7), "fs-third"),
        },
      ]);
      assert.ok(
        s.log.lines.every((l) => l.level !== "error"),
        JSON.stringify(s.log.lines),
      );
    } finally {
      tmp.cleanup();
    }
  });

  test("a module that does not compile refuses to start the server; a failing setupPlugin does not", async () => {
    const tmp = tempDir();
    try {
      writePlugin(tmp.dir, "syntax", "export function processEvent(e: any) { return e; ");
      await assert.rejects(
        startPluginServe(
          { projects: [{ token: TOKEN, plugins: [{ module: "./syntax.ts" }] }] },
          { dir: tmp.dir },
        ),
        (err: Error) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(
            err.message,
            "the plugin ./syntax.ts does not compile: syntax.ts:1:50: Unexpected end of file",
          );
          return true;
        },
      );
      await assert.rejects(
        startPluginServe(
          { projects: [{ token: TOKEN, plugins: [{ module: "ferry:nope" }] }] },
          { dir: tmp.dir },
        ),
        /there is no bundled plugin ferry:nope/,
      );
      writePlugin(
        tmp.dir,
        "needs-key",
        `export function setupPlugin({ config }: any) { if (!config.key) throw new Error("config.key is missing"); }
         export function processEvent(e: any) { return e; }`,
      );
      const s = await startPluginServe(
        { projects: [{ token: TOKEN, plugins: [{ module: "./needs-key.ts", on_error: "drop" }] }] },
        { dir: tmp.dir },
      );
      try {
        await sendBatch(s.url, [ev(U(1), {}), ev(U(2), {})]);
        await waitFor(
          "the events to be read",
          () => s.running.consumer.stats.lag === 0 && s.running.consumer.stats.batches > 0,
        );
      } finally {
        await s.stop();
      }
      assert.deepEqual(await events(s.dbPath), {});
      assert.deepEqual(await pluginErrors(s.dbPath), [
        {
          plugin: "needs-key",
          hook: "processEvent",
          event_uuid: U(1),
          error: "setupPlugin failed: config.key is missing",
          action: "drop",
          attempts: null,
          event: null,
        },
        {
          plugin: "needs-key",
          hook: "processEvent",
          event_uuid: U(2),
          error: "setupPlugin failed: config.key is missing",
          action: "drop",
          attempts: null,
          event: null,
        },
        {
          plugin: "needs-key",
          hook: "setupPlugin",
          event_uuid: null,
          error: "config.key is missing",
          action: null,
          attempts: null,
          event: null,
        },
      ]);
    } finally {
      tmp.cleanup();
    }
  });

  test("storage survives a restart: the first-time event tagger remembers what it saw", async () => {
    const tmp = tempDir();
    try {
      const serve = {
        projects: [
          {
            token: TOKEN,
            plugins: [{ module: "ferry:first-time-event", config: { events: ["signed up"] } }],
          },
        ],
      };
      const first = await startPluginServe(serve, { dir: tmp.dir });
      try {
        await sendBatch(first.url, [
          { ...ev(U(1), {}, "signed up"), distinct_id: "ada" },
          { ...ev(U(2), {}, "signed up"), distinct_id: "ada" },
          { ...ev(U(3), {}, "other"), distinct_id: "ada" },
        ]);
        await waitForLoaded(first, 3);
      } finally {
        await first.stop();
      }
      const second = await startPluginServe(serve, { dir: tmp.dir });
      try {
        await sendBatch(second.url, [
          { ...ev(U(4), {}, "signed up"), distinct_id: "ada" },
          { ...ev(U(5), {}, "signed up"), distinct_id: "bob" },
        ]);
        await waitForLoaded(second, 2);
      } finally {
        await second.stop();
      }
      const tags = (ever: boolean, user: boolean) => ({
        is_first_event_ever: ever,
        is_first_event_for_user: user,
      });
      assert.deepEqual(await events(second.dbPath), {
        [U(1)]: tags(true, true),
        [U(2)]: tags(false, false),
        [U(3)]: {},
        [U(4)]: tags(false, false),
        [U(5)]: tags(false, true),
      });
    } finally {
      tmp.cleanup();
    }
  });

  test("scheduled functions run on their interval, a run still going makes the next one skipped, failures are rows", async () => {
    const tmp = tempDir();
    try {
      writePlugin(
        tmp.dir,
        "ticker",
        `export async function runEveryMinute({ storage }: any) {
           await storage.set("ticks", ((await storage.get("ticks", 0)) as number) + 1);
           const t = Date.now(); while (Date.now() - t < 300) {}
         }
         export async function runEveryHour({ storage }: any) {
           const n = ((await storage.get("hours", 0)) as number) + 1;
           await storage.set("hours", n);
           if (n === 1) throw new Error("the first hour fails");
         }
         export async function runEveryDay({ storage, config }: any) {
           await storage.set("days", ((await storage.get("days", 0)) as number) + 1);
           await storage.set("day_config", config.label ?? null);
         }
         export async function processEvent(event: any, { storage }: any) {
           event.properties.days = await storage.get("days", 0);
           event.properties.day_config = await storage.get("day_config");
           return event;
         }`,
      );
      const s = await startPluginServe(
        { projects: [{ token: TOKEN, plugins: [{ module: "./ticker.ts", config: { label: "daily" } }] }] },
        {
          dir: tmp.dir,
          options: { pluginScheduleIntervals: { runEveryMinute: 100, runEveryHour: 150, runEveryDay: 200 } },
        },
      );
      const stats = () => s.running.plugins?.schedules;
      try {
        await waitFor(
          "runs and skipped runs",
          () => {
            const minute = stats()?.get("posthog/ticker:runEveryMinute");
            const hour = stats()?.get("posthog/ticker:runEveryHour");
            const day = stats()?.get("posthog/ticker:runEveryDay");
            return (
              minute &&
              hour &&
              day &&
              minute.runs >= 3 &&
              minute.skipped >= 2 &&
              hour.runs >= 2 &&
              hour.failed === 1 &&
              // A second run starts only once the first ended: runEveryDay ran to its end at least once.
              day.runs >= 2
            );
          },
          60_000,
          () => [...(stats() ?? [])],
        );
        // What runEveryDay stored (with meta.config) is what processEvent reads.
        await sendBatch(s.url, [{ uuid: U(1), event: "after", distinct_id: "d", properties: {} }]);
        await waitForLoaded(s, 1);
        // The failure's row is loaded on its own (no events come to take it along).
        await waitFor("the row to be stored", () => s.running.plugins?.unstoredErrors() === 0);
      } finally {
        await s.stop();
      }
      const minute = stats()?.get("posthog/ticker:runEveryMinute");
      assert.equal(minute?.failed, 0);
      assert.equal(stats()?.get("posthog/ticker:runEveryDay")?.failed, 0);
      const stored = (await events(s.dbPath))[U(1)];
      assert.equal(stored?.day_config, "daily");
      assert.ok(Number(stored?.days) >= 1, `runEveryDay ran ${stored?.days} time(s) before the event`);
      assert.deepEqual(await pluginErrors(s.dbPath), [
        {
          plugin: "ticker",
          hook: "runEveryHour",
          event_uuid: null,
          error: "the first hour fails",
          action: null,
          attempts: null,
          event: null,
        },
      ]);
    } finally {
      tmp.cleanup();
    }
  });

  test("config: a plugin in an unknown place or with an unknown key is refused by name", async () => {
    const tmp = tempDir();
    try {
      await assert.rejects(
        startPluginServe(
          { projects: [{ token: TOKEN, plugins: [{ module: "./missing.ts" }] }] },
          { dir: tmp.dir },
        ),
        new RegExp(
          `the plugin module \\./missing\\.ts does not exist \\(looked for ${join(tmp.dir, "missing.ts")}\\)`,
        ),
      );
      await assert.rejects(
        startPluginServe(
          { projects: [{ token: TOKEN, plugins: [{ module: "ferry:downsampler", on_eror: "drop" }] }] },
          { dir: tmp.dir },
        ),
        /serve\.projects\[0\]\.plugins\[0\]\.on_eror is not a plugin setting ferry knows/,
      );
    } finally {
      tmp.cleanup();
    }
  });
});
