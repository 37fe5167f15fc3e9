import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatChange, jsonChanges } from "../../src/cli/plugin-diff.js";
import type { IngestEvent } from "../../src/events/ingest/stage.js";
import { hostAllowed } from "../../src/events/plugins/allowed-hosts.js";
import { parsePluginSpecs } from "../../src/events/plugins/plugin-config.js";
import { fromPluginEvent, toPluginEvent } from "../../src/events/plugins/plugin-event.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";
import { ConfigError } from "../../src/util/errors.js";

const W = "serve.projects[0].plugins";

describe("plugin config", () => {
  test("defaults, names from the module, and every setting", () => {
    assert.deepEqual(parsePluginSpecs(["ferry:user-agent", { module: "./plugins/geoip/index.ts" }], W), [
      {
        module: "ferry:user-agent",
        name: "user-agent",
        config: {},
        onError: "pass",
        allowedHosts: [],
        timeoutMs: 1000,
        memoryMb: 128,
        retries: { attempts: 8, backoffMs: 1000 },
        deliveryTimeoutMs: 10_000,
      },
      {
        module: "./plugins/geoip/index.ts",
        name: "geoip",
        config: {},
        onError: "pass",
        allowedHosts: [],
        timeoutMs: 1000,
        memoryMb: 128,
        retries: { attempts: 8, backoffMs: 1000 },
        deliveryTimeoutMs: 10_000,
      },
    ]);
    const [spec] = parsePluginSpecs(
      [
        {
          module: "./drop-email.ts",
          name: "pii",
          config: { property: "email" },
          on_error: "dead_letter",
          allowed_hosts: ["API.example.com", "*.hooks.example.com", "127.0.0.1:8080"],
          timeout: "250ms",
          memory: "1GB",
          retries: { attempts: 3, backoff: "2s" },
          delivery_timeout: "1m",
        },
      ],
      W,
    );
    assert.deepEqual(spec, {
      module: "./drop-email.ts",
      name: "pii",
      config: { property: "email" },
      onError: "dead_letter",
      allowedHosts: ["api.example.com", "*.hooks.example.com", "127.0.0.1:8080"],
      timeoutMs: 250,
      memoryMb: 1024,
      retries: { attempts: 3, backoffMs: 2000 },
      deliveryTimeoutMs: 60_000,
    });
  });

  test("wrong settings are refused with the key named", () => {
    const refused = (entry: unknown, message: RegExp) =>
      assert.throws(
        () => parsePluginSpecs([entry], W),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
      );
    refused({ module: "" }, /plugins\[0\]\.module must be a path/);
    refused(
      { module: "x.ts", on_error: "ignore" },
      /on_error must be one of pass, drop, dead_letter, not "ignore"/,
    );
    refused({ module: "x.ts", onError: "drop" }, /plugins\[0\]\.onError is not a plugin setting ferry knows/);
    refused({ module: "x.ts", timeout: "forever" }, /timeout must be a duration like 500ms/);
    refused({ module: "x.ts", timeout: 0 }, /timeout must be a duration/);
    refused({ module: "x.ts", memory: "2MB" }, /memory must be a size from 8MB to 4GB/);
    refused(
      { module: "x.ts", allowed_hosts: ["https://a.example.com/x"] },
      /allowed_hosts\[0\] must be a host name/,
    );
    refused(
      { module: "x.ts", retries: { attempts: 0 } },
      /retries\.attempts must be a whole number 1\.\.1000/,
    );
    refused({ module: "x.ts", retries: { tries: 2 } }, /retries\.tries is not a setting/);
    refused({ module: "x.ts", config: [1] }, /config must be a mapping/);
    refused({ module: "./a/index.ts", name: "a b" }, /name must be 1-64 letters/);
    assert.throws(
      () => parsePluginSpecs(["ferry:downsampler", { module: "./downsampler.js" }], W),
      /plugins\[1\]: two plugins of the project are named "downsampler"/,
    );
  });

  test("serve.projects[].plugins is read; --token keeps the project's plugins", () => {
    const c = resolveServeConfig(
      {
        serve: {
          projects: [
            { token: "phc_a", plugins: [{ module: "ferry:property-filter" }] },
            { token: "phc_b", dataset: "b" },
          ],
        },
      },
      { token: ["phc_a"] },
      ".ferry",
    );
    assert.deepEqual(
      c.projects.map((p) => [p.token, (p.plugins ?? []).map((s) => s.name)]),
      [
        ["phc_a", ["property-filter"]],
        ["phc_b", []],
      ],
    );
    assert.throws(
      () => resolveServeConfig({ serve: { projects: [{ token: "t", plugins: {} }] } }, {}, ".ferry"),
      /serve\.projects\[0\]\.plugins must be a list/,
    );
  });
});

describe("allowed hosts", () => {
  const allowed = (url: string, hosts: string[]) => hostAllowed(new URL(url), hosts);
  test("names, subdomain wildcards and ports", () => {
    assert.equal(allowed("https://api.example.com/v1", ["api.example.com"]), true);
    assert.equal(allowed("https://API.EXAMPLE.com/v1", ["api.example.com"]), true);
    assert.equal(allowed("https://evil.com/api.example.com", ["api.example.com"]), false);
    assert.equal(allowed("https://api.example.com.evil.com/", ["api.example.com"]), false);
    assert.equal(allowed("https://a.b.example.com/", ["*.example.com"]), true);
    assert.equal(allowed("https://example.com/", ["*.example.com"]), false);
    assert.equal(allowed("https://notexample.com/", ["*.example.com"]), false);
    assert.equal(allowed("http://127.0.0.1:8080/x", ["127.0.0.1:8080"]), true);
    assert.equal(allowed("http://127.0.0.1:8081/x", ["127.0.0.1:8080"]), false);
    assert.equal(allowed("https://api.example.com:443/", ["api.example.com:443"]), true);
    assert.equal(allowed("ftp://api.example.com/", ["api.example.com"]), false);
    assert.equal(allowed("https://api.example.com/", []), false);
  });
});

describe("events between ferry and plugins", () => {
  const captured: IngestEvent = {
    uuid: "0190-1",
    event: "$pageview",
    distinct_id: "u1",
    token: "phc_x",
    timestamp: "2026-01-01T00:00:00.000Z",
    created_at: "2026-01-01T00:00:01.000Z",
    properties: { a: 1 },
    set: { email: "a@b.c" },
    set_once: null,
    elements_chain: null,
    ip: "10.0.0.1",
  };

  test("a captured event in PostHog's shape and back; uuid, token and receive time stay", () => {
    const e = toPluginEvent(captured);
    assert.deepEqual(e, {
      uuid: "0190-1",
      event: "$pageview",
      distinct_id: "u1",
      ip: "10.0.0.1",
      site_url: "",
      team_id: 0,
      token: "phc_x",
      now: "2026-01-01T00:00:01.000Z",
      sent_at: null,
      timestamp: "2026-01-01T00:00:00.000Z",
      properties: { a: 1 },
      $set: { email: "a@b.c" },
    });
    const back = fromPluginEvent(captured, {
      ...e,
      uuid: "changed",
      token: "changed",
      now: "changed",
      event: "renamed",
      timestamp: "2026-01-02T00:00:00Z",
      $set_once: { first: true },
      $set: undefined,
    });
    assert.deepEqual(back, {
      ...captured,
      event: "renamed",
      timestamp: "2026-01-02T00:00:00.000Z",
      set: null,
      set_once: { first: true },
    });
  });

  test("what is not an event is refused with what is wrong", () => {
    assert.throws(() => fromPluginEvent(captured, "x"), /returned "x", not an event object/);
    assert.throws(() => fromPluginEvent(captured, { event: "a" }), /without a distinct_id/);
    assert.throws(
      () => fromPluginEvent(captured, { ...toPluginEvent(captured), timestamp: "yesterday" }),
      /a timestamp that is not a date: "yesterday"/,
    );
    assert.throws(
      () => fromPluginEvent(captured, { ...toPluginEvent(captured), properties: [1] }),
      /properties that are an array/,
    );
  });
});

describe("plugin test diffs", () => {
  test("changes by path: added, removed, changed; arrays compared whole", () => {
    const changes = jsonChanges(
      { a: 1, p: { x: 1, y: [1, 2], gone: "g" }, same: { k: true } },
      { a: 2, p: { x: 1, y: [1, 3], added: null }, same: { k: true } },
    );
    assert.deepEqual(changes.map(formatChange), [
      "~ a: 1 -> 2",
      "~ p.y: [1,2] -> [1,3]",
      '- p.gone: "g"',
      "+ p.added: null",
    ]);
  });
});
