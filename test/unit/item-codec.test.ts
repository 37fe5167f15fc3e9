import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CircularReferenceError,
  decodeItem,
  decodeString,
  type EncodeReport,
  encodeItem,
  MARKER,
} from "../../src/formats/item-codec.js";

const newReport = (): EncodeReport => ({ skipped: new Map() });
const roundTrip = (item: unknown, report = newReport()) => decodeItem(encodeItem(item, report));

describe("encodeItem / decodeItem", () => {
  test("plain JSON values pass through unchanged", () => {
    const item = { a: 1, b: "x", c: true, d: null, e: [1, "two", false], f: { g: -1.5 } };
    const line = encodeItem(item, newReport());
    assert.equal(line, JSON.stringify(item));
    assert.deepEqual(decodeItem(line), item);
    assert.equal(encodeItem("text", newReport()), '"text"');
    assert.equal(encodeItem(undefined, newReport()), "null");
    assert.equal(decodeItem("null"), null);
  });

  test("bigint round trips, including values beyond int64", () => {
    const item = { small: 5n, neg: -5n, huge: 12345678901234567890123n, zero: 0n };
    const line = encodeItem(item, newReport());
    assert.equal(
      line,
      `{"small":"${MARKER}b5","neg":"${MARKER}b-5","huge":"${MARKER}b12345678901234567890123","zero":"${MARKER}b0"}`,
    );
    assert.deepEqual(decodeItem(line), item);
    assert.equal(roundTrip(7n), 7n);
  });

  test("Date becomes its ISO string; an invalid Date becomes the text 'Invalid Date'", () => {
    const line = encodeItem({ d: new Date("2024-01-02T03:04:05.678Z"), bad: new Date("nope") }, newReport());
    assert.equal(line, `{"d":"${MARKER}t2024-01-02T03:04:05.678Z","bad":"Invalid Date"}`);
    assert.deepEqual(decodeItem(line), { d: "2024-01-02T03:04:05.678Z", bad: "Invalid Date" });
  });

  test("Buffer, Uint8Array (also a view with an offset) and ArrayBuffer decode to Buffers with the same bytes", () => {
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
    const item = {
      buf: Buffer.from("héllo"),
      u8: new Uint8Array([0, 255, 1]),
      view,
      ab: new Uint8Array([1, 2]).buffer,
      empty: new Uint8Array(0),
    };
    const line = encodeItem(item, newReport());
    assert.equal(
      line,
      `{"buf":"${MARKER}xaMOpbGxv","u8":"${MARKER}xAP8B","view":"${MARKER}xCAc=","ab":"${MARKER}xAQI=","empty":"${MARKER}x"}`,
    );
    const out = decodeItem(line) as Record<string, Buffer>;
    for (const k of ["buf", "u8", "view", "ab", "empty"]) assert.ok(Buffer.isBuffer(out[k]), k);
    assert.deepEqual([...(out.buf ?? [])], [...Buffer.from("héllo")]);
    assert.deepEqual([...(out.u8 ?? [])], [0, 255, 1]);
    assert.deepEqual([...(out.view ?? [])], [8, 7]);
    assert.deepEqual([...(out.ab ?? [])], [1, 2]);
    assert.equal(out.empty?.length, 0);
  });

  test("NaN, Infinity and -Infinity survive; -0 becomes 0", () => {
    const line = encodeItem(
      { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY, z: -0 },
      newReport(),
    );
    assert.equal(line, `{"a":"${MARKER}nNaN","b":"${MARKER}nInfinity","c":"${MARKER}n-Infinity","z":0}`);
    const out = decodeItem(line) as Record<string, number>;
    assert.equal(Number.isNaN(out.a), true);
    assert.equal(out.b, Number.POSITIVE_INFINITY);
    assert.equal(out.c, Number.NEGATIVE_INFINITY);
    assert.equal(out.z, 0);
  });

  test("Map becomes an object and Set an array, with their contents encoded", () => {
    const item = {
      m: new Map<string, unknown>([
        ["a", 1],
        ["b", 2n],
      ]),
      s: new Set<unknown>([1, "x", new Date(0)]),
    };
    const line = encodeItem(item, newReport());
    assert.equal(line, `{"m":{"a":1,"b":"${MARKER}b2"},"s":[1,"x","${MARKER}t1970-01-01T00:00:00.000Z"]}`);
    assert.deepEqual(decodeItem(line), { m: { a: 1, b: 2n }, s: [1, "x", "1970-01-01T00:00:00.000Z"] });
    // The same Map twice (not a circle) is fine.
    const shared = new Map([["k", 1]]);
    assert.deepEqual(roundTrip({ x: shared, y: shared }), { x: { k: 1 }, y: { k: 1 } });
  });

  test("data strings that start with U+E000 are escaped and come back unchanged", () => {
    const item = {
      a: `${MARKER}hello`,
      b: MARKER,
      c: `${MARKER}b123`,
      d: `x${MARKER}`,
      e: [`${MARKER}t2024`],
    };
    const line = encodeItem(item, newReport());
    assert.equal(
      line,
      `{"a":"${MARKER}s${MARKER}hello","b":"${MARKER}s${MARKER}","c":"${MARKER}s${MARKER}b123","d":"x${MARKER}","e":["${MARKER}s${MARKER}t2024"]}`,
    );
    assert.deepEqual(decodeItem(line), item);
    assert.equal(roundTrip(`${MARKER}b1`), `${MARKER}b1`);
  });

  test("nested arrays keep their structure and decode markers at every depth", () => {
    const item = { arr: [[1, [2n, [new Date(0), [Number.NaN]]]], [`${MARKER}x`], []] };
    assert.deepEqual(roundTrip(item), {
      arr: [[1, [2n, ["1970-01-01T00:00:00.000Z", [Number.NaN]]]], [`${MARKER}x`], []],
    });
    assert.deepEqual(roundTrip([[[5n]]]), [[[5n]]]);
  });

  test("functions and symbols are reported by key and not encoded", () => {
    const report = newReport();
    const item = {
      keep: 1,
      fn: () => 1,
      sym: Symbol("q"),
      nested: { method() {}, ok: 2 },
      list: [() => 1, 3],
    };
    const line = encodeItem(item, report);
    assert.equal(line, '{"keep":1,"nested":{"ok":2},"list":[null,3]}');
    assert.deepEqual(
      [...report.skipped],
      [
        ["fn", "function"],
        ["sym", "symbol"],
        ["method", "function"],
        ["0", "function"],
      ],
    );
    assert.deepEqual(decodeItem(line), { keep: 1, nested: { ok: 2 }, list: [null, 3] });
  });

  test("a key is reported once, with the first type met", () => {
    const report = newReport();
    encodeItem({ a: { f: () => 1 }, b: { f: Symbol("x") } }, report);
    assert.deepEqual([...report.skipped], [["f", "function"]]);
  });

  test("circular references throw CircularReferenceError with a one-line message", () => {
    const obj: Record<string, unknown> = { a: 1 };
    obj.self = obj;
    assert.throws(
      () => encodeItem(obj, newReport()),
      (err: unknown) => {
        assert.ok(err instanceof CircularReferenceError);
        assert.equal(err.name, "CircularReferenceError");
        assert.equal(
          err.message,
          "Converting circular structure to JSON --> starting at object with constructor 'Object' --- property 'self' closes the circle",
        );
        return true;
      },
    );
    const arr: unknown[] = [1];
    arr.push({ back: arr });
    assert.throws(() => encodeItem(arr, newReport()), CircularReferenceError);
  });

  test("a Map or Set that contains itself is a circular reference too", () => {
    const m = new Map<string, unknown>();
    m.set("me", m);
    assert.throws(() => encodeItem({ m }, newReport()), CircularReferenceError);
    const s = new Set<unknown>();
    s.add(s);
    assert.throws(() => encodeItem([s], newReport()), CircularReferenceError);
  });
});

describe("decodeString", () => {
  test("decodes each tag and leaves unknown tags and plain strings alone", () => {
    assert.equal(decodeString("plain"), "plain");
    assert.equal(decodeString(""), "");
    assert.equal(decodeString(`${MARKER}b-42`), -42n);
    assert.equal(decodeString(`${MARKER}t2024-01-01T00:00:00.000Z`), "2024-01-01T00:00:00.000Z");
    assert.deepEqual([...(decodeString(`${MARKER}xAQI=`) as Buffer)], [1, 2]);
    assert.equal(decodeString(`${MARKER}n-Infinity`), Number.NEGATIVE_INFINITY);
    assert.equal(decodeString(`${MARKER}sabc`), "abc");
    assert.equal(decodeString(`${MARKER}zzz`), `${MARKER}zzz`);
  });
});
