// Per-file statistics of Delta data files, computed by DuckDB from the Parquet file ferry wrote: exact numbers,
// bounds left out where JSON or a prefix cannot keep them exact, milliseconds for timestamps, null counts always.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileStats } from "../../src/destinations/filesystem/delta/stats.js";
import { LocalEngine } from "../../src/destinations/filesystem/engine.js";
import type { Column } from "../../src/schema/types.js";

const dir = mkdtempSync(join(tmpdir(), "ferry-stats-"));
const engine = new LocalEngine("128MB");
after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

test("bounds are exact or left out; null counts for every column", async () => {
  const conn = await engine.connection();
  const path = join(dir, "f.parquet");
  const long = "x".repeat(40);
  await conn.execute(
    `COPY (SELECT * FROM (VALUES
      (9007199254740993::BIGINT, 'a', 1.5::DOUBLE, TIMESTAMPTZ '2024-01-02 03:04:05.123999+00', DATE '2024-01-01', 12.50::DECIMAL(10,2), true, '{"a":1}', '${long}', 'nan'::DOUBLE),
      (-5::BIGINT, NULL, 2.25::DOUBLE, TIMESTAMPTZ '2023-06-30 23:59:59.5+00', DATE '2025-12-31', -0.01::DECIMAL(10,2), NULL, NULL, 'b', 1.0::DOUBLE),
      (NULL, 'zz', NULL, NULL, NULL, NULL, false, '[]', NULL, 2.0::DOUBLE)
    ) t(big, name, ratio, "at", day, amount, flag, doc, text_long, with_nan)) TO '${path}' (FORMAT parquet)`,
  );
  const columns: Column[] = [
    { name: "big", type: "bigint" },
    { name: "name", type: "text" },
    { name: "ratio", type: "double" },
    { name: "at", type: "timestamp" },
    { name: "day", type: "date" },
    { name: "amount", type: "decimal", precision: 10, scale: 2 },
    { name: "flag", type: "bool" },
    { name: "doc", type: "json" },
    { name: "text_long", type: "text" },
    { name: "with_nan", type: "double" },
  ];
  const { stats, rows } = await fileStats(conn, path, columns);
  assert.equal(rows, 3);
  // The JSON text keeps all digits of 2^53 + 1 (JSON.parse would round it: compare the text).
  assert.match(stats, /"maxValues":\{"big":9007199254740993,/);
  const s = JSON.parse(stats);
  assert.equal(s.numRecords, 3);
  assert.deepEqual(s.minValues, {
    big: -5,
    name: "a",
    ratio: 1.5,
    at: "2023-06-30T23:59:59.500Z",
    day: "2024-01-01",
    amount: -0.01,
    text_long: "b",
  });
  assert.deepEqual(
    { ...s.maxValues, big: undefined },
    {
      big: undefined,
      name: "zz",
      ratio: 2.25,
      // Truncated to milliseconds, as the protocol says.
      at: "2024-01-02T03:04:05.123Z",
      day: "2025-12-31",
      amount: 12.5,
    },
    "no max for text longer than 32 characters, none for a double column holding NaN, none for bool and json",
  );
  assert.deepEqual(s.nullCount, {
    big: 1,
    name: 1,
    ratio: 1,
    at: 1,
    day: 1,
    amount: 1,
    flag: 1,
    doc: 1,
    text_long: 1,
    with_nan: 0,
  });
  // A long minimum keeps its first 32 characters (still a lower bound).
  const only = join(dir, "g.parquet");
  await conn.execute(`COPY (SELECT '${long}' AS t) TO '${only}' (FORMAT parquet)`);
  const g = JSON.parse((await fileStats(conn, only, [{ name: "t", type: "text" }])).stats);
  assert.equal(g.minValues.t, "x".repeat(32));
  assert.equal(g.maxValues.t, undefined);
});
