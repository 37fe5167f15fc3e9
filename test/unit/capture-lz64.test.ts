/**
 * The capped lz-string reader against the lz-string package itself: the same text for every input the package
 * produces, a 413-kind error past the cap, a 400-kind error for what is not lz-string data.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import LZString from "lz-string";
import { decompressLz64, Lz64Error } from "../../src/events/capture/lz64.js";

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("reads back what lz-string's compressToBase64 wrote, for 1,500 texts of every kind", () => {
  const rnd = random(42);
  const alphabets = ['{}[]":,abc', "abcdefghijklmnopqrstuvwxyz0123456789 ", "äöü€😀𝄞\u0000\uffff"];
  for (let i = 0; i < 1500; i++) {
    const alphabet = alphabets[i % alphabets.length]!;
    const chars = [...alphabet];
    const n = Math.floor(rnd() * (i % 10 === 0 ? 5000 : 300));
    let text = "";
    for (let j = 0; j < n; j++) text += chars[Math.floor(rnd() * chars.length)];
    const packed = LZString.compressToBase64(text);
    assert.equal(decompressLz64(packed, 1_000_000), text, `text #${i} (${n} chars)`);
  }
});

test("a posthog-js-like batch round-trips", () => {
  const json = JSON.stringify(
    Array.from({ length: 200 }, (_, i) => ({
      event: "$pageview",
      properties: {
        distinct_id: `u${i}`,
        token: "phc_x",
        $current_url: `https://example.com/p/${i}`,
        é: "ü",
      },
    })),
  );
  assert.equal(decompressLz64(LZString.compressToBase64(json), 1_000_000), json);
});

test("output past the cap throws a tooLarge error before it is built", () => {
  const packed = LZString.compressToBase64("A".repeat(200_000));
  assert.equal(decompressLz64(packed, 200_000).length, 200_000);
  assert.throws(
    () => decompressLz64(packed, 199_999),
    (e: unknown) => e instanceof Lz64Error && e.tooLarge && /more than 199999 characters/.test(e.message),
  );
});

test("input that is not lz-string base64 throws a not-tooLarge error", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["!abc", /character outside base64/],
    [LZString.compressToBase64('{"event":"x"}').slice(0, 6), /ends early/],
    ["////", /does not start like lz-string output|dictionary entry/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => decompressLz64(input, 1000),
      (e: unknown) => e instanceof Lz64Error && !e.tooLarge && message.test(e.message),
      JSON.stringify(input),
    );
  }
  assert.equal(decompressLz64(LZString.compressToBase64(""), 10), "");
});
