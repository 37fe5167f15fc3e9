import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  compareCursor,
  getPath,
  type IncrementalOptions,
  IncrementalTracker,
} from "../../src/extract/incremental.js";
import type { IncrementalState } from "../../src/package/state.js";
import { ConfigError, ExtractError } from "../../src/util/errors.js";
import { shortHash } from "../../src/util/hash.js";

/** The boundary hash of a record without a primary key (the whole record) and with one. */
const recordHash = (item: unknown) => shortHash(JSON.stringify(item), 12);
const keyHash = (...values: unknown[]) => shortHash(JSON.stringify(values.map(String)), 12);

function run(
  opts: IncrementalOptions,
  items: unknown[],
  previous?: IncrementalState,
  pk?: string[],
): { accepted: unknown[]; tracker: IncrementalTracker } {
  const tracker = new IncrementalTracker("res", opts, previous, pk);
  return { accepted: items.filter((i) => tracker.accept(i)), tracker };
}

describe("IncrementalTracker", () => {
  test("max: first run accepts everything and stores the highest value", () => {
    const items = [
      { id: 1, c: 5 },
      { id: 2, c: 9 },
      { id: 3, c: 7 },
    ];
    const { accepted, tracker } = run({ cursor: "c" }, items);
    assert.deepEqual(accepted, items);
    assert.equal(tracker.startValue, undefined);
    assert.equal(tracker.lastValue, 9);
    assert.deepEqual(tracker.nextState(), { lastValue: 9, boundaryHashes: [recordHash({ id: 2, c: 9 })] });
  });

  test("min: keeps the lowest value and drops records above the stored one", () => {
    const first = run({ cursor: "c", lastValueFunc: "min" }, [{ c: 5 }, { c: 3 }, { c: 4 }]);
    assert.equal(first.accepted.length, 3);
    const state = first.tracker.nextState();
    assert.deepEqual(state, { lastValue: 3, boundaryHashes: [recordHash({ c: 3 })] });
    const second = run(
      { cursor: "c", lastValueFunc: "min" },
      [{ c: 4 }, { c: 3 }, { c: 2 }, { c: 1 }],
      state,
    );
    assert.deepEqual(second.accepted, [{ c: 2 }, { c: 1 }]);
    assert.equal(second.tracker.startValue, 3);
    assert.deepEqual(second.tracker.nextState(), { lastValue: 1, boundaryHashes: [recordHash({ c: 1 })] });
  });

  test("initialValue: records before it are dropped, equal ones kept, and it is remembered in state", () => {
    const { accepted, tracker } = run({ cursor: "c", initialValue: 10 }, [
      { c: 9 },
      { c: 10 },
      { c: 11 },
      { c: -1 },
    ]);
    assert.deepEqual(accepted, [{ c: 10 }, { c: 11 }]);
    assert.equal(tracker.startValue, 10);
    assert.deepEqual(tracker.nextState(), {
      lastValue: 11,
      boundaryHashes: [recordHash({ c: 11 })],
      initialValue: 10,
    });
  });

  test("a run without accepted records keeps the previous state", () => {
    const prev: IncrementalState = { lastValue: 50, boundaryHashes: ["h"] };
    const { accepted, tracker } = run({ cursor: "c" }, [{ c: 1 }, { c: 49 }], prev);
    assert.deepEqual(accepted, []);
    assert.equal(tracker.startValue, 50);
    assert.deepEqual(tracker.nextState(), { lastValue: 50, boundaryHashes: ["h"] });
    assert.equal(run({ cursor: "c" }, []).tracker.nextState(), undefined);
  });

  test("boundary dedup: records at the stored value already loaded are skipped, new ones accepted", () => {
    const pk = ["id"];
    const first = run(
      { cursor: "c" },
      [
        { id: 1, c: 5 },
        { id: 2, c: 10 },
        { id: 3, c: 10 },
      ],
      undefined,
      pk,
    );
    const state = first.tracker.nextState();
    assert.deepEqual(state, { lastValue: 10, boundaryHashes: [keyHash(2), keyHash(3)] });

    const second = run(
      { cursor: "c" },
      [
        { id: 1, c: 5 },
        { id: 2, c: 10 },
        { id: 3, c: 10 },
        { id: 4, c: 10 },
        { id: 5, c: 11 },
      ],
      state,
      pk,
    );
    assert.deepEqual(second.accepted, [
      { id: 4, c: 10 },
      { id: 5, c: 11 },
    ]);
    assert.deepEqual(second.tracker.nextState(), { lastValue: 11, boundaryHashes: [keyHash(5)] });
  });

  test("boundary dedup without a primary key hashes the whole record", () => {
    const state: IncrementalState = { lastValue: 10, boundaryHashes: [recordHash({ id: 2, c: 10, v: "a" })] };
    const { accepted, tracker } = run(
      { cursor: "c" },
      [
        { id: 2, c: 10, v: "a" },
        { id: 2, c: 10, v: "changed" },
      ],
      state,
    );
    assert.deepEqual(accepted, [{ id: 2, c: 10, v: "changed" }]);
    assert.deepEqual(tracker.nextState(), {
      lastValue: 10,
      boundaryHashes: [recordHash({ id: 2, c: 10, v: "a" }), recordHash({ id: 2, c: 10, v: "changed" })],
    });
  });

  test("options.primaryKey wins over the resource's primary key", () => {
    const state: IncrementalState = { lastValue: 10, boundaryHashes: [keyHash("x")] };
    const { accepted } = run({ cursor: "c", primaryKey: "code" }, [{ id: 1, code: "x", c: 10 }], state, [
      "id",
    ]);
    assert.deepEqual(accepted, []);
  });

  test("endValue is exclusive and does not move the state", () => {
    const fresh = run({ cursor: "c", initialValue: 1, endValue: 5 }, [
      { c: 0 },
      { c: 1 },
      { c: 4 },
      { c: 5 },
      { c: 6 },
    ]);
    assert.deepEqual(fresh.accepted, [{ c: 1 }, { c: 4 }]);
    assert.equal(fresh.tracker.endValue, 5);
    assert.equal(fresh.tracker.nextState(), undefined);

    // A backfill starts at initialValue even when state exists, and returns the state untouched.
    const prev: IncrementalState = { lastValue: 10, boundaryHashes: [recordHash({ c: 10 })] };
    const backfill = run(
      { cursor: "c", initialValue: 1, endValue: 5 },
      [{ c: 2 }, { c: 3 }, { c: 10 }],
      prev,
    );
    assert.deepEqual(backfill.accepted, [{ c: 2 }, { c: 3 }]);
    assert.equal(backfill.tracker.startValue, 1);
    assert.equal(backfill.tracker.nextState(), prev);
  });

  test("lag re-reads before the stored number and disables boundary dedup", () => {
    const prev: IncrementalState = { lastValue: 100, boundaryHashes: [recordHash({ c: 100 })] };
    const { accepted, tracker } = run(
      { cursor: "c", lag: 10 },
      [{ c: 89 }, { c: 90 }, { c: 100 }, { c: 101 }],
      prev,
    );
    assert.equal(tracker.startValue, 90);
    assert.deepEqual(accepted, [{ c: 90 }, { c: 100 }, { c: 101 }]);
    assert.deepEqual(tracker.nextState(), { lastValue: 101, boundaryHashes: [recordHash({ c: 101 })] });

    const min = run({ cursor: "c", lag: 10, lastValueFunc: "min" }, [{ c: 111 }, { c: 110 }], prev);
    assert.equal(min.tracker.startValue, 110);
    assert.deepEqual(min.accepted, [{ c: 110 }]);
  });

  test("lag on ISO dates is in seconds", () => {
    const prev: IncrementalState = { lastValue: "2024-01-10T00:00:00Z", boundaryHashes: [] };
    const { accepted, tracker } = run(
      { cursor: "t", lag: 3600 },
      [{ t: "2024-01-09T22:59:59Z" }, { t: "2024-01-09T23:00:00Z" }, { t: "2024-01-10T00:30:00+01:00" }],
      prev,
    );
    assert.equal(tracker.startValue, "2024-01-09T23:00:00.000Z");
    assert.deepEqual(accepted, [{ t: "2024-01-09T23:00:00Z" }, { t: "2024-01-10T00:30:00+01:00" }]);
    // 00:30+01:00 is 23:30Z, before the stored value: the stored value stays the last one.
    assert.equal(tracker.lastValue, "2024-01-10T00:00:00Z");
  });

  test("onCursorMissing: raise (default) names the cursor and the resource", () => {
    const tracker = new IncrementalTracker("issues", { cursor: "updated_at" }, undefined);
    const check = (item: unknown) =>
      assert.throws(
        () => tracker.accept(item),
        (err: unknown) => {
          assert.ok(err instanceof ExtractError);
          assert.equal(
            err.message,
            'cursor "updated_at" is missing or null in a record of resource "issues"',
          );
          assert.deepEqual(err.fields, { resource: "issues" });
          assert.equal(
            err.hint,
            'set incremental.onCursorMissing to "include" or "exclude", or fix the cursor path',
          );
          return true;
        },
      );
    check({ id: 1 });
    check({ id: 1, updated_at: null });
    check("a string");
    const explicit = new IncrementalTracker("issues", { cursor: "x", onCursorMissing: "raise" }, undefined);
    assert.throws(() => explicit.accept({}), ExtractError);
  });

  test("onCursorMissing include / exclude", () => {
    const items = [{ id: 1, c: 5 }, { id: 2 }, { id: 3, c: null }, { id: 4, c: 1 }];
    const inc = run({ cursor: "c", onCursorMissing: "include", initialValue: 3 }, items);
    assert.deepEqual(inc.accepted, [{ id: 1, c: 5 }, { id: 2 }, { id: 3, c: null }]);
    assert.equal(inc.tracker.lastValue, 5);
    const exc = run({ cursor: "c", onCursorMissing: "exclude" }, items);
    assert.deepEqual(exc.accepted, [
      { id: 1, c: 5 },
      { id: 4, c: 1 },
    ]);
    assert.equal(exc.tracker.lastValue, 5);
  });

  test("nested cursor path a.b", () => {
    const { accepted, tracker } = run({ cursor: "meta.updated", initialValue: 2 }, [
      { meta: { updated: 1 } },
      { meta: { updated: 3 } },
      { "meta.updated": 4 },
    ]);
    assert.deepEqual(accepted, [{ meta: { updated: 3 } }, { "meta.updated": 4 }]);
    assert.equal(tracker.lastValue, 4);
    assert.equal(getPath({ a: { b: { c: 7 } } }, "a.b.c"), 7);
    assert.equal(getPath({ a: 5 }, "a.b"), undefined);
    assert.equal(getPath({ "a.b": 1, a: { b: 2 } }, "a.b"), 1);
    assert.equal(getPath(null, "a"), undefined);
    assert.throws(() => run({ cursor: "a.b" }, [{ a: {} }]), ExtractError);
  });

  test("Date cursors: compared by instant, stored as ISO strings", () => {
    const d = (s: string) => new Date(s);
    const first = run({ cursor: "t" }, [{ t: d("2024-01-01T00:00:00Z") }, { t: d("2024-03-01T00:00:00Z") }]);
    assert.equal(first.accepted.length, 2);
    assert.ok(first.tracker.lastValue instanceof Date);
    const state = first.tracker.nextState();
    assert.equal(state?.lastValue, "2024-03-01T00:00:00.000Z");
    const second = run(
      { cursor: "t" },
      [{ t: d("2024-02-01T00:00:00Z") }, { t: d("2024-03-01T00:00:00Z") }, { t: d("2024-04-01T00:00:00Z") }],
      state,
    );
    // Record at the stored instant was loaded (same hash after JSON); only the later one is new.
    assert.deepEqual(second.accepted, [{ t: d("2024-04-01T00:00:00Z") }]);
    assert.equal(second.tracker.nextState()?.lastValue, "2024-04-01T00:00:00.000Z");
  });

  test("bigint cursors keep working after the state stored them as strings", () => {
    const first = run({ cursor: "c" }, [{ c: 5n }, { c: 999n }]);
    const state = JSON.parse(JSON.stringify(first.tracker.nextState())) as IncrementalState;
    assert.equal(state.lastValue, "999");
    const second = run({ cursor: "c" }, [{ c: 998n }, { c: 999n }, { c: 1000n }], state);
    assert.deepEqual(second.accepted, [{ c: 1000n }]);
    assert.equal(second.tracker.nextState()?.lastValue, "1000");
    const lagged = run({ cursor: "c", lag: 10 }, [{ c: 989n }, { c: 990n }], state);
    assert.equal(lagged.tracker.startValue, 989n);
    assert.deepEqual(lagged.accepted, [{ c: 989n }, { c: 990n }]);
  });

  test("state stays small: boundary hashes only cover records at the last value", () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ id: i, c: Math.floor(i / 10) }));
    const { accepted, tracker } = run({ cursor: "c" }, items, undefined, ["id"]);
    assert.equal(accepted.length, 1000);
    assert.equal(tracker.boundarySize, 10);
    assert.deepEqual(tracker.nextState(), {
      lastValue: 99,
      boundaryHashes: [990, 991, 992, 993, 994, 995, 996, 997, 998, 999].map((id) => keyHash(id)),
    });
    // A higher value resets the boundary to that one record.
    tracker.accept({ id: 5000, c: 100 });
    assert.equal(tracker.boundarySize, 1);
    assert.deepEqual(tracker.nextState()?.boundaryHashes, [keyHash(5000)]);
  });

  test("a cursor is required", () => {
    assert.throws(() => new IncrementalTracker("res", { cursor: "" }, undefined), {
      name: "ConfigError",
      message: 'resource "res": incremental needs a cursor field path',
    });
    assert.throws(() => new IncrementalTracker("res", { cursor: "" }, undefined), ConfigError);
  });
});

describe("compareCursor", () => {
  test("ISO strings in different formats compare by instant", () => {
    assert.equal(compareCursor("2024-01-01T00:00:00Z", "2024-01-01T02:00:00+02:00"), 0);
    assert.equal(compareCursor("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00Z"), 0);
    assert.equal(compareCursor("2024-01-01", "2024-01-01T00:00:00Z"), 0);
    assert.equal(compareCursor("2024-01-01T00:00:00+01:00", "2024-01-01T00:00:00Z"), -1);
    assert.equal(compareCursor("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00.499Z"), 1);
    assert.equal(compareCursor(new Date(0), "1970-01-01T00:00:00.000Z"), 0);
    assert.equal(compareCursor(new Date(1), "1970-01-01T00:00:00Z"), 1);
  });

  test("numbers and bigints compare numerically, other strings lexically", () => {
    assert.equal(compareCursor(5, 10), -1);
    assert.equal(compareCursor(5, 10n), -1);
    assert.equal(compareCursor(10n, 5), 1);
    assert.equal(compareCursor(7n, 7), 0);
    assert.equal(compareCursor(1000n, "999"), 1);
    assert.equal(compareCursor("999", 1000n), -1);
    assert.equal(compareCursor("b", "a"), 1);
    assert.equal(compareCursor("abc", "abc"), 0);
    assert.equal(compareCursor("10", "9"), -1); // plain strings stay strings
  });
});
