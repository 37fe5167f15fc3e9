/**
 * The pieces under capture's event rules: reading client times (every form PostHog's parser takes, always as UTC),
 * and UUIDv7 generation (version and variant bits, the millisecond in the first 48 bits, order within a process).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseClientTime } from "../../src/events/capture/timestamps.js";
import { normalizeUuid, uuidv7 } from "../../src/events/capture/uuid.js";

describe("parseClientTime", () => {
  test("the forms it reads, and the instant each stands for", () => {
    const cases: [unknown, string][] = [
      ["2023-09-15T09:15:02.325Z", "2023-09-15T09:15:02.325Z"],
      ["2023-09-15T09:15:02.325123Z", "2023-09-15T09:15:02.325Z"],
      ["2023-09-15T09:15:02.57Z", "2023-09-15T09:15:02.570Z"],
      ["2025-01-01T00:00:00+00:00", "2025-01-01T00:00:00.000Z"],
      ["2025-01-01T03:00:00+03", "2025-01-01T00:00:00.000Z"],
      ["2025-01-01T05:30:00+0530", "2025-01-01T00:00:00.000Z"],
      ["2024-12-31T19:00:00-05:00", "2025-01-01T00:00:00.000Z"],
      ["2023-09-15 09:15:02", "2023-09-15T09:15:02.000Z"],
      ["2023-09-15T09:15:02", "2023-09-15T09:15:02.000Z"],
      ["2023-09-15", "2023-09-15T00:00:00.000Z"],
      ["2023/09/15 09:15", "2023-09-15T09:15:00.000Z"],
      ["Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T08:52:37.000Z"],
      ["1694769302", "2023-09-15T09:15:02.000Z"],
      ["1694769302325", "2023-09-15T09:15:02.325Z"],
      [1694769302325, "2023-09-15T09:15:02.325Z"],
      [1694769302.5, "2023-09-15T09:15:02.500Z"],
      ["0099-01-01T00:00:00Z", "0099-01-01T00:00:00.000Z"],
    ];
    for (const [input, expected] of cases) {
      const ms = parseClientTime(input);
      assert.ok(ms !== undefined, JSON.stringify(input));
      assert.equal(new Date(ms).toISOString(), expected, JSON.stringify(input));
    }
  });

  test("what it refuses", () => {
    for (const input of [
      "",
      "  ",
      "nope",
      "2023-02-30",
      "2023-13-01",
      "2023-01-01T25:00:00Z",
      "10000-01-01",
      null,
      {},
      true,
      Number.NaN,
    ]) {
      assert.equal(parseClientTime(input), undefined, JSON.stringify(input));
    }
  });
});

describe("uuidv7", () => {
  const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test("version 7, RFC variant, the millisecond in the first 48 bits", () => {
    const ms = Date.parse("2026-01-01T12:00:00.123Z");
    for (let i = 0; i < 100; i++) {
      const u = uuidv7(ms + i * 1000);
      assert.match(u, V7);
      assert.equal(Number.parseInt(u.slice(0, 8) + u.slice(9, 13), 16), ms + i * 1000);
    }
  });

  test("uuids made in order sort in order, also thousands within one millisecond; no repeats", () => {
    const ms = Date.parse("2030-05-05T00:00:00Z");
    const made = Array.from({ length: 10_000 }, () => uuidv7(ms));
    for (let i = 1; i < made.length; i++)
      assert.ok(made[i]! > made[i - 1]!, `${made[i - 1]} then ${made[i]}`);
    assert.equal(new Set(made).size, made.length);
    for (const u of made) assert.match(u, V7);
    // the counter borrowed at most a few milliseconds, never went back
    const last = made.at(-1)!;
    const lastMs = Number.parseInt(last.slice(0, 8) + last.slice(9, 13), 16);
    assert.ok(lastMs >= ms && lastMs < ms + 20, `${lastMs - ms} ms borrowed`);
    // the clock going back does not break the order
    assert.ok(uuidv7(ms - 5000) > last);
  });

  test("normalizeUuid accepts PostHog's forms and refuses the rest", () => {
    const u = "018a981f-4b35-7c66-825e-8b0eeae65714";
    for (const v of [u, u.toUpperCase(), u.replaceAll("-", ""), `{${u}}`, `urn:uuid:${u}`, `URN:UUID:${u}`]) {
      assert.equal(normalizeUuid(v), u, v);
    }
    for (const v of ["", "x", `${u}0`, u.replace("8", "g"), u.replaceAll("-", "_"), `{${u}`]) {
      assert.equal(normalizeUuid(v), undefined, v);
    }
  });
});
