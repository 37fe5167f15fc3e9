import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { UuidWindow } from "../../src/events/log/uuid-window.js";

describe("UuidWindow", () => {
  test("remembers uuids exactly, whatever their case", () => {
    const w = new UuidWindow(10);
    const id = "0190b2d8-1c2e-7a3b-9f00-123456789abc";
    assert.equal(w.add(id), true);
    assert.equal(w.add(id), false);
    assert.equal(w.add(id.toUpperCase()), false);
    assert.equal(w.has(id), true);
    assert.equal(w.has("0190b2d8-1c2e-7a3b-9f00-123456789abd"), false, "one digit apart");
    assert.equal(w.size, 1);
  });

  test("text that is not a uuid is always new (it cannot be deduplicated)", () => {
    const w = new UuidWindow(10);
    for (const t of [
      "",
      "abc",
      "0190b2d8-1c2e-7a3b-9f00-123456789abz",
      "0190b2d81c2e7a3b9f00123456789abcdef0",
    ]) {
      assert.equal(w.add(t), true, t);
      assert.equal(w.add(t), true, t);
    }
    assert.equal(w.size, 0);
  });

  test("the nil uuid is remembered like any other", () => {
    const w = new UuidWindow(4);
    const nil = "00000000-0000-0000-0000-000000000000";
    assert.equal(w.add(nil), true);
    assert.equal(w.add(nil), false);
    w.remove(nil);
    assert.equal(w.add(nil), true);
  });

  test("keeps the newest `capacity` uuids: the oldest leave first", () => {
    const w = new UuidWindow(1000);
    const ids = Array.from({ length: 1500 }, () => randomUUID());
    for (const id of ids) assert.equal(w.add(id), true);
    assert.equal(w.size, 1000);
    const kept = ids.filter((id) => w.has(id));
    assert.deepEqual(kept, ids.slice(500));
  });

  test("removal (a failed append) lets the uuid in again, and the others stay findable", () => {
    const w = new UuidWindow(50_000);
    const ids = Array.from({ length: 40_000 }, () => randomUUID());
    for (const id of ids) w.add(id);
    const removed = ids.filter((_, i) => i % 3 === 0);
    for (const id of removed) w.remove(id);
    for (const [i, id] of ids.entries()) assert.equal(w.has(id), i % 3 !== 0, `uuid ${i}`);
    for (const id of removed) assert.equal(w.add(id), true);
  });

  test("a million uuids fit in about 48 MB of typed arrays", () => {
    const before = process.memoryUsage().arrayBuffers;
    const w = new UuidWindow(1_000_000);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown <= 50 * 1024 * 1024, `${grown} bytes`);
    assert.equal(w.capacity, 1_000_000);
  });
});
