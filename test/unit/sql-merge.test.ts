/**
 * Merge SQL (destinations/sql/merge-sql.ts) run against a real in-memory DuckDB the way the SQL loader runs it:
 * tables made by createTableSql, staged rows in stagingPlan's temp tables with `_ferry_seq`, mergeStatements inside
 * a transaction. Names carry `"` and `'` so quoting is exercised too. Postgres' `ON CONFLICT` spelling is checked as
 * text, and also run here on DuckDB, which speaks it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { duckdbDialect } from "../../src/destinations/duckdb/duckdb-dialect.js";
import { postgresDialect } from "../../src/destinations/postgres/postgres-dialect.js";
import { createTableSql, qualified, uniqueKeyIndexSql } from "../../src/destinations/sql/ddl.js";
import { mergeStatements, SEQ_COLUMN } from "../../src/destinations/sql/merge-sql.js";
import type { SqlDialect } from "../../src/destinations/sql/sql-dialect.js";
import { stagingPlan } from "../../src/destinations/sql/staging.js";
import type { Column, ColumnHint, DataType, MergeStrategy, Table } from "../../src/schema/types.js";
import { type MemoryDuckDb, memoryDuckDb } from "../helpers/memory-duckdb.js";

const DS = `d"s'1`;
const ROOT = `or"d'ers`;
const CHILD = `${ROOT}__items`;
const V = `v"al'ue`;

const col = (name: string, type: DataType, hint: ColumnHint = {}): Column => ({ name, type, ...hint });
const table = (name: string, columns: Column[], extra: Partial<Table> = {}): Table => ({
  name,
  columns: Object.fromEntries(columns.map((c) => [c.name, c])),
  ...extra,
});

/** A merge root: `_ferry_id`, `_ferry_load_id`, then `more`. */
const root = (strategy: MergeStrategy, more: Column[]): Table =>
  table(ROOT, [col("_ferry_id", "text"), col("_ferry_load_id", "text"), ...more], {
    writeDisposition: "merge",
    mergeStrategy: strategy,
  });
const child = table(
  CHILD,
  [
    col("_ferry_id", "text"),
    col("_ferry_parent_id", "text"),
    col("_ferry_list_idx", "bigint"),
    col("_ferry_root_id", "text"),
    col("item", "text"),
  ],
  { parent: ROOT },
);
/** A child row of root row `rootId`; the staged ones also carry their root row's seq. */
const item = (rootId: string, idx: number, text: string, seq?: number): Value[] => [
  `${rootId}.${idx}`,
  rootId,
  idx,
  rootId,
  text,
  ...(seq !== undefined ? [seq] : []),
];

type Value = string | number | boolean | null;
const lit = (v: Value): string =>
  v === null ? "NULL" : typeof v === "string" ? duckdbDialect.quoteLiteral(v) : String(v).toUpperCase();

interface MergeCase {
  dialect?: SqlDialect;
  root: Table;
  children?: Table[];
  existing: Record<string, Value[][]>;
  /** Rows of each staging table: the table's columns, then `_ferry_seq`. */
  staged: Record<string, Value[][]>;
}

let db: MemoryDuckDb;
before(async () => {
  db = await memoryDuckDb();
});
after(() => db.close());

/** Runs one merge in a fresh dataset and returns each table's rows (every column but the ids) ordered. */
async function runMerge(c: MergeCase): Promise<Record<string, Value[][]>> {
  const d = c.dialect ?? duckdbDialect;
  const children = c.children ?? [];
  const tables = [c.root, ...children];
  await db.run(`DROP SCHEMA IF EXISTS ${d.quoteIdent(DS)} CASCADE`, `CREATE SCHEMA ${d.quoteIdent(DS)}`);
  for (const t of tables) {
    await db.run(createTableSql(d, qualified(d, DS, t.name), Object.values(t.columns)));
    for (const row of c.existing[t.name] ?? [])
      await db.run(`INSERT INTO ${qualified(d, DS, t.name)} VALUES (${row.map(lit).join(", ")})`);
  }
  const pk = Object.values(c.root.columns).filter((x) => x.primaryKey);
  if (d.upsert === "on-conflict" && pk.length > 0)
    await db.run(
      uniqueKeyIndexSql(
        d,
        DS,
        c.root.name,
        pk.map((x) => x.name),
        120,
      ),
    );
  await db.run("BEGIN TRANSACTION");
  const plan = stagingPlan(d, { kind: "temp" }, DS, tables);
  await db.run(...plan.setup([col(SEQ_COLUMN, "bigint")]));
  for (const t of tables) {
    for (const row of c.staged[t.name] ?? [])
      await db.run(`INSERT INTO ${plan.name(t.name)} VALUES (${row.map(lit).join(", ")})`);
  }
  const strategy = c.root.mergeStrategy ?? "delete-insert";
  await db.run(
    ...mergeStatements({ dialect: d, dataset: DS, root: c.root, children, staging: plan.name, strategy }),
  );
  await db.run(...plan.teardown(), "COMMIT");
  const out: Record<string, Value[][]> = {};
  for (const t of tables) {
    const names = Object.keys(t.columns);
    const rows = await db.rows(`SELECT * FROM ${qualified(d, DS, t.name)} ORDER BY ALL`);
    out[t.name] = rows.map((r) => names.map((n) => r[n] as Value));
  }
  return out;
}

const keyed = (strategy: MergeStrategy, more: Column[] = []) =>
  root(strategy, [col("id", "bigint", { primaryKey: true }), col(V, "text"), ...more]);

describe("mergeStatements on DuckDB", () => {
  test("delete-insert: the latest _ferry_seq wins, replaced roots lose their children, losers' children never load", async () => {
    const out = await runMerge({
      root: keyed("delete-insert"),
      children: [child],
      existing: {
        [ROOT]: [
          ["K1", "L0", 1, "old"],
          ["K2", "L0", 2, "keep"],
        ],
        [CHILD]: [item("K1", 0, "old child"), item("K2", 0, "kept child")],
      },
      staged: {
        // Staged out of order: the sequence number decides, not the order rows sit in the table.
        [ROOT]: [
          ["N1", "L1", 1, "a", 1],
          ["N3", "L1", 1, "c", 3],
          ["N2", "L1", 1, "b", 2],
          ["N4", "L1", 3, "new", 4],
        ],
        [CHILD]: [
          item("N1", 0, "of a", 1),
          item("N3", 0, "c0", 3),
          item("N3", 1, "c1", 3),
          item("N4", 0, "n0", 4),
        ],
      },
    });
    assert.deepEqual(out[ROOT], [
      ["K2", "L0", "2", "keep"],
      ["N3", "L1", "1", "c"],
      ["N4", "L1", "3", "new"],
    ]);
    assert.deepEqual(
      out[CHILD],
      [item("K2", 0, "kept child"), item("N3", 0, "c0"), item("N3", 1, "c1"), item("N4", 0, "n0")].map(
        asText,
      ),
    );
  });

  for (const spelling of ["update-insert", "on-conflict", "merge"] as const) {
    test(`upsert (${spelling}): rows update in place, only the winning duplicate's children load`, async () => {
      const out = await runMerge({
        dialect: { ...duckdbDialect, upsert: spelling },
        root: keyed("upsert"),
        children: [child],
        existing: {
          [ROOT]: [
            ["K1", "L0", 1, "old"],
            ["K2", "L0", 2, "keep"],
          ],
          [CHILD]: [item("K1", 0, "old child"), item("K2", 0, "kept child")],
        },
        // Upsert duplicates of a key share their ids (derived from the key): the seq tells their children apart.
        staged: {
          [ROOT]: [
            ["K1", "L1", 1, "b", 2],
            ["K1", "L1", 1, "a", 1],
            ["K3", "L1", 3, "new", 3],
          ],
          [CHILD]: [
            item("K1", 0, "a0", 1),
            item("K1", 1, "a1", 1),
            item("K1", 0, "b0", 2),
            item("K3", 0, "n0", 3),
          ],
        },
      });
      assert.deepEqual(out[ROOT], [
        ["K1", "L1", "1", "b"],
        ["K2", "L0", "2", "keep"],
        ["K3", "L1", "3", "new"],
      ]);
      assert.deepEqual(
        out[CHILD],
        [item("K1", 0, "b0"), item("K2", 0, "kept child"), item("K3", 0, "n0")].map(asText),
      );
    });
  }

  for (const [sort, winner] of [
    ["desc", "9"],
    ["asc", "5"],
    [undefined, null],
  ] as const) {
    test(`dedupSort ${sort ?? "unset"}: ${sort ? "the sort column decides, NULLs last" : "the latest row wins"}`, async () => {
      const updated = col("updated", "bigint", sort ? { dedupSort: sort } : {});
      const out = await runMerge({
        root: keyed("delete-insert", [updated]),
        existing: {},
        staged: {
          [ROOT]: [
            ["A", "L1", 1, "five", 5, 1],
            ["B", "L1", 1, "nine", 9, 2],
            ["C", "L1", 1, "seven", 7, 3],
            ["D", "L1", 1, "null", null, 4],
          ],
        },
      });
      assert.deepEqual(
        out[ROOT]?.map((r) => r[4]),
        [winner],
      );
    });
  }

  const hardDeleteCases = [
    { strategy: "delete-insert" as const, spelling: "merge" as const },
    ...(["update-insert", "on-conflict", "merge"] as const).map((spelling) => ({
      strategy: "upsert" as const,
      spelling,
    })),
  ];
  for (const { strategy, spelling } of hardDeleteCases) {
    const name = strategy === "upsert" ? `upsert, ${spelling}` : strategy;
    test(`hardDelete (bool, ${name}): true deletes the row and its children, NULL and false keep it`, async () => {
      const out = await runMerge({
        dialect: { ...duckdbDialect, upsert: spelling },
        root: keyed(strategy, [col("deleted", "bool", { hardDelete: true })]),
        children: [child],
        existing: {
          [ROOT]: [
            ["K1", "L0", 1, "old1", null],
            ["K2", "L0", 2, "old2", null],
            ["K4", "L0", 4, "old4", null],
          ],
          [CHILD]: [item("K1", 0, "c1"), item("K2", 0, "c2"), item("K4", 0, "c4")],
        },
        staged: {
          [ROOT]: [
            ["K1", "L1", 1, "gone", true, 1],
            ["K2", "L1", 2, "upd", false, 2],
            ["K3", "L1", 3, "never", true, 3],
            ["K4", "L1", 4, "x", true, 4],
            // Deleted, then seen again later: the later row wins.
            ["K4", "L1", 4, "back", null, 5],
          ],
          [CHILD]: [item("K1", 0, "new c1", 1), item("K2", 0, "new c2", 2), item("K4", 0, "back c4", 5)],
        },
      });
      assert.deepEqual(out[ROOT], [
        ["K2", "L1", "2", "upd", false],
        ["K4", "L1", "4", "back", null],
      ]);
      assert.deepEqual(out[CHILD], [item("K2", 0, "new c2"), item("K4", 0, "back c4")].map(asText));
    });
  }

  test("hardDelete on a non-bool column: a value that is not NULL deletes", async () => {
    const out = await runMerge({
      root: keyed("upsert", [col("deleted_at", "timestamp", { hardDelete: true })]),
      existing: {
        [ROOT]: [
          ["K1", "L0", 1, "a", null],
          ["K2", "L0", 2, "b", null],
        ],
      },
      staged: { [ROOT]: [["K1", "L1", 1, "a", "2024-01-02 03:04:05+00", 1]] },
    });
    assert.deepEqual(out[ROOT], [["K2", "L0", "2", "b", null]]);
  });

  test("mergeKey without a primary key replaces whole partitions and keeps every staged row", async () => {
    const out = await runMerge({
      root: root("delete-insert", [col("day", "date", { mergeKey: true }), col("n", "bigint")]),
      existing: {
        [ROOT]: [
          ["A", "L0", "2024-01-01", 1],
          ["B", "L0", "2024-01-01", 2],
          ["C", "L0", "2024-01-02", 3],
        ],
      },
      staged: {
        [ROOT]: [
          ["D", "L1", "2024-01-01", 4, 1],
          ["E", "L1", "2024-01-01", 4, 2],
          ["F", "L1", "2024-01-03", 5, 3],
        ],
      },
    });
    assert.deepEqual(out[ROOT], [
      ["C", "L0", "2024-01-02", "3"],
      ["D", "L1", "2024-01-01", "4"],
      ["E", "L1", "2024-01-01", "4"],
      ["F", "L1", "2024-01-03", "5"],
    ]);
  });

  test("mergeKey with a primary key: rows go by key and by partition", async () => {
    const out = await runMerge({
      root: keyed("delete-insert", [col("day", "date", { mergeKey: true })]),
      existing: {
        [ROOT]: [
          ["A", "L0", 1, "a", "2024-01-01"],
          ["B", "L0", 2, "b", "2024-01-01"],
          ["C", "L0", 3, "c", "2024-01-02"],
        ],
      },
      staged: { [ROOT]: [["D", "L1", 1, "moved", "2024-01-02", 1]] },
    });
    assert.deepEqual(out[ROOT], [
      ["B", "L0", "2", "b", "2024-01-01"],
      ["D", "L1", "1", "moved", "2024-01-02"],
    ]);
  });
});

/** A row as DuckDB's JSON text gives it back (numbers as strings). */
function asText(row: Value[]): Value[] {
  return row.map((v) => (typeof v === "number" ? String(v) : v));
}

describe("mergeStatements text", () => {
  const staging = (t: string) => qualified(postgresDialect, `${DS}_staging`, t);

  test("Postgres upsert: one INSERT ... ON CONFLICT on the key, every other column from EXCLUDED", () => {
    const sql = mergeStatements({
      dialect: postgresDialect,
      dataset: DS,
      root: keyed("upsert"),
      children: [child],
      staging,
      strategy: "upsert",
    });
    const t = `"d""s'1"."or""d'ers"`;
    const c = `"d""s'1"."or""d'ers__items"`;
    const st = `"d""s'1_staging"."or""d'ers"`;
    const cols = `"_ferry_id", "_ferry_load_id", "id", "v""al'ue"`;
    const sCols = `s."_ferry_id", s."_ferry_load_id", s."id", s."v""al'ue"`;
    const childCols = `"_ferry_id", "_ferry_parent_id", "_ferry_list_idx", "_ferry_root_id", "item"`;
    assert.deepEqual(sql, [
      `CREATE TEMP TABLE "_ferry_dedup" AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "_ferry_seq" DESC) AS _ferry_rn FROM ${st}) t WHERE _ferry_rn = 1`,
      `DELETE FROM ${c} WHERE "_ferry_root_id" IN (SELECT "_ferry_id" FROM "_ferry_dedup")`,
      `DELETE FROM ${t} AS d WHERE EXISTS (SELECT 1 FROM "_ferry_dedup" s WHERE s."id" = d."id" AND FALSE)`,
      `INSERT INTO ${t} (${cols}) SELECT ${sCols} FROM "_ferry_dedup" s WHERE NOT (FALSE) ON CONFLICT ("id") DO UPDATE SET "_ferry_id" = EXCLUDED."_ferry_id", "_ferry_load_id" = EXCLUDED."_ferry_load_id", "v""al'ue" = EXCLUDED."v""al'ue"`,
      `INSERT INTO ${c} (${childCols}) SELECT ${childCols} FROM "d""s'1_staging"."or""d'ers__items" c WHERE EXISTS (SELECT 1 FROM "_ferry_dedup" s WHERE s."_ferry_id" = c."_ferry_root_id" AND s."_ferry_seq" = c."_ferry_seq" AND NOT (FALSE))`,
      `DROP TABLE "_ferry_dedup"`,
    ]);
  });

  test("Postgres upsert of a table with only key columns does nothing on conflict", () => {
    const onlyKey = table("k", [col("id", "bigint", { primaryKey: true })], { writeDisposition: "merge" });
    const sql = mergeStatements({
      dialect: postgresDialect,
      dataset: "ds",
      root: onlyKey,
      children: [],
      staging,
      strategy: "upsert",
    });
    assert.equal(sql.filter((s) => s.includes("ON CONFLICT")).length, 1);
    assert.match(sql.find((s) => s.includes("ON CONFLICT")) ?? "", / ON CONFLICT \("id"\) DO NOTHING$/);
  });

  test("DuckDB upsert spells one MERGE INTO: deleted rows removed, matched rows updated, new rows inserted", () => {
    const sql = mergeStatements({
      dialect: duckdbDialect,
      dataset: "ds",
      root: keyed("upsert", [col("deleted", "bool", { hardDelete: true })]),
      children: [],
      staging: (n) => duckdbDialect.quoteIdent(`stg_${n}`),
      strategy: "upsert",
    });
    const deleted = `COALESCE(s."deleted", FALSE)`;
    const cols = `"_ferry_id", "_ferry_load_id", "id", "v""al'ue", "deleted"`;
    assert.deepEqual(
      sql.filter((s) => !s.includes(`"_ferry_dedup" AS SELECT`) && !s.startsWith("DROP TABLE")),
      [
        `MERGE INTO "ds"."or""d'ers" AS d USING "_ferry_dedup" AS s ON (s."id" = d."id") ` +
          `WHEN MATCHED AND ${deleted} THEN DELETE ` +
          `WHEN MATCHED THEN UPDATE SET "_ferry_id" = s."_ferry_id", "_ferry_load_id" = s."_ferry_load_id", "v""al'ue" = s."v""al'ue", "deleted" = s."deleted" ` +
          `WHEN NOT MATCHED AND NOT (${deleted}) THEN INSERT (${cols}) VALUES (${cols
            .split(", ")
            .map((c) => `s.${c}`)
            .join(", ")})`,
      ],
    );
  });

  test("the update-insert spelling: UPDATE ... FROM then INSERT of the new keys, no ON CONFLICT", () => {
    const sql = mergeStatements({
      dialect: { ...duckdbDialect, upsert: "update-insert" },
      dataset: "ds",
      root: keyed("upsert", [col("deleted", "bool", { hardDelete: true })]),
      children: [],
      staging: (n) => duckdbDialect.quoteIdent(`stg_${n}`),
      strategy: "upsert",
    });
    assert.equal(
      sql.some((s) => s.includes("ON CONFLICT")),
      false,
    );
    const deleted = `COALESCE(s."deleted", FALSE)`;
    assert.ok(
      sql.includes(
        `UPDATE "ds"."or""d'ers" AS d SET "_ferry_id" = s."_ferry_id", "_ferry_load_id" = s."_ferry_load_id", "v""al'ue" = s."v""al'ue", "deleted" = s."deleted" FROM "_ferry_dedup" s WHERE s."id" = d."id" AND NOT (${deleted})`,
      ),
      sql.join("\n"),
    );
  });
});
