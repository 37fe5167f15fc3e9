// The filesystem destination writes Parquet, JSONL and CSV files that read back with DuckDB (read_parquet, read_json,
// read_csv) with the same rows, column names, types and values; dataset() reads them through typed views.
// One test body per backend (local disk; object stores when their emulators run).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { type FileFormat, filesystem } from "../../src/destinations/filesystem/index.js";
import { type ColumnHint, pipeline, silentLogger } from "../../src/index.js";
import {
  type BackendRoot,
  backends,
  downloadPrefix,
  lit,
  scratchDuckDb,
} from "../helpers/filesystem-backends.js";

const ROWS = [
  {
    id: 1,
    big: 2n ** 60n + 1n,
    name: "héllo wörld 🚀 日本",
    price: "12345.67",
    ratio: 0.25,
    active: true,
    created_at: new Date("2024-02-29T12:34:56.789Z"),
    day: "2024-02-29",
    at: "12:34:56",
    payload: { a: [1, { b: null }], s: "ü" },
    raw: Buffer.from([0, 1, 2, 255]),
    tags: ["x", "y"],
    orders: [{ sku: "a", qty: 2, lines: [{ n: 1 }] }],
  },
  {
    id: 2,
    big: -(2n ** 62n),
    name: null,
    ratio: Number.NaN,
    active: false,
    created_at: "2024-01-01T00:00:00Z",
  },
  { id: 3, name: "", quote: 'a,"b"\nline', ratio: -1.5e300 },
];
const HINTS: Record<string, ColumnHint> = {
  price: { type: "decimal", precision: 12, scale: 2 },
  day: { type: "date" },
  at: { type: "time" },
  payload: { type: "json" },
};

/** Column names and DuckDB types of `things`, in file order (hinted columns first). */
const THINGS_TYPES: Array<[string, string]> = [
  ["price", "DECIMAL(12,2)"],
  ["day", "DATE"],
  ["at", "TIME"],
  ["payload", "JSON"],
  ["_ferry_id", "VARCHAR"],
  ["_ferry_load_id", "VARCHAR"],
  ["id", "BIGINT"],
  ["big", "BIGINT"],
  ["name", "VARCHAR"],
  ["ratio", "DOUBLE"],
  ["active", "BOOLEAN"],
  ["created_at", "TIMESTAMP WITH TIME ZONE"],
  ["raw", "BLOB"],
  ["quote", "VARCHAR"],
];

/** Every value as text, the same way whatever the file format. */
const CANONICAL =
  "id, CAST(big AS VARCHAR) AS big, name, CAST(price AS VARCHAR) AS price, CAST(ratio AS VARCHAR) AS ratio, active, " +
  'strftime(created_at, \'%Y-%m-%dT%H:%M:%S.%fZ\') AS created_at, CAST(day AS VARCHAR) AS day, CAST("at" AS VARCHAR) AS "at", ' +
  "CAST(payload AS VARCHAR) AS payload, to_base64(raw) AS raw, quote";
const EXPECTED = [
  {
    id: "1",
    big: "1152921504606846977",
    name: "héllo wörld 🚀 日本",
    price: "12345.67",
    ratio: "0.25",
    active: true,
    created_at: "2024-02-29T12:34:56.789000Z",
    day: "2024-02-29",
    at: "12:34:56",
    payload: '{"a":[1,{"b":null}],"s":"ü"}',
    raw: "AAEC/w==",
    quote: null,
  },
  {
    id: "2",
    big: "-4611686018427387904",
    name: null,
    price: null,
    ratio: "nan",
    active: false,
    created_at: "2024-01-01T00:00:00.000000Z",
    day: null,
    at: null,
    payload: null,
    raw: null,
    quote: null,
  },
  {
    id: "3",
    big: null,
    name: "",
    price: null,
    ratio: "-1.5e+300",
    active: null,
    created_at: null,
    day: null,
    at: null,
    payload: null,
    raw: null,
    quote: 'a,"b"\nline',
  },
];

const EXT: Record<FileFormat, string> = { parquet: "parquet", jsonl: "jsonl", csv: "csv" };

/** A reader of one written file with the schema's types (what a reader that knows the schema does). */
function typedReader(format: FileFormat, path: string): string {
  if (format === "parquet") return `read_parquet(${lit(path)})`;
  const cols = THINGS_TYPES.map(([n, t]) => `${lit(n)}: ${lit(t === "BLOB" ? "VARCHAR" : t)}`).join(", ");
  if (format === "jsonl") return `read_json(${lit(path)}, format = 'newline_delimited', columns = {${cols}})`;
  return `read_csv(${lit(path)}, header = true, columns = {${cols}}, allow_quoted_nulls = false)`;
}
/** Binary is base64 text in JSONL and CSV: decode it like the views do. */
const canonicalFor = (format: FileFormat) =>
  format === "parquet" ? CANONICAL : CANONICAL.replace("to_base64(raw)", "to_base64(from_base64(raw))");

async function runInto(root: BackendRoot, format: FileFormat, work: string) {
  const p = pipeline({
    name: "fmt",
    destination: filesystem({ url: root.url, ...root.options, format }),
    dataset: "lake",
    dir: join(work, ".ferry"),
    logger: silentLogger,
  });
  const info = await p.run(ROWS, { table: "things", columns: HINTS });
  return { p, info };
}

for (const backend of await backends()) {
  describe(`filesystem formats on ${backend.name}`, { skip: backend.skip }, () => {
    for (const format of ["parquet", "jsonl", "csv"] as const) {
      test(`${format}: files read back with DuckDB with the same rows, names, types and values`, async () => {
        const root = await backend.root();
        const work = mkdtempSync(join(tmpdir(), "ferry-"));
        const db = await scratchDuckDb();
        try {
          const { p, info } = await runInto(root, format, work);
          assert.deepEqual(info.rows, {
            things: 3,
            things__tags: 2,
            things__orders: 1,
            things__orders__lines: 1,
          });
          const keys = (await root.store.list("lake/"))
            .map((o) => o.key)
            .filter((k) => !k.includes("/_ferry"));
          const id = info.loadId!;
          assert.deepEqual(
            keys,
            ["things", "things__orders", "things__orders__lines", "things__tags"].map(
              (t) => `lake/${t}/${id}.0000.${EXT[format]}`,
            ),
          );
          const files = await downloadPrefix(root.store, "lake/");
          try {
            const path = files.paths.get(`lake/things/${id}.0000.${EXT[format]}`)!;
            // Column names as any reader sees them (JSONL and CSV write every column, NULLs included).
            const auto =
              format === "parquet"
                ? `read_parquet(${lit(path)})`
                : format === "jsonl"
                  ? `read_json(${lit(path)})`
                  : `read_csv(${lit(path)}, header = true)`;
            const described = await db.rows(`DESCRIBE SELECT * FROM ${auto}`);
            assert.deepEqual(
              described.map((r) => r.column_name),
              THINGS_TYPES.map(([n]) => n),
            );
            if (format === "parquet") {
              assert.deepEqual(
                described.map((r) => [r.column_name, r.column_type]),
                THINGS_TYPES,
              );
              const logical = await db.rows(
                `SELECT name, logical_type FROM parquet_schema(${lit(path)}) WHERE name IN ('created_at', 'price', 'payload')`,
              );
              assert.deepEqual(logical, [
                { name: "price", logical_type: "DecimalType(scale=2, precision=12)" },
                { name: "payload", logical_type: "JsonType()" },
                {
                  name: "created_at",
                  logical_type:
                    "TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))",
                },
              ]);
            }
            const values = await db.rows(
              `SELECT ${canonicalFor(format)} FROM ${typedReader(format, path)} ORDER BY id`,
            );
            assert.deepEqual(values, EXPECTED);
            // Child tables: the order line belongs to the order of record 1.
            const child = (t: string) => files.paths.get(`lake/${t}/${id}.0000.${EXT[format]}`)!;
            const reader = (t: string) =>
              format === "parquet"
                ? `read_parquet(${lit(child(t))})`
                : format === "jsonl"
                  ? `read_json(${lit(child(t))})`
                  : `read_csv(${lit(child(t))}, header = true)`;
            const chain = await db.rows(
              `SELECT CAST(t.id AS VARCHAR) AS id, o.sku, CAST(o.qty AS VARCHAR) AS qty, CAST(l.n AS VARCHAR) AS n
                 FROM ${typedReader(format, path)} t JOIN ${reader("things__orders")} o ON o._ferry_parent_id = t._ferry_id
                 JOIN ${reader("things__orders__lines")} l ON l._ferry_parent_id = o._ferry_id`,
            );
            assert.deepEqual(chain, [{ id: "1", sku: "a", qty: "2", n: "1" }]);
            const tags = await db.rows(
              `SELECT value, CAST(_ferry_list_idx AS VARCHAR) AS i FROM ${reader("things__tags")} ORDER BY _ferry_list_idx`,
            );
            assert.deepEqual(tags, [
              { value: "x", i: "0" },
              { value: "y", i: "1" },
            ]);
            if (format === "jsonl") {
              const first = JSON.parse(readFileSync(path, "utf8").split("\n")[0]!) as Record<string, unknown>;
              assert.equal(first.price, "12345.67", "decimals are exact strings");
              assert.equal(first.raw, "AAEC/w==", "binary is base64");
              assert.equal(first.created_at, "2024-02-29T12:34:56.789000Z", "timestamps are ISO 8601 UTC");
              assert.deepEqual(first.payload, { a: [1, { b: null }], s: "ü" }, "json stays JSON");
            }
            if (format === "csv") {
              assert.equal(
                readFileSync(path, "utf8").split("\n")[0],
                THINGS_TYPES.map(([n]) => n).join(","),
                "a header line",
              );
            }
          } finally {
            files.cleanup();
          }
          // dataset() over the files: typed views, JS values as from SQL destinations.
          const cols = await p
            .dataset()
            .sql(
              "select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position",
              ["lake", "things"],
            );
          assert.deepEqual(
            cols.map((r) => [r.column_name, r.data_type]),
            THINGS_TYPES,
          );
          const rows = await p
            .dataset()
            .sql(
              "select id, big, name, price, ratio, active, created_at, raw, quote from things order by id",
            );
          assert.deepEqual(rows, [
            {
              id: 1,
              big: 2n ** 60n + 1n,
              name: "héllo wörld 🚀 日本",
              price: 12345.67,
              ratio: 0.25,
              active: true,
              created_at: new Date("2024-02-29T12:34:56.789Z"),
              raw: Buffer.from([0, 1, 2, 255]),
              quote: null,
            },
            {
              id: 2,
              big: -(2n ** 62n),
              name: null,
              price: null,
              ratio: Number.NaN,
              active: false,
              created_at: new Date("2024-01-01T00:00:00Z"),
              raw: null,
              quote: null,
            },
            {
              id: 3,
              big: null,
              name: "",
              price: null,
              ratio: -1.5e300,
              active: null,
              created_at: null,
              raw: null,
              quote: 'a,"b"\nline',
            },
          ]);
          assert.deepEqual(await p.dataset().tables(), [
            "_ferry_loads",
            "_ferry_pipeline_state",
            "_ferry_version",
            "things",
            "things__orders",
            "things__orders__lines",
            "things__tags",
          ]);
        } finally {
          db.close();
          rmSync(work, { recursive: true, force: true });
          await root.cleanup();
        }
      });
    }

    test("jsonl with gzip and csv with gzip: .gz files that DuckDB reads back", async () => {
      const root = await backend.root();
      const work = mkdtempSync(join(tmpdir(), "ferry-"));
      const db = await scratchDuckDb();
      try {
        for (const format of ["jsonl", "csv"] as const) {
          const p = pipeline({
            name: `gz_${format}`,
            destination: filesystem({
              url: `${root.url}?format=${format}&compression=gzip`,
              ...root.options,
            }),
            dataset: `gz_${format}`,
            dir: join(work, ".ferry"),
            logger: silentLogger,
          });
          const info = await p.run(
            Array.from({ length: 500 }, (_, i) => ({ id: i, text: `row ${i} ${"é".repeat(i % 7)}` })),
            { table: "t" },
          );
          const key = `gz_${format}/t/${info.loadId}.0000.${format}.gz`;
          assert.deepEqual(
            (await root.store.list(`gz_${format}/t/`)).map((o) => o.key),
            [key],
          );
          const body = (await root.store.get(key))!;
          assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b], "gzip magic bytes");
          const text = gunzipSync(body).toString("utf8");
          assert.equal(text.trim().split("\n").length, format === "csv" ? 501 : 500);
          const files = await downloadPrefix(root.store, `gz_${format}/t/`);
          try {
            const path = files.paths.get(key)!;
            const reader =
              format === "jsonl" ? `read_json(${lit(path)})` : `read_csv(${lit(path)}, header = true)`;
            assert.deepEqual(
              await db.rows(
                `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d, max(length(text))::INT AS l FROM ${reader}`,
              ),
              [{ n: 500, d: 500, l: 14 }],
            );
          } finally {
            files.cleanup();
          }
          assert.deepEqual(await p.dataset().sql("select count(*) as n, sum(id) as s from t"), [
            { n: 500, s: (499 * 500) / 2 },
          ]);
        }
      } finally {
        db.close();
        rmSync(work, { recursive: true, force: true });
        await root.cleanup();
      }
    });
  });
}
