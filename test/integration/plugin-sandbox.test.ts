/**
 * The plugin sandbox for real: plugin modules compiled with esbuild and run in V8 isolates (isolated-vm) inside the
 * plugin host process. Each misbehaviour (an endless loop, a hanging promise, process.exit, require("fs"), a throw,
 * a huge return value, running out of memory, a host process that dies) gets its exact outcome, and the events
 * around it go through untouched.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { IngestEvent } from "../../src/events/ingest/stage.js";
import { compilePlugin } from "../../src/events/plugins/compile.js";
import { parsePluginSpecs } from "../../src/events/plugins/plugin-config.js";
import { PluginErrors } from "../../src/events/plugins/plugin-errors.js";
import { PluginHostCrash } from "../../src/events/plugins/plugin-host.js";
import { PluginStage } from "../../src/events/plugins/plugin-stage.js";
import {
  memoryLogger,
  pluginEvent,
  receiver,
  startHost,
  tempDir,
  waitFor,
  writePlugin,
} from "../helpers/plugins.js";

const page = (...events: ReturnType<typeof pluginEvent>[]) => JSON.stringify(events);

describe("plugin sandbox", () => {
  const tmp = tempDir();
  const log = memoryLogger();
  let h: Awaited<ReturnType<typeof startHost>>;
  before(async () => {
    h = await startHost(tmp.dir, log);
  });
  after(async () => {
    await h.host.stop();
    tmp.cleanup();
  });

  test("hooks: setupPlugin fills global, processEvent changes and drops, composeWebhook and onEvent run", async () => {
    const p = await h.load(
      "hooks",
      `
      export function setupPlugin({ config, global }: any) { global.tag = config.tag + "!"; }
      export function processEvent(event: any, { global }: any) {
        if (event.properties.drop) return null;
        event.properties.tag = global.tag;
        event.event = event.event.toUpperCase();
        return event;
      }
      export function composeWebhook(event: any) {
        if (event.properties.quiet) return null;
        return { url: "https://hooks.example.com/in", body: JSON.stringify({ e: event.event }) };
      }
      export async function onEvent(event: any, { storage }: any) { await storage.set("last", event.uuid); }
      `,
      { config: { tag: "t" } },
    );
    assert.deepEqual(p.hooks.sort(), ["composeWebhook", "onEvent", "processEvent", "setupPlugin"]);
    assert.equal(p.setupError, undefined);
    const r = await h.host.chain(
      [{ key: p.key, onError: "pass" }],
      page(pluginEvent("e1", { a: 1 }), pluginEvent("e2", { drop: true })),
      2,
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.events[1], null);
    const out = JSON.parse(r.events[0] as string);
    assert.equal(out.event, "TEST EVENT");
    assert.deepEqual(out.properties, { a: 1, tag: "t!" });

    const webhooks = await h.host.events(
      p.key,
      "composeWebhook",
      page(pluginEvent("w1"), pluginEvent("w2", { quiet: 1 })),
      2,
    );
    assert.deepEqual(webhooks, [
      [
        "ok",
        JSON.stringify({
          url: "https://hooks.example.com/in",
          method: "POST",
          headers: {},
          body: '{"e":"test event"}',
        }),
      ],
      ["none"],
    ]);
    const onEvent = await h.host.events(p.key, "onEvent", page(pluginEvent("o1"), pluginEvent("o2")), 2);
    assert.deepEqual(onEvent, [["ok"], ["ok"]]);
  });

  test("a default export object and a CommonJS module work as named exports do", async () => {
    const withDefault = await h.load(
      "default-export",
      `export default { processEvent(e: any) { e.properties.via = "default"; return e; } };`,
    );
    const path = writePlugin(tmp.dir, "commonjs", "");
    const cjs = path.replace(/\.ts$/, ".cjs");
    writeFileSync(cjs, `module.exports = { processEvent(e) { e.properties.via = "cjs"; return e; } };`);
    const { code } = await compilePlugin(cjs, tmp.dir);
    await h.host.load({
      key: "test/cjs",
      name: "cjs",
      code,
      config: {},
      timeoutMs: 1000,
      memoryMb: 64,
      allowedHosts: [],
    });
    for (const [key, via] of [
      [withDefault.key, "default"],
      ["test/cjs", "cjs"],
    ]) {
      const r = await h.host.chain([{ key: key as string, onError: "drop" }], page(pluginEvent("x")), 1);
      assert.equal(JSON.parse(r.events[0] as string).properties.via, via);
    }
  });

  test("a synchronous endless loop is stopped at the time limit; the isolate lives on", async () => {
    const p = await h.load(
      "loop",
      `
      let n = 0;
      export function processEvent(event: any) {
        n++;
        if (event.properties.loop) for (;;) {}
        event.properties.n = n;
        return event;
      }`,
      { timeoutMs: 300 },
    );
    const r = await h.host.chain(
      [{ key: p.key, onError: "drop" }],
      page(pluginEvent("a"), pluginEvent("b", { loop: true }), pluginEvent("c")),
      3,
    );
    assert.deepEqual(r.errors, [
      {
        index: 1,
        key: p.key,
        message: "processEvent ran past its time limit of 300 ms and was stopped",
        action: "drop",
      },
    ]);
    assert.equal(r.events[1], null);
    // The module's state survived: the counter went on (the isolate was not made again).
    assert.deepEqual(
      r.events.filter((e) => e !== null).map((e) => JSON.parse(e as string).properties.n),
      [1, 3],
    );
  });

  test("an async hook that never settles, or loops after an await, is stopped; the sandbox is made again", async () => {
    const p = await h.load(
      "hang",
      `
      let setups = 0;
      export function setupPlugin() { setups++; }
      export async function processEvent(event: any, { storage }: any) {
        await storage.get("k");
        if (event.properties.hang) await new Promise(() => {});
        if (event.properties.spin) for (;;) {}
        event.properties.setups = setups;
        return event;
      }`,
      { timeoutMs: 300 },
    );
    const r = await h.host.chain(
      [{ key: p.key, onError: "pass" }],
      page(
        pluginEvent("a"),
        pluginEvent("b", { hang: 1 }),
        pluginEvent("c"),
        pluginEvent("d", { spin: 1 }),
        pluginEvent("e"),
      ),
      5,
    );
    const timeout = "processEvent ran past its time limit of 300 ms and was stopped";
    assert.deepEqual(
      r.errors.map((e) => [e.index, e.message]),
      [
        [1, timeout],
        [3, timeout],
      ],
    );
    // on_error pass: the failed events go on unchanged; each new sandbox ran setupPlugin again.
    assert.deepEqual(
      r.events.map((e) => JSON.parse(e as string).properties),
      [{ setups: 1 }, { hang: 1 }, { setups: 1 }, { spin: 1 }, { setups: 1 }],
    );
  });

  test("process, require, the environment and the network do not exist in the sandbox", async () => {
    const p = await h.load(
      "escape",
      `
      export function processEvent(event: any) {
        const what = event.properties.try;
        if (what === "exit") (process as any).exit(1);
        if (what === "fs") require("fs").readFileSync("/etc/passwd");
        if (what === "env") return { ...event, properties: { env: (globalThis as any).process?.env ?? null } };
        if (what === "import") return import("node:fs").then(() => event);
        if (what === "globals") return { ...event, properties: {
          process: typeof process, fetch: typeof fetch, setTimeout: typeof setTimeout, Buffer: typeof Buffer } };
        return event;
      }`,
    );
    const tries = ["exit", "fs", "env", "import", "globals"];
    const r = await h.host.chain(
      [{ key: p.key, onError: "drop" }],
      page(...tries.map((t) => pluginEvent(t, { try: t }))),
      tries.length,
    );
    const messages = Object.fromEntries(r.errors.map((e) => [tries[e.index], e.message]));
    assert.equal(messages.exit, "ReferenceError: process is not defined");
    assert.match(messages.fs as string, /^require\("fs"\) is not available in the plugin sandbox/);
    assert.match(messages.import as string, /^require\("node:fs"\) is not available in the plugin sandbox/);
    assert.equal(messages.env, undefined);
    assert.deepEqual(JSON.parse(r.events[2] as string).properties, { env: null });
    assert.deepEqual(JSON.parse(r.events[4] as string).properties, {
      process: "undefined",
      fetch: "undefined",
      setTimeout: "undefined",
      Buffer: "undefined",
    });
  });

  test("a throw, a wrong return value and a huge return value fail their own event only", async () => {
    const p = await h.load(
      "bad-returns",
      `
      export function processEvent(event: any) {
        const m = event.properties.mode;
        if (m === "throw") throw new TypeError("no " + event.uuid);
        if (m === "number") return 42;
        if (m === "no-name") return { ...event, event: "" };
        if (m === "huge") { event.properties.blob = "x".repeat(6 * 1024 * 1024); }
        return event;
      }`,
    );
    const modes = ["throw", "number", "no-name", "huge", "fine"];
    const r = await h.host.chain(
      [{ key: p.key, onError: "dead_letter" }],
      page(...modes.map((m) => pluginEvent(m, { mode: m }))),
      modes.length,
    );
    assert.deepEqual(
      r.errors.map((e) => [modes[e.index], e.message, e.action]),
      [
        ["throw", "TypeError: no throw", "dead_letter"],
        [
          "number",
          "processEvent returned number, not an event (return the event, or null to drop it)",
          "dead_letter",
        ],
        [
          "no-name",
          "processEvent returned an invalid event: event must be a non-empty string",
          "dead_letter",
        ],
        ["huge", "processEvent returned 6.0 MB of JSON; the limit is 4.0 MB", "dead_letter"],
      ],
    );
    // Dead letters keep the event as the plugin got it.
    assert.deepEqual(JSON.parse(r.errors[0]?.event as string).properties, { mode: "throw" });
    assert.deepEqual(
      r.events.map((e) => (e === null ? null : JSON.parse(e).uuid)),
      [null, null, null, null, "fine"],
    );
  });

  test("running out of memory stops the plugin; the events before and after it go through", async () => {
    const p = await h.load(
      "hungry",
      `
      export function processEvent(event: any) {
        if (event.properties.eat) { const a: number[][] = []; for (;;) a.push(new Array(100000).fill(Math.random())); }
        return event;
      }`,
      { memoryMb: 32, timeoutMs: 10_000 },
    );
    const r = await h.host.chain(
      [{ key: p.key, onError: "drop" }],
      page(pluginEvent("a"), pluginEvent("b", { eat: 1 }), pluginEvent("c")),
      3,
    );
    assert.deepEqual(
      r.errors.map((e) => [e.index, e.message]),
      [[1, "processEvent ran out of memory (the plugin's limit is 32 MB) and was stopped"]],
    );
    assert.deepEqual(
      r.events.map((e) => (e === null ? null : JSON.parse(e).uuid)),
      ["a", null, "c"],
    );
  });

  test("a module that throws while loading is refused; a failing setupPlugin fails each event with its message", async () => {
    await assert.rejects(
      h.load(
        "broken-module",
        `throw new Error("top-level boom"); export function processEvent(e: any) { return e; }`,
      ),
      /the module did not load: top-level boom/,
    );
    const p = await h.load(
      "bad-setup",
      `export function setupPlugin() { throw new Error("missing api key"); }
       export function processEvent(e: any) { return e; }`,
    );
    assert.equal(p.setupError, "missing api key");
    const r = await h.host.chain([{ key: p.key, onError: "pass" }], page(pluginEvent("a")), 1);
    assert.deepEqual(
      r.errors.map((e) => e.message),
      ["setupPlugin failed: missing api key"],
    );
    assert.equal(JSON.parse(r.events[0] as string).uuid, "a");
  });

  test("meta.fetch reaches allowed hosts only, and does not follow redirects to others", async () => {
    const server = await receiver((r) =>
      r.url === "/redirect"
        ? { status: 302, body: "" }
        : { status: 201, body: JSON.stringify({ echo: r.body }) },
    );
    try {
      const p = await h.load(
        "fetcher",
        `
        export async function processEvent(event: any, { fetch }: any) {
          const res = await fetch(event.properties.url, { method: "POST", body: "hi" });
          event.properties.status = res.status;
          if (res.status === 201) event.properties.body = await res.json();
          return event;
        }`,
        { allowedHosts: [server.host] },
      );
      const r = await h.host.chain(
        [{ key: p.key, onError: "drop" }],
        page(
          pluginEvent("ok", { url: `${server.url}/x` }),
          pluginEvent("redirect", { url: `${server.url}/redirect` }),
          pluginEvent("other", { url: "http://127.0.0.2:9/x" }),
          pluginEvent("file", { url: "file:///etc/passwd" }),
        ),
        4,
      );
      assert.deepEqual(JSON.parse(r.events[0] as string).properties.body, { echo: "hi" });
      assert.equal(JSON.parse(r.events[1] as string).properties.status, 302);
      assert.deepEqual(
        r.errors.map((e) => [e.index, e.message]),
        [
          [
            2,
            `fetch refused: the plugin fetcher may not reach 127.0.0.2:9: add it to the plugin's allowed_hosts in ferry.yaml (allowed now: ${server.host})`,
          ],
          [3, "fetch refused: only http and https URLs can be fetched, not file:"],
        ],
      );
      assert.equal(server.requests.length, 2);
    } finally {
      await server.close();
    }
  });

  test("a slow onEvent does not hold up processEvent of the same plugin: calls take turns", async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 300 }));
    try {
      const p = await h.load(
        "turns",
        `export function processEvent(e: any) { e.properties.seen = true; return e; }
         export async function onEvent(e: any, { fetch }: any) { await fetch("${slow.url}/x"); }`,
        { allowedHosts: [slow.host] },
      );
      const n = 8;
      let exportsDone = false;
      const exporting = h.host
        .events(p.key, "onEvent", page(...Array.from({ length: n }, (_, i) => pluginEvent(`o${i}`))), n)
        .then((r) => {
          exportsDone = true;
          return r;
        });
      await waitFor("the first onEvent request", () => slow.requests.length > 0);
      const r = await h.host.chain([{ key: p.key, onError: "drop" }], page(pluginEvent("p")), 1);
      assert.equal(JSON.parse(r.events[0] as string).properties.seen, true);
      assert.equal(exportsDone, false, "processEvent ran while onEvent's page was still going");
      assert.deepEqual(
        await exporting,
        Array.from({ length: n }, () => ["ok"]),
      );
    } finally {
      await slow.close();
    }
  });

  test("storage persists per plugin; teardownPlugin runs when the host stops; a new host reads what was stored", async () => {
    const source = `
      export async function processEvent(event: any, { storage }: any) {
        event.properties.before = await storage.get("count", 0);
        await storage.set("count", (event.properties.before as number) + 1);
        return event;
      }
      export async function teardownPlugin({ storage }: any) { await storage.set("torn", true); }`;
    const own = tempDir();
    try {
      const first = await startHost(own.dir);
      const p = await first.load("counter", source);
      const r1 = await first.host.chain(
        [{ key: p.key, onError: "drop" }],
        page(pluginEvent("a"), pluginEvent("b")),
        2,
      );
      assert.deepEqual(
        r1.events.map((e) => JSON.parse(e as string).properties.before),
        [0, 1],
      );
      assert.deepEqual([...(await first.host.stop()).entries()], []);

      const second = await startHost(own.dir);
      const q = await second.load(
        "counter",
        `${source}
        export async function composeWebhook(e: any, { storage }: any) {
          return { url: "https://x.example/" + (await storage.get("torn")) + "/" + (await storage.get("count")) };
        }`,
      );
      const [w] = await second.host.events(q.key, "composeWebhook", page(pluginEvent("c")), 1);
      assert.equal(JSON.parse(w?.[1] as string).url, "https://x.example/true/2");
      // Another plugin's storage is its own.
      const other = await second.load("other", source);
      const r2 = await second.host.chain([{ key: other.key, onError: "drop" }], page(pluginEvent("d")), 1);
      assert.equal(JSON.parse(r2.events[0] as string).properties.before, 0);
      await second.host.stop();
    } finally {
      own.cleanup();
    }
  });

  test("meta.cache keeps values between calls: get, set (copies), incr, expire, del; each plugin its own", async () => {
    const source = `
      export async function processEvent(event: any, { cache }: any) {
        const op = event.properties.op;
        if (op === "set") {
          const value = { n: 1 };
          await cache.set("obj", value, 3600);
          value.n = 2; // the cache keeps a copy
          await cache.set("keep", "kept");
        }
        if (op === "expire") {
          event.properties.expired = await cache.expire("keep", 0);
          event.properties.missing = await cache.expire("nothing", 10);
        }
        if (op === "del") await cache.del("obj");
        event.properties.obj = await cache.get("obj", "none");
        event.properties.keep = await cache.get("keep", "gone");
        event.properties.hits = await cache.incr("hits");
        return event;
      }`;
    const p = await h.load("cached", source);
    const other = await h.load("cached-other", source);
    const r = await h.host.chain(
      [{ key: p.key, onError: "drop" }],
      page(
        pluginEvent("c1", { op: "set" }),
        pluginEvent("c2", { op: "read" }),
        pluginEvent("c3", { op: "expire" }),
        pluginEvent("c4", { op: "del" }),
      ),
      4,
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.events.map((e) => JSON.parse(e as string).properties),
      [
        { op: "set", obj: { n: 1 }, keep: "kept", hits: 1 },
        { op: "read", obj: { n: 1 }, keep: "kept", hits: 2 },
        // expire with 0 seconds removes the key at once; a key that is not there answers false.
        { op: "expire", expired: true, missing: false, obj: { n: 1 }, keep: "gone", hits: 3 },
        { op: "del", obj: "none", keep: "gone", hits: 4 },
      ],
    );
    // A second call to the same plugin sees what the first left; another plugin's cache is empty.
    const again = await h.host.chain([{ key: p.key, onError: "drop" }], page(pluginEvent("c5")), 1);
    assert.equal(JSON.parse(again.events[0] as string).properties.hits, 5);
    const fresh = await h.host.chain([{ key: other.key, onError: "drop" }], page(pluginEvent("c6")), 1);
    assert.deepEqual(JSON.parse(fresh.events[0] as string).properties, {
      obj: "none",
      keep: "gone",
      hits: 1,
    });
  });

  test("a host process that dies fails the request in flight and is started again with its plugins", async () => {
    const p = await h.load(
      "survivor",
      `export function processEvent(e: any) { e.properties.ok = true; return e; }`,
    );
    const slow = await h.load(
      "slow",
      `export function processEvent(e: any) { const t = Date.now(); while (Date.now() - t < 3000) {} return e; }`,
      { timeoutMs: 10_000 },
    );
    const starts = h.host.starts;
    const pid = h.host.pid as number;
    const inFlight = h.host.chain([{ key: slow.key, onError: "drop" }], page(pluginEvent("x")), 1);
    process.kill(pid, "SIGKILL");
    await assert.rejects(inFlight, (err: Error) => {
      assert.ok(err instanceof PluginHostCrash);
      assert.equal(err.message, "the plugin host process stopped (signal SIGKILL)");
      return true;
    });
    const r = await h.host.chain([{ key: p.key, onError: "drop" }], page(pluginEvent("after")), 1);
    assert.deepEqual(JSON.parse(r.events[0] as string).properties, { ok: true });
    assert.equal(h.host.starts, starts + 1);
    assert.notEqual(h.host.pid, pid);
    assert.ok(
      log.lines.some(
        (l) => l.level === "error" && /the plugin host process stopped \(signal SIGKILL\)/.test(l.msg),
      ),
    );
  });

  test("plugin logs reach ferry's log, named, and are rate limited", async () => {
    const p = await h.load(
      "chatty",
      `export function processEvent(e: any, { logger }: any) { console.log("event", e.uuid, { n: 1 }); logger.warn("careful"); return e; }`,
    );
    const n = 40;
    await h.host.chain(
      [{ key: p.key, onError: "drop" }],
      page(...Array.from({ length: n }, (_, i) => pluginEvent(`l${i}`))),
      n,
    );
    const lines = await waitFor("log lines", () => {
      const mine = log.lines.filter((l) => l.msg.startsWith(`plugin ${p.key}: `));
      return mine.length >= 50 ? mine : undefined;
    });
    assert.deepEqual(lines[0], { level: "info", msg: `plugin ${p.key}: event l0 {"n":1}` });
    assert.deepEqual(lines[1], { level: "warn", msg: `plugin ${p.key}: careful` });
    // 50 lines per 10 s window; the other 30 are counted, not written.
    assert.equal(lines.length, 50);
  });

  test("the bundled plugins compile (with their npm imports) and run in the sandbox", async () => {
    const ua =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    const load = async (module: string, config: Record<string, unknown>) => {
      const { code } = await compilePlugin(module, tmp.dir);
      const key = `bundled/${module}`;
      const r = await h.host.load({
        key,
        name: module,
        code,
        config,
        timeoutMs: 1000,
        memoryMb: 64,
        allowedHosts: [],
      });
      assert.equal(r.setupError, undefined);
      return { key, onError: "pass" as const };
    };
    const links = [
      await load("ferry:user-agent", {}),
      await load("ferry:property-filter", { properties: ["$raw_user_agent"] }),
      await load("ferry:first-time-event", {}),
      await load("ferry:downsampler", { percentage: 100 }),
    ];
    const r = await h.host.chain(links, page(pluginEvent("b1", { $raw_user_agent: ua })), 1);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(JSON.parse(r.events[0] as string).properties, {
      $browser: "Mobile Safari",
      $browser_version: "17.1",
      $os: "iOS",
      $os_version: "17.1",
      $device_type: "Mobile",
      $device: "iPhone",
      is_first_event_ever: true,
      is_first_event_for_user: true,
      $sample_rate: 1,
    });
    const hook = await load("ferry:webhook-export", {
      url: "https://hooks.example.com/x",
      template: '{"who": "{{ distinct_id }}"}',
    });
    const [w] = await h.host.events(hook.key, "composeWebhook", page(pluginEvent("b2")), 1);
    assert.deepEqual(JSON.parse(w?.[1] as string), {
      url: "https://hooks.example.com/x",
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"who": "user-1"}',
    });
  });

  test("the plugin stage runs a page again plugin by plugin when the host dies under it; nothing is lost", async () => {
    const first = await h.load(
      "stage-first",
      `export function processEvent(e: any) { e.properties.first = true; return e; }`,
    );
    const slow = await h.load(
      "stage-slow",
      `export function processEvent(e: any) { const t = Date.now(); while (Date.now() - t < 400) {} e.properties.slow = true; return e; }`,
      { timeoutMs: 5000 },
    );
    const [spec] = parsePluginSpecs([{ module: "./x.ts", name: "stage" }], "test");
    const errors = await PluginErrors.open(join(tmp.dir, "stage-errors.jsonl"));
    const project = { token: "phc_t", dataset: "posthog", materialize: [] };
    const plugins = [first, slow].map((p) => ({
      spec: spec as NonNullable<typeof spec>,
      key: p.key,
      hooks: p.hooks,
    }));
    const stage = new PluginStage(
      h.host,
      new Map([["phc_t", { project, plugins, errors }]]),
      () => undefined,
    );
    const [table] = await stage.beginBatch(project, {});
    const events: IngestEvent[] = ["s1", "s2"].map((uuid) => ({
      uuid,
      event: "e",
      distinct_id: "d",
      token: "phc_t",
      timestamp: "2026-01-01T00:00:00.000Z",
      created_at: "2026-01-01T00:00:00.000Z",
      properties: {},
      set: null,
      set_once: null,
      elements_chain: null,
      ip: null,
    }));
    const pid = h.host.pid as number;
    const starts = h.host.starts;
    // The page is on its way to the host (or in it: the slow plugin takes 800 ms) when the host is killed.
    const processing = stage.process(events, project);
    process.kill(pid, "SIGKILL");
    const out = await processing;
    assert.equal(h.host.starts, starts + 1);
    assert.deepEqual(
      out.map((e) => [e.uuid, e.properties]),
      [
        ["s1", { first: true, slow: true }],
        ["s2", { first: true, slow: true }],
      ],
    );
    const rows = [];
    for await (const page of table?.rows() ?? []) rows.push(...page);
    assert.deepEqual(rows, []);
  });
});
