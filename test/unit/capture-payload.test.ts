/**
 * Capture's request level: the three body shapes, where the token comes from (batch wins, event fields, properties),
 * mixed tokens, PostHog's token shape check, sent_at from the body (`sent_at`, python's `sentAt`) or `_`, empty
 * batches, and the JSON guards (nesting limit, lone surrogates).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mayHoldSurrogates, nestingExceeds } from "../../src/events/capture/json-guards.js";
import {
  parseJson,
  querySentAt,
  type RequestShape,
  requestShape,
  requestToken,
  validateToken,
} from "../../src/events/capture/payload.js";
import { CaptureRejection } from "../../src/events/event.js";

function rejects(fn: () => unknown, status: number, reason: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CaptureRejection, String(e));
    assert.equal(e.status, status, e.message);
    assert.equal(e.reason, reason, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const shapeOf = (json: string): RequestShape => requestShape(parseJson(json));
const tokenOf = (json: string): string => requestToken(shapeOf(json));

describe("request shapes", () => {
  test("an array, a batch object and a single event", () => {
    const arr = shapeOf('[{"event":"a"},{"event":"b"}]');
    assert.deepEqual(arr, { events: [{ event: "a" }, { event: "b" }], historicalMigration: false });

    const batch = shapeOf(
      '{"api_key":"phc_k","batch":[{"event":"a"}],"sent_at":"2024-04-17T14:40:56.900Z","historical_migration":true}',
    );
    assert.deepEqual(batch, {
      events: [{ event: "a" }],
      batchToken: "phc_k",
      sentAt: Date.parse("2024-04-17T14:40:56.900Z"),
      historicalMigration: true,
    });

    const one = shapeOf('{"event":"a","distinct_id":"u"}');
    assert.deepEqual(one, { events: [{ event: "a", distinct_id: "u" }], historicalMigration: false });
  });

  test("sent_at, python's sentAt, sent_at winning, and an unreadable sent_at ignored", () => {
    const cases: [string, number | undefined][] = [
      ['{"batch":[{}],"sent_at":"2025-01-02T03:04:05.678+00:00"}', Date.parse("2025-01-02T03:04:05.678Z")],
      ['{"batch":[{}],"sentAt":"2025-01-02T03:04:05.678901+00:00"}', Date.parse("2025-01-02T03:04:05.678Z")],
      [
        '{"batch":[{}],"sent_at":"2025-01-01T00:00:00Z","sentAt":"2030-01-01T00:00:00Z"}',
        Date.parse("2025-01-01"),
      ],
      ['{"batch":[{}],"sent_at":"yesterday"}', undefined],
      ['{"batch":[{}]}', undefined],
    ];
    for (const [json, expected] of cases) assert.equal(shapeOf(json).sentAt, expected, json);
  });

  test("_ in the query is sent_at in ms, only when its year is after 2020", () => {
    const cases: [string | null, number | undefined][] = [
      ["1694769302325", 1694769302325],
      ["1694769302", undefined], // seconds: year 1970
      ["1577836800000", undefined], // 2020-01-01: not after 2020
      ["1609459200000", 1609459200000], // 2021-01-01
      ["abc", undefined],
      ["-5", undefined],
      ["", undefined],
      [null, undefined],
    ];
    for (const [value, expected] of cases) assert.equal(querySentAt(value), expected, String(value));
  });

  test("empty batches, non-object events and other JSON are 400s", () => {
    rejects(() => shapeOf("[]"), 400, "empty_batch", /no events/);
    rejects(() => shapeOf('{"api_key":"k","batch":[]}'), 400, "empty_batch");
    rejects(
      () => shapeOf('{"api_key":"k","batch":{"event":"x"}}'),
      400,
      "invalid_payload",
      /`batch` must be an array/,
    );
    rejects(() => shapeOf('[{"event":"a"},"b"]'), 400, "invalid_event", /^events\[1\] is not a JSON object$/);
    rejects(() => shapeOf("[null]"), 400, "invalid_event", /^the event is not a JSON object$/);
    rejects(() => shapeOf("42"), 400, "invalid_payload", /an event object, an array of events/);
    rejects(() => shapeOf('"x"'), 400, "invalid_payload");
  });

  test("malformed JSON is a 400 that says where", () => {
    rejects(
      () => parseJson('{"event": "x",'),
      400,
      "invalid_payload",
      /^the payload is not valid JSON: .*position/,
    );
    rejects(() => parseJson(""), 400, "invalid_payload", /not valid JSON/);
  });
});

describe("tokens", () => {
  test("where the token comes from", () => {
    const cases: [string, string][] = [
      ['{"api_key":"phc_batch","batch":[{"event":"e","token":"phc_event"}]}', "phc_batch"],
      ['{"token":"phc_batch","batch":[{"event":"e"}]}', "phc_batch"],
      ['[{"event":"e","token":"phc_t"}]', "phc_t"],
      ['[{"event":"e","$token":"phc_dollar"}]', "phc_dollar"],
      ['{"event":"e","api_key":"phc_single"}', "phc_single"],
      ['[{"event":"e","properties":{"token":"phc_props"}}]', "phc_props"],
      ['[{"event":"e","token":"phc_top","properties":{"token":"phc_props"}}]', "phc_top"],
      // events without a token take the one the others carry
      [
        '[{"event":"e"},{"event":"e","properties":{"token":"phc_one"}},{"event":"e","token":"phc_one"}]',
        "phc_one",
      ],
      // a batch without api_key falls back to its events
      ['{"batch":[{"event":"e","token":"phc_ev"}]}', "phc_ev"],
      ['{"batch":[{"event":"e","token":" phc_x\\n"}]}', "phc_x"],
    ];
    for (const [json, expected] of cases) assert.equal(tokenOf(json), expected, json);
  });

  test("no token, mixed tokens and non-string tokens are 401s", () => {
    rejects(() => tokenOf('[{"event":"e"}]'), 401, "no_token", /set api_key \(or token\)/);
    rejects(() => tokenOf('{"event":"e","properties":{"token":5}}'), 401, "no_token");
    rejects(
      () => tokenOf('[{"event":"e","token":"phc_a"},{"event":"e","properties":{"token":"phc_b"}}]'),
      401,
      "multiple_tokens",
      /different project tokens/,
    );
    rejects(() => tokenOf('[{"event":"e","token":7}]'), 401, "invalid_token", /must be a string/);
    rejects(
      () => tokenOf('{"api_key":["x"],"batch":[{"event":"e"}]}'),
      401,
      "invalid_token",
      /must be a string/,
    );
  });

  test("PostHog's token shape check", () => {
    const ok: [string, string][] = [
      ["phc_abc", "phc_abc"],
      [" phc_abc\n", "phc_abc"],
      ["\tphc_abc\r\n", "phc_abc"],
      ["x".repeat(64), "x".repeat(64)],
    ];
    for (const [raw, expected] of ok) assert.equal(validateToken(raw), expected, JSON.stringify(raw));
    const bad: [string, RegExp][] = [
      ["", /empty/],
      ["   \n", /empty/],
      ["x".repeat(65), /longer than 64/],
      ["phc_é", /non-ASCII/],
      ["🦀", /non-ASCII/],
      ["phx_personal", /personal API keys/],
      ["phc\u0000x", /NUL/],
    ];
    for (const [raw, message] of bad) rejects(() => validateToken(raw), 401, "invalid_token", message);
  });
});

describe("JSON guards", () => {
  test("nesting deeper than 128 levels is a 400; 128 levels parse", () => {
    const nest = (n: number) => `${'{"a":'.repeat(n - 1)}[1]${"}".repeat(n - 1)}`;
    assert.equal(nestingExceeds(nest(128)), false);
    assert.equal(nestingExceeds(nest(129)), true);
    assert.ok(parseJson(nest(128)));
    rejects(() => parseJson(nest(129)), 400, "too_deep", /deeper than 128 levels/);
    rejects(() => parseJson("[".repeat(10_000) + "]".repeat(10_000)), 400, "too_deep");
  });

  test("brackets and escaped quotes inside strings do not count as nesting", () => {
    const text = JSON.stringify({ s: `${"[{".repeat(500)}\\"\\\\"`, t: 'a"b' });
    assert.equal(nestingExceeds(text, 1), false);
    assert.equal(nestingExceeds('{"a":"\\\\"}', 1), false);
    assert.equal(nestingExceeds('{"a":"\\\\",  "b":[[1]]}', 2), true);
  });

  test("lone surrogates become U+FFFD, in values and keys; valid pairs are kept", () => {
    const parsed = parseJson('{"a":"x\\ud800y","\\udc00k":["\\uD83D\\uDE00","\\ud83d"],"n":1}') as Record<
      string,
      unknown
    >;
    assert.deepEqual(parsed, { a: "x\ufffdy", "\ufffdk": ["😀", "\ufffd"], n: 1 });
    assert.equal(mayHoldSurrogates('{"a":"\\u00e9"}'), false);
    assert.equal(mayHoldSurrogates('{"a":"\\uDBFF"}'), true);
  });
});
