import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { alwaysVariant, CANNOT_COERCE, coerce, inferType } from "../../src/schema/infer.js";
import { type Column, DATA_TYPES, type DataType } from "../../src/schema/types.js";

const col = (type: DataType, extra: Partial<Column> = {}): Column => ({ name: "c", type, ...extra });

function expectTypes(cases: Array<[unknown, DataType | undefined]>): void {
  for (const [value, want] of cases) {
    const label =
      typeof value === "bigint"
        ? `${value}n`
        : typeof value === "string"
          ? JSON.stringify(value)
          : String(value);
    assert.equal(inferType(value), want, `inferType(${label})`);
  }
}

describe("inferType", () => {
  test("ISO timestamps, with offsets and fractional seconds", () => {
    expectTypes([
      ["2024-01-15T10:20:30Z", "timestamp"],
      ["2024-01-15T10:20:30.123Z", "timestamp"],
      ["2024-01-15T10:20:30.123456789Z", "timestamp"],
      ["2024-01-15T10:20:30+02:00", "timestamp"],
      ["2024-01-15T10:20:30-0530", "timestamp"],
      ["2024-01-15T10:20:30.5-05:00", "timestamp"],
      ["2024-01-15 10:20:30", "timestamp"],
      ["2024-01-15T10:20", "timestamp"],
      ["2024-01-15T10:20Z", "timestamp"],
      ["2024-02-29T00:00:00Z", "timestamp"],
      ["9999-12-31T23:59:59Z", "timestamp"],
    ]);
  });

  test("strings that look like timestamps but are not real instants stay text", () => {
    expectTypes([
      ["2024-02-30T00:00:00Z", "text"],
      ["2023-02-29T00:00:00Z", "text"],
      ["2024-13-01T00:00:00Z", "text"],
      ["2024-01-15T25:00:00Z", "text"],
      ["2024-01-15T10:60:00Z", "text"],
      ["2024-01-15T10:20:30.1234567890Z", "text"],
      ["2024-01-15T10:20:30z", "text"],
      ["2024/01/15 10:20:30", "text"],
      [" 2024-01-15T10:20:30Z", "text"],
      ["2024-01-15T10:20:30Z trailing", "text"],
    ]);
  });

  test("date-only strings are dates; invalid calendar dates stay text", () => {
    expectTypes([
      ["2024-01-15", "date"],
      ["2024-02-29", "date"],
      ["2000-02-29", "date"],
      ["0000-02-29", "date"],
      ["0004-02-29", "date"],
      ["2024-02-30", "text"],
      ["2023-02-29", "text"],
      ["1900-02-29", "text"],
      ["0001-02-29", "text"],
      ["2024-00-10", "text"],
      ["2024-01-00", "text"],
      ["2024-04-31", "text"],
      ["2024-1-15", "text"],
      ["10:20:30", "text"],
      ["", "text"],
      ["hello", "text"],
    ]);
  });

  test("integers are bigint, fractions and out-of-int64 numbers are double", () => {
    expectTypes([
      [0, "bigint"],
      [-0, "bigint"],
      [1, "bigint"],
      [-1, "bigint"],
      [2 ** 53, "bigint"],
      [2 ** 63 - 1024, "bigint"], // the largest double below 2^63
      [-(2 ** 63 - 1024), "bigint"],
      [2 ** 63, "double"],
      [-(2 ** 63), "double"],
      [1e20, "double"],
      [1e300, "double"],
      [1.5, "double"],
      [-0.001, "double"],
      [Number.NaN, "double"],
      [Number.POSITIVE_INFINITY, "double"],
      [Number.NEGATIVE_INFINITY, "double"],
    ]);
  });

  test("JS bigints within int64 are bigint, beyond it decimal", () => {
    expectTypes([
      [5n, "bigint"],
      [9223372036854775807n, "bigint"],
      [-9223372036854775808n, "bigint"],
      [9223372036854775808n, "decimal"],
      [-9223372036854775809n, "decimal"],
      [10n ** 30n, "decimal"],
    ]);
  });

  test("bool, Date, binary, objects, null and undefined", () => {
    expectTypes([
      [true, "bool"],
      [false, "bool"],
      [new Date(0), "timestamp"],
      [new Date("2024-01-01T00:00:00Z"), "timestamp"],
      [new Date("not a date"), "text"],
      [Buffer.from("abc"), "binary"],
      [new Uint8Array([1, 2]), "binary"],
      [{ a: 1 }, "json"],
      [{}, "json"],
      [[1, 2], "json"],
      [new Map(), "json"],
      [null, undefined],
      [undefined, undefined],
      [() => 1, undefined],
      [Symbol("s"), undefined],
    ]);
  });
});

describe("coerce", () => {
  test("the same type passes through unchanged", () => {
    const obj = { a: 1 };
    const buf = Buffer.from("x");
    assert.equal(coerce(5, "bigint", col("bigint")), 5);
    assert.equal(coerce("x", "text", col("text")), "x");
    assert.equal(coerce(obj, "json", col("json")), obj);
    assert.equal(coerce(buf, "binary", col("binary")), buf);
    assert.equal(coerce(true, "bool", col("bool")), true);
  });

  test("into text: scalars become strings, json and binary cannot", () => {
    assert.equal(coerce(5, "bigint", col("text")), "5");
    assert.equal(coerce(5n, "bigint", col("text")), "5");
    assert.equal(coerce(1.5, "double", col("text")), "1.5");
    assert.equal(coerce(true, "bool", col("text")), "true");
    assert.equal(coerce(new Date(0), "timestamp", col("text")), "1970-01-01T00:00:00.000Z");
    assert.equal(coerce("2024-01-01T00:00:00Z", "timestamp", col("text")), "2024-01-01T00:00:00Z");
    assert.equal(coerce("2024-01-01", "date", col("text")), "2024-01-01");
    assert.equal(coerce({ a: 1 }, "json", col("text")), CANNOT_COERCE);
    assert.equal(coerce(Buffer.from("a"), "binary", col("text")), CANNOT_COERCE);
  });

  test("into bigint: integer text within int64 only", () => {
    assert.equal(coerce("123", "text", col("bigint")), 123n);
    assert.equal(coerce("-123", "text", col("bigint")), -123n);
    assert.equal(coerce("007", "text", col("bigint")), 7n);
    assert.equal(coerce("9223372036854775807", "text", col("bigint")), 9223372036854775807n);
    assert.equal(coerce("-9223372036854775808", "text", col("bigint")), -9223372036854775808n);
    assert.equal(coerce("9223372036854775808", "text", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce("12345678901234567890", "text", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce("1.0", "text", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce("+5", "text", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce("abc", "text", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce(1.5, "double", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce(true, "bool", col("bigint")), CANNOT_COERCE);
    assert.equal(coerce(9223372036854775808n, "decimal", col("bigint")), CANNOT_COERCE);
  });

  test("into double: only integers that a double represents exactly", () => {
    assert.equal(coerce(5, "bigint", col("double")), 5);
    assert.equal(coerce(5n, "bigint", col("double")), 5);
    assert.equal(coerce(2 ** 53, "bigint", col("double")), 2 ** 53);
    assert.equal(coerce(9007199254740992n, "bigint", col("double")), 9007199254740992);
    assert.equal(coerce(9007199254740993n, "bigint", col("double")), CANNOT_COERCE);
    assert.equal(coerce("1.5", "decimal", col("double")), CANNOT_COERCE);
    assert.equal(coerce("1.5", "text", col("double")), CANNOT_COERCE);
    assert.equal(coerce(true, "bool", col("double")), CANNOT_COERCE);
  });

  test("into decimal: plain numbers and numeric text become strings when they fit the default (38, 9)", () => {
    assert.equal(coerce(5, "bigint", col("decimal")), "5");
    assert.equal(coerce(5n, "bigint", col("decimal")), "5");
    assert.equal(coerce(1.5, "double", col("decimal")), "1.5");
    assert.equal(coerce("123.456", "text", col("decimal")), "123.456");
    assert.equal(coerce("-0", "text", col("decimal")), "-0");
    assert.equal(coerce(1e21, "double", col("decimal")), CANNOT_COERCE); // "1e+21" is not plain
    assert.equal(coerce(1e-7, "double", col("decimal")), CANNOT_COERCE);
    assert.equal(coerce(Number.NaN, "double", col("decimal")), CANNOT_COERCE);
    assert.equal(coerce("1.", "text", col("decimal")), CANNOT_COERCE);
    assert.equal(coerce(".5", "text", col("decimal")), CANNOT_COERCE);
    assert.equal(coerce("abc", "text", col("decimal")), CANNOT_COERCE);
    assert.equal(coerce("0.0000000001", "text", col("decimal")), CANNOT_COERCE); // 10 fractional digits > 9
    assert.equal(coerce(true, "bool", col("decimal")), CANNOT_COERCE);
    // 29 integer digits fit 38 - 9, 30 do not.
    const d29 = 10n ** 29n - 1n;
    assert.equal(coerce(d29, "decimal", col("decimal")), d29);
    assert.equal(coerce(10n ** 29n, "decimal", col("decimal")), CANNOT_COERCE);
  });

  test("decimal precision and scale from hints are respected", () => {
    const d52 = col("decimal", { precision: 5, scale: 2 });
    assert.equal(coerce("999.99", "text", d52), "999.99");
    assert.equal(coerce("-999.99", "text", d52), "-999.99");
    assert.equal(coerce("123.450", "text", d52), "123.450"); // trailing zeros do not count
    assert.equal(coerce("00123.4", "text", d52), "00123.4"); // leading zeros do not count
    assert.equal(coerce("123.456", "text", d52), CANNOT_COERCE);
    assert.equal(coerce("1234.5", "text", d52), CANNOT_COERCE);
    assert.equal(coerce("0.001", "text", d52), CANNOT_COERCE);
    assert.equal(coerce("1000", "text", d52), CANNOT_COERCE);
    const d11 = col("decimal", { precision: 1, scale: 1 });
    assert.equal(coerce(0.5, "double", d11), "0.5");
    assert.equal(coerce(-0.5, "double", d11), "-0.5");
    assert.equal(coerce(1.5, "double", d11), CANNOT_COERCE);
    const d30 = col("decimal", { precision: 3, scale: 0 });
    assert.equal(coerce(5n, "bigint", d30), "5");
    assert.equal(coerce(999, "bigint", d30), "999");
    assert.equal(coerce(5000n, "bigint", d30), CANNOT_COERCE);
    assert.equal(coerce(0.5, "double", d30), CANNOT_COERCE);
  });

  test("into timestamp, date and time", () => {
    assert.equal(coerce("2024-01-01", "date", col("timestamp")), "2024-01-01T00:00:00Z");
    assert.equal(coerce("abc", "text", col("timestamp")), CANNOT_COERCE);
    assert.equal(coerce(5, "bigint", col("timestamp")), CANNOT_COERCE);
    assert.equal(coerce("2024-01-01T10:00:00Z", "timestamp", col("date")), CANNOT_COERCE);
    assert.equal(coerce("2024-01-01", "text", col("date")), CANNOT_COERCE);
    assert.equal(coerce("10:20:30", "text", col("time")), "10:20:30");
    assert.equal(coerce("23:59:59.123456", "text", col("time")), "23:59:59.123456");
    assert.equal(coerce("00:00:00", "text", col("time")), "00:00:00");
    assert.equal(coerce("24:00:01", "text", col("time")), CANNOT_COERCE);
    assert.equal(coerce("25:00:00", "text", col("time")), CANNOT_COERCE);
    assert.equal(coerce("10:60:00", "text", col("time")), CANNOT_COERCE);
    assert.equal(coerce("10:20", "text", col("time")), CANNOT_COERCE);
    assert.equal(coerce(5, "bigint", col("time")), CANNOT_COERCE);
  });

  test("into json anything goes; into bool and binary nothing else does", () => {
    assert.equal(coerce(5, "bigint", col("json")), 5);
    assert.equal(coerce("x", "text", col("json")), "x");
    assert.equal(coerce(true, "bool", col("json")), true);
    assert.equal(coerce(5, "bigint", col("bool")), CANNOT_COERCE);
    assert.equal(coerce("true", "text", col("bool")), CANNOT_COERCE);
    assert.equal(coerce("x", "text", col("binary")), CANNOT_COERCE);
    assert.equal(coerce({ a: 1 }, "json", col("binary")), CANNOT_COERCE);
  });
});

describe("alwaysVariant", () => {
  // Values of each inferred type, with the edges coerce looks at (integer text, exact doubles, wide bigints).
  const SAMPLES: Record<DataType, unknown[]> = {
    text: ["x", "42", "-7", "1.5", "12:30:00", "", "2024-01-01"],
    bigint: [0, 42, -7, 2 ** 53 + 2, 9007199254740993n, -9223372036854775808n],
    double: [1.5, -0.25, 1e300, 0.1],
    bool: [true, false],
    timestamp: ["2024-01-01T00:00:00Z", new Date(0)],
    date: ["2024-02-29"],
    time: ["12:30:00"],
    decimal: [99999999999999999999999n, "1.5"],
    json: [{ a: 1 }, [1, 2]],
    binary: [Buffer.from("x")],
  };

  test("holds only for type pairs where coerce refuses every value", () => {
    let pairs = 0;
    for (const from of DATA_TYPES) {
      for (const to of DATA_TYPES) {
        if (!alwaysVariant(from, to)) continue;
        pairs++;
        for (const value of SAMPLES[from]) {
          assert.equal(coerce(value, from, col(to)), CANNOT_COERCE, `${from} ${String(value)} into ${to}`);
        }
      }
    }
    // Most pairs of different types never coerce: the cache it allows must not be empty.
    assert.ok(pairs >= 50, `only ${pairs} pairs`);
  });

  test("does not hold where some values coerce", () => {
    assert.equal(alwaysVariant("double", "bigint"), true);
    assert.equal(alwaysVariant("text", "bigint"), false);
    assert.equal(alwaysVariant("bigint", "double"), false);
    assert.equal(alwaysVariant("bigint", "text"), false);
    assert.equal(alwaysVariant("date", "timestamp"), false);
    assert.equal(alwaysVariant("bool", "json"), false);
    assert.equal(alwaysVariant("text", "text"), false);
  });
});
