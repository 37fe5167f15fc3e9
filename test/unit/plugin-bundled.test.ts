/**
 * The bundled plugins through `ferry/testing`'s harness (in this process); test/integration/plugin-sandbox.test.ts
 * runs them in the sandbox.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as downsampler from "../../src/events/plugins/bundled/downsampler.js";
import * as firstTime from "../../src/events/plugins/bundled/first-time-event.js";
import * as propertyFilter from "../../src/events/plugins/bundled/property-filter.js";
import * as userAgent from "../../src/events/plugins/bundled/user-agent.js";
import * as webhook from "../../src/events/plugins/bundled/webhook-export.js";
import {
  createCustomEvent,
  createEvent,
  createIdentify,
  createPageview,
  getMeta,
  MemoryCache,
  pluginHarness,
} from "../../src/testing/index.js";

const UAS = {
  chromeMac:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  iphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  ipad: "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
  firefoxLinux: "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
};

describe("ferry:property-filter", () => {
  test("drops names, dotted paths and patterns from properties, $set and $set_once", async () => {
    const h = pluginHarness(propertyFilter, {
      config: { properties: ["email", "address.street"], patterns: "^\\$geoip_, _token$" },
    });
    await h.setup();
    const out = await h.processEvent(
      createIdentify({
        properties: {
          email: "a@b.c",
          address: { street: "1 Main St", city: "Oslo" },
          $geoip_city_name: "Oslo",
          csrf_token: "t",
          tokens: 2,
        },
        $set: { email: "a@b.c", name: "Ada" },
        $set_once: { $geoip_country: "NO" },
      }),
    );
    assert.deepEqual(out?.properties, {
      $anon_distinct_id: "0190d1c5-6f7a-7d2e-9b1c-3f4a5b6c7d8e",
      $lib: "web",
      $lib_version: "1.200.0",
      address: { city: "Oslo" },
      tokens: 2,
    });
    assert.deepEqual(out?.$set, { name: "Ada" });
    assert.deepEqual(out?.$set_once, {});
  });

  test("setup refuses an empty config and a pattern that is not a regular expression", async () => {
    await assert.rejects(pluginHarness(propertyFilter, { config: {} }).setup(), /needs config\.properties/);
    await assert.rejects(
      pluginHarness(propertyFilter, { config: { patterns: ["(unclosed"] } }).setup(),
      /the pattern "\(unclosed" is not a regular expression/,
    );
  });
});

describe("ferry:user-agent", () => {
  const parse = async (ua: string, config = {}, properties: Record<string, unknown> = {}) =>
    (
      await pluginHarness(userAgent, { config }).processEvent(
        createEvent({ properties: { $raw_user_agent: ua, ...properties } }),
      )
    )?.properties;

  test("browser, OS and device type from the user agent", async () => {
    assert.deepEqual(await parse(UAS.chromeMac), {
      $raw_user_agent: UAS.chromeMac,
      $browser: "Chrome",
      $browser_version: "120.0.0.0",
      $os: "Mac OS",
      $os_version: "10.15.7",
      $device_type: "Desktop",
      $device: "Macintosh",
    });
    const iphone = await parse(UAS.iphone);
    assert.deepEqual(
      [iphone?.$browser, iphone?.$os, iphone?.$os_version, iphone?.$device_type, iphone?.$device],
      ["Mobile Safari", "iOS", "17.1", "Mobile", "iPhone"],
    );
    assert.equal((await parse(UAS.ipad))?.$device_type, "Tablet");
    const firefox = await parse(UAS.firefoxLinux);
    assert.deepEqual(
      [firefox?.$browser, firefox?.$os, firefox?.$device_type],
      ["Firefox", "Linux", "Desktop"],
    );
  });

  test("keeps values the event has unless overwrite; other sources; events without one pass untouched", async () => {
    assert.equal((await parse(UAS.firefoxLinux, {}, { $browser: "Custom" }))?.$browser, "Custom");
    assert.equal(
      (await parse(UAS.firefoxLinux, { overwrite: true }, { $browser: "Custom" }))?.$browser,
      "Firefox",
    );
    const h = pluginHarness(userAgent, { config: { sources: "$ua" } });
    assert.equal(
      (await h.processEvent(createEvent({ properties: { $ua: UAS.iphone } })))?.properties.$os,
      "iOS",
    );
    const plain = createCustomEvent();
    assert.deepEqual(await pluginHarness(userAgent).processEvent(plain), plain);
  });
});

describe("ferry:first-time-event", () => {
  test("first ever and first per user, from storage; the same event again keeps its tag", async () => {
    const h = pluginHarness(firstTime, { config: { events: ["signed up"] } });
    const signup = (uuid: string, who: string) => createEvent({ uuid, event: "signed up", distinct_id: who });
    const tags = async (e: ReturnType<typeof createEvent>) => {
      const p = (await h.processEvent(e))?.properties;
      return [p?.is_first_event_ever, p?.is_first_event_for_user];
    };
    assert.deepEqual(await tags(signup("e1", "ada")), [true, true]);
    assert.deepEqual(await tags(signup("e2", "ada")), [false, false]);
    assert.deepEqual(await tags(signup("e3", "bob")), [false, true]);
    // Processed again (a load that failed): the same uuid is still the first.
    assert.deepEqual(await tags(signup("e1", "ada")), [true, true]);
    assert.deepEqual(await tags(createPageview()), [undefined, undefined]);
    assert.deepEqual(h.meta.storage.entries(), {
      "ever/signed up": "e1",
      "user/signed up/ada": "e1",
      "user/signed up/bob": "e3",
    });
  });
});

describe("ferry:downsampler", () => {
  test("keeps the same distinct_ids every time, about the configured share, with $sample_rate", async () => {
    const h = pluginHarness(downsampler, { config: { percentage: 25 } });
    await h.setup();
    const ids = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const kept = new Set<string>();
    for (const id of ids) {
      const out = await h.processEvent(createEvent({ distinct_id: id }));
      if (out) {
        kept.add(id);
        assert.equal(out.properties.$sample_rate, 0.25);
      }
    }
    // FNV-1a over 4000 ids: 25% within 2 percentage points, and the same ids on a second pass.
    assert.ok(Math.abs(kept.size / ids.length - 0.25) < 0.02, `${kept.size} kept`);
    for (const id of ids.slice(0, 200))
      assert.equal((await h.processEvent(createEvent({ distinct_id: id }))) !== null, kept.has(id));
    assert.equal(downsampler.sampled("user-1", 2500), kept.has("user-1"));
    // Another salt picks other ids.
    const salted = ids.filter((id) => downsampler.sampled(id, 2500, "x"));
    assert.notDeepEqual(new Set(salted), kept);
  });

  test("0 keeps nothing, 100 keeps everything, anything else is refused", async () => {
    const none = pluginHarness(downsampler, { config: { percentage: 0 } });
    await none.setup();
    assert.equal(await none.processEvent(createPageview()), null);
    const all = pluginHarness(downsampler, { config: { percentage: "100" } });
    await all.setup();
    assert.notEqual(await all.processEvent(createPageview()), null);
    await assert.rejects(
      pluginHarness(downsampler, { config: { percentage: 120 } }).setup(),
      /0\.\.100, not 120/,
    );
    await assert.rejects(pluginHarness(downsampler, { config: {} }).setup(), /percentage must be a number/);
  });
});

describe("ferry:webhook-export", () => {
  test("the event as JSON by default, a template with escaped values and JSON values, an event filter", async () => {
    const h = pluginHarness(webhook, {
      config: {
        url: "https://hooks.example.com/in",
        headers: { Authorization: "Bearer t" },
        events: "order completed",
      },
    });
    await h.setup();
    const order = createCustomEvent({ uuid: "u1" });
    const w = await h.composeWebhook(order);
    assert.deepEqual(w, {
      url: "https://hooks.example.com/in",
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer t" },
      body: JSON.stringify(order),
    });
    assert.equal(await h.composeWebhook(createPageview()), null);
    assert.deepEqual(h.webhooks, [w]);

    const t = pluginHarness(webhook, {
      config: {
        url: "https://hooks.example.com/in",
        template:
          '{"text": "{{ distinct_id }} said {{ properties.quote }}{{ properties.missing }}", "n": {{ json properties.n }}, "all": {{json}}}',
      },
    });
    const e = createEvent({ distinct_id: 'ada "the first"', properties: { quote: "a\nb", n: [1, 2] } });
    const body = JSON.parse((await t.composeWebhook(e))?.body as string);
    assert.deepEqual(body, { text: 'ada "the first" said a\nb', n: [1, 2], all: e });
    await assert.rejects(
      pluginHarness(webhook, { config: { url: "ftp://x" } }).setup(),
      /config\.url must be an http\(s\) URL/,
    );
  });
});

describe("ferry/testing harness", () => {
  test("getMeta records fetches, answers with the handler, refuses hosts not allowed; logs are kept", async () => {
    const meta = getMeta({
      config: { a: 1 },
      allowedHosts: ["api.example.com"],
      fetch: (r) => ({ status: 201, body: { got: r.body } }),
    });
    const res = await meta.fetch("https://api.example.com/x", { method: "post", body: "hi" });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { got: "hi" });
    assert.deepEqual(meta.requests, [
      { url: "https://api.example.com/x", method: "POST", headers: {}, body: "hi" },
    ]);
    await assert.rejects(meta.fetch("https://other.example.com/"), /may not reach other\.example\.com/);
    meta.logger.warn("careful", { n: 1 });
    assert.deepEqual(meta.logs, [{ level: "warn", message: 'careful {"n":1}' }]);
  });

  test("processEvent gets a copy; scheduled hooks and teardown run", async () => {
    let runs = 0;
    const h = pluginHarness({
      processEvent(e) {
        e.properties.changed = true;
        return e;
      },
      runEveryMinute() {
        runs++;
      },
    });
    const e = createPageview();
    const out = await h.processEvent(e);
    assert.equal(out?.properties.changed, true);
    assert.equal(e.properties.changed, undefined);
    await h.runEveryMinute();
    await h.teardown();
    assert.equal(runs, 1);
  });

  test("the cache: values copied, TTL, incr, expire", async () => {
    let now = 1000;
    const cache = new MemoryCache({ now: () => now, maxEntries: 2 });
    const v = { a: [1] };
    await cache.set("k", v, 10);
    v.a.push(2);
    assert.deepEqual(await cache.get("k"), { a: [1] });
    assert.equal(await cache.incr("n"), 1);
    assert.equal(await cache.incr("n"), 2);
    now += 10_001;
    assert.equal(await cache.get("k", "gone"), "gone");
    assert.equal(await cache.expire("n", 1), true);
    now += 1001;
    assert.equal(await cache.get("n"), null);
    assert.equal(await cache.expire("n", 1), false);
    await cache.set("a", 1);
    await cache.set("b", 2);
    await cache.set("c", 3);
    assert.deepEqual([await cache.get("a"), await cache.get("b"), await cache.get("c")], [null, 2, 3]);
  });
});
