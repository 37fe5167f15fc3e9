/**
 * PostHog's event rules as capture applies them: distinct_id forms, event names (and /engage's $identify), uuids kept
 * or assigned, the timestamp vectors from the research (now = 12:00:00Z), the 23-hour future rule and its warning,
 * $set/$set_once from the top level and from properties, the element chain, ip and historical_migration.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CaptureWarning,
  type RequestContext,
  toCapturedEvent,
} from "../../src/events/capture/event-rules.js";
import { CaptureRejection } from "../../src/events/event.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const NOW_ISO = "2026-01-01T12:00:00.000Z";
const UUID = "018a981f-4b35-7c66-825e-8b0eeae65714";

function ctx(over: Partial<RequestContext> = {}): RequestContext {
  return {
    token: "phc_x",
    now: NOW,
    nowIso: NOW_ISO,
    ip: "203.0.113.7",
    historicalMigration: false,
    engage: false,
    count: 1,
    ...over,
  };
}

function rejects(raw: Record<string, unknown>, reason: string, message: RegExp, c = ctx()): void {
  assert.throws(
    () => toCapturedEvent(raw, 2, c),
    (e: unknown) => {
      assert.ok(e instanceof CaptureRejection, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.reason, reason, e.message);
      assert.match(e.message, message);
      return true;
    },
    JSON.stringify(raw),
  );
}

describe("distinct_id", () => {
  test("its sources and how values become strings", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ distinct_id: "myid" }, "myid"],
      [{ $distinct_id: "23" }, "23"],
      [{ properties: { distinct_id: "fromprops" } }, "fromprops"],
      [{ distinct_id: 23, properties: { distinct_id: "myid" } }, "23"],
      [{ distinct_id: null, properties: { distinct_id: "p" } }, "p"],
      [{ distinct_id: 23 }, "23"],
      [{ distinct_id: 23.4 }, "23.4"],
      [{ distinct_id: true }, "true"],
      [{ distinct_id: ["a", "b"] }, '["a","b"]'],
      [{ distinct_id: { string: "a", number: 3 } }, '{"number":3,"string":"a"}'],
      [{ distinct_id: "a\u0000b" }, "a\ufffdb"],
      [{ distinct_id: " spaced " }, " spaced "],
    ];
    for (const [raw, expected] of cases) {
      assert.equal(
        toCapturedEvent({ event: "e", ...raw }, 0, ctx()).distinct_id,
        expected,
        JSON.stringify(raw),
      );
    }
  });

  test("cut to 200 characters (code points, a surrogate pair is never split)", () => {
    const long = "x".repeat(222);
    assert.equal(toCapturedEvent({ event: "e", distinct_id: long }, 0, ctx()).distinct_id, "x".repeat(200));
    const emoji = "😀".repeat(201);
    assert.equal(toCapturedEvent({ event: "e", distinct_id: emoji }, 0, ctx()).distinct_id, "😀".repeat(200));
  });

  test("missing, null and empty are 400 missing_distinct_id, naming the event in a batch", () => {
    rejects({ event: "e" }, "missing_distinct_id", /^events\[2\] has no distinct_id/, ctx({ count: 5 }));
    rejects({ event: "e", distinct_id: null }, "missing_distinct_id", /^the event has no distinct_id/);
    rejects({ event: "e", distinct_id: "" }, "missing_distinct_id", /no distinct_id/);
    rejects({ event: "e", properties: { distinct_id: null } }, "missing_distinct_id", /no distinct_id/);
  });
});

describe("event name, uuid, properties", () => {
  test("the event name is required, except on /engage where it defaults to $identify", () => {
    rejects({ distinct_id: "u" }, "missing_event_name", /has no event name/);
    rejects({ distinct_id: "u", event: "" }, "missing_event_name", /has no event name/);
    rejects({ distinct_id: "u", event: 5 }, "invalid_event", /event name must be a string/);
    const engage = toCapturedEvent({ distinct_id: "u", $set: { a: 1 } }, 0, ctx({ engage: true }));
    assert.equal(engage.event, "$identify");
    assert.deepEqual(engage.set, { a: 1 });
    assert.equal(toCapturedEvent({ distinct_id: "u", event: "x" }, 0, ctx({ engage: true })).event, "x");
  });

  test("a client uuid is kept (normalized); empty means absent; invalid is a 400", () => {
    const kept: [unknown, string][] = [
      [UUID, UUID],
      [UUID.toUpperCase(), UUID],
      [UUID.replaceAll("-", ""), UUID],
      [`{${UUID}}`, UUID],
      [`urn:uuid:${UUID}`, UUID],
    ];
    for (const [uuid, expected] of kept) {
      assert.equal(
        toCapturedEvent({ event: "e", distinct_id: "u", uuid }, 0, ctx()).uuid,
        expected,
        String(uuid),
      );
    }
    for (const uuid of ["", null, undefined]) {
      const assigned = toCapturedEvent({ event: "e", distinct_id: "u", uuid }, 0, ctx()).uuid;
      assert.match(assigned, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // the v7 time is the request's now
      assert.equal(Number.parseInt(assigned.replace("-", "").slice(0, 12), 16), NOW);
    }
    rejects(
      { event: "e", distinct_id: "u", uuid: "not-a-uuid" },
      "invalid_uuid",
      /uuid "not-a-uuid" is not a UUID/,
    );
    rejects({ event: "e", distinct_id: "u", uuid: 12 }, "invalid_uuid", /uuid must be a string/);
  });

  test("properties must be an object; missing or null is {}", () => {
    assert.deepEqual(toCapturedEvent({ event: "e", distinct_id: "u" }, 0, ctx()).properties, {});
    assert.deepEqual(
      toCapturedEvent({ event: "e", distinct_id: "u", properties: null }, 0, ctx()).properties,
      {},
    );
    rejects(
      { event: "e", distinct_id: "u", properties: [1] },
      "invalid_event",
      /properties must be a JSON object/,
    );
    rejects(
      { event: "e", distinct_id: "u", properties: "x" },
      "invalid_event",
      /properties must be a JSON object/,
    );
  });

  test("the whole record for posthog-node's event", () => {
    const raw = {
      distinct_id: "id1",
      event: "this event",
      properties: { $lib: "posthog-node", $lib_version: "4.0.0", $geoip_disable: true },
      type: "capture",
      library: "posthog-node",
      library_version: "4.0.0",
      timestamp: "2026-01-01T11:59:58.900Z",
      uuid: UUID,
    };
    assert.deepEqual(toCapturedEvent(raw, 0, ctx({ sentAt: Date.parse("2026-01-01T11:59:59.000Z") })), {
      uuid: UUID,
      event: "this event",
      distinct_id: "id1",
      token: "phc_x",
      timestamp: "2026-01-01T11:59:59.900Z",
      created_at: NOW_ISO,
      properties: { $lib: "posthog-node", $lib_version: "4.0.0", $geoip_disable: true },
      set: null,
      set_once: null,
      elements_chain: null,
      ip: "203.0.113.7",
    });
  });

  test("historical_migration is set only when the batch says so", () => {
    const e = toCapturedEvent({ event: "e", distinct_id: "u" }, 0, ctx({ historicalMigration: true }));
    assert.equal(e.historical_migration, true);
    assert.equal(
      "historical_migration" in toCapturedEvent({ event: "e", distinct_id: "u" }, 0, ctx()),
      false,
    );
  });
});

describe("timestamps", () => {
  const at = (raw: Record<string, unknown>, c: Partial<RequestContext> = {}) =>
    toCapturedEvent({ event: "e", distinct_id: "u", ...raw }, 0, ctx(c)).timestamp;
  const ms = (iso: string) => Date.parse(iso);

  test("the research's vectors (now = 12:00:00Z)", () => {
    const cases: [Record<string, unknown>, Partial<RequestContext>, string][] = [
      [
        { timestamp: "2026-01-01T11:00:00Z" },
        { sentAt: ms("2026-01-01T12:00:10Z") },
        "2026-01-01T10:59:50.000Z",
      ],
      [
        { timestamp: "2026-01-01T11:00:00Z" },
        { sentAt: ms("2026-01-01T11:59:50Z") },
        "2026-01-01T11:00:10.000Z",
      ],
      [
        { timestamp: "2026-01-01T11:00:00Z", offset: 5000 },
        { sentAt: ms("2026-01-01T11:59:50Z") },
        "2026-01-01T11:59:55.000Z",
      ],
      // offset 0 applies (Rust), it is not "absent" (the TS twin's bug)
      [{ timestamp: "2026-01-01T11:00:00Z", offset: 0 }, {}, NOW_ISO],
      [{ offset: 3026 }, {}, "2026-01-01T11:59:56.974Z"],
      [{ timestamp: "2026-01-01T11:00:00Z" }, {}, "2026-01-01T11:00:00.000Z"],
      [{}, { sentAt: ms("2026-01-01T11:00:00Z") }, NOW_ISO],
      [{}, {}, NOW_ISO],
      // $ignore_sent_at: the timestamp is taken as sent
      [
        { timestamp: "2026-01-01T11:00:00Z", properties: { $ignore_sent_at: true } },
        { sentAt: ms("2026-01-01T12:00:10Z") },
        "2026-01-01T11:00:00.000Z",
      ],
      // zones and precision
      [{ timestamp: "2026-01-01T13:00:00.123456+02:00" }, {}, "2026-01-01T11:00:00.123Z"],
      [{ timestamp: "2026-01-01 11:30:00" }, {}, "2026-01-01T11:30:00.000Z"],
    ];
    for (const [raw, c, expected] of cases) assert.equal(at(raw, c), expected, JSON.stringify([raw, c]));
  });

  test("more than 23 hours ahead becomes now, with a warning; 23 hours exactly is kept", () => {
    const warnings: CaptureWarning[] = [];
    const onWarning = (w: CaptureWarning) => warnings.push(w);
    assert.equal(at({ timestamp: "2026-01-02T11:00:00Z" }, { onWarning }), "2026-01-02T11:00:00.000Z");
    assert.equal(warnings.length, 0);
    const e = toCapturedEvent(
      { event: "e", distinct_id: "u", uuid: UUID, timestamp: "2026-01-02T12:00:00Z" },
      0,
      ctx({ onWarning }),
    );
    assert.equal(e.timestamp, NOW_ISO);
    assert.deepEqual(warnings, [
      {
        uuid: UUID,
        token: "phc_x",
        type: "event_timestamp_in_future",
        message:
          "timestamp 2026-01-02T12:00:00.000Z is more than 23 hours after the time it was received; using the time it was received",
      },
    ]);
    // a negative offset that lands in the future is caught too
    assert.equal(at({ offset: -24 * 3600 * 1000 }, { onWarning }), NOW_ISO);
    assert.equal(warnings.length, 2);
  });

  test("an unreadable timestamp becomes now, with a warning", () => {
    const warnings: CaptureWarning[] = [];
    for (const timestamp of ["not a date", "2026-02-30T00:00:00Z", "10000-01-01T00:00:00Z", { a: 1 }]) {
      assert.equal(
        at({ timestamp }, { onWarning: (w) => warnings.push(w) }),
        NOW_ISO,
        JSON.stringify(timestamp),
      );
    }
    assert.deepEqual(
      warnings.map((w) => w.type),
      Array(4).fill("ignored_invalid_timestamp"),
    );
    assert.match(warnings[0]!.message, /^timestamp "not a date" is not a date and time that can be read/);
  });

  test("offset must be a number", () => {
    rejects({ event: "e", distinct_id: "u", offset: "3026" }, "invalid_event", /offset must be a number/);
  });
});

describe("$set, $set_once, elements_chain", () => {
  test("taken from the top level or from properties (and removed there), top level winning", () => {
    const e = toCapturedEvent(
      {
        event: "$set",
        distinct_id: "u",
        $set: { email: "top@x", plan: "pro" },
        properties: { $set: { email: "inner@x", city: "Bern" }, $set_once: { first: "a" }, other: 1 },
      },
      0,
      ctx(),
    );
    assert.deepEqual(e.set, { email: "top@x", city: "Bern", plan: "pro" });
    assert.deepEqual(e.set_once, { first: "a" });
    assert.deepEqual(e.properties, { other: 1 });
  });

  test("posthog-js's shape: top-level $set {} and $set_once {}", () => {
    const e = toCapturedEvent(
      { event: "$identify", distinct_id: "u", $set: {}, $set_once: {}, properties: { $os: "Mac OS X" } },
      0,
      ctx(),
    );
    assert.deepEqual([e.set, e.set_once, e.properties], [{}, {}, { $os: "Mac OS X" }]);
  });

  test("a non-object $set inside properties stays there; at the top level it is a 400", () => {
    const e = toCapturedEvent({ event: "e", distinct_id: "u", properties: { $set: "odd" } }, 0, ctx());
    assert.equal(e.set, null);
    assert.deepEqual(e.properties, { $set: "odd" });
    rejects(
      { event: "e", distinct_id: "u", $set_once: [1] },
      "invalid_event",
      /\$set_once must be a JSON object/,
    );
  });

  test("elements_chain from the top level, else properties.$elements_chain (moved out of properties)", () => {
    const top = toCapturedEvent(
      { event: "$autocapture", distinct_id: "u", elements_chain: "a:nth-child(1)" },
      0,
      ctx(),
    );
    assert.equal(top.elements_chain, "a:nth-child(1)");
    const inner = toCapturedEvent(
      { event: "$autocapture", distinct_id: "u", properties: { $elements_chain: "button.x", k: 1 } },
      0,
      ctx(),
    );
    assert.equal(inner.elements_chain, "button.x");
    assert.deepEqual(inner.properties, { k: 1 });
  });
});
