/**
 * The SQL builders of the SQL destinations: identifier and literal quoting of both dialects, DDL (ddl.ts) and
 * staging plans (staging.ts). Exact text where it carries safety (names with `"` and `'`, NUL refused), and behaviour
 * by running the SQL against a real in-memory DuckDB. Merge SQL and DuckDB's load-file readers have their own files
 * (sql-merge.test.ts, duckdb-load-file-sql.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { duckdbDialect } from "../../src/destinations/duckdb/duckdb-dialect.js";
import { postgresDialect } from "../../src/destinations/postgres/postgres-dialect.js";
import {
  addColumnSql,
  createTableSql,
  qualified,
  systemTablesSql,
  uniqueKeyIndexSql,
} from "../../src/destinations/sql/ddl.js";
import { quoteIdentAnsi, quoteLiteralAnsi } from "../../src/destinations/sql/sql-dialect.js";
import { stagingPlan } from "../../src/destinations/sql/staging.js";
import { type Column, DATA_TYPES, type DataType } from "../../src/schema/types.js";
import { type MemoryDuckDb, memoryDuckDb } from "../helpers/memory-duckdb.js";

const HOSTILE_DS = `d"s'; DROP TABLE x; --`;
const HOSTILE_TABLE = `t"x'y`;
const col = (name: string, type: DataType, more: Partial<Column> = {}): Column => ({ name, type, ...more });

let db: MemoryDuckDb;
before(async () => {
  db = await memoryDuckDb();
});
after(() => db.close());

describe("quoting", () => {
  test("identifiers double their quotes; literals double theirs and refuse NUL", () => {
    assert.equal(quoteIdentAnsi(`a"b'c`), `"a""b'c"`);
    assert.equal(quoteIdentAnsi(`""`), `""""""`);
    assert.equal(quoteLiteralAnsi(`it's "x"`), `'it''s "x"'`);
    assert.equal(quoteLiteralAnsi("''"), "''''''");
    assert.throws(
      () => quoteLiteralAnsi("a\u0000b"),
      /^Error: NUL characters cannot appear in SQL literals$/,
    );
    for (const d of [duckdbDialect, postgresDialect]) {
      assert.equal(d.quoteIdent(`a"b`), `"a""b"`);
      assert.throws(() => d.quoteLiteral("\u0000"), /NUL characters/);
    }
    assert.equal(qualified(duckdbDialect, HOSTILE_DS, HOSTILE_TABLE), `"d""s'; DROP TABLE x; --"."t""x'y"`);
  });

  test("useDatasetSql: DuckDB quotes the name inside a string, Postgres as an identifier", () => {
    assert.equal(duckdbDialect.useDatasetSql(`a"b'c`), `SET search_path = '"a""b''c"'`);
    assert.equal(postgresDialect.useDatasetSql(`a"b'c`), `SET search_path TO "a""b'c"`);
    assert.throws(() => duckdbDialect.useDatasetSql("a\u0000"), /NUL characters/);
  });

  test("a hostile dataset and table name create and select exactly that table in DuckDB", async () => {
    const d = duckdbDialect;
    await db.run(
      `CREATE SCHEMA ${d.quoteIdent(HOSTILE_DS)}`,
      createTableSql(d, qualified(d, HOSTILE_DS, HOSTILE_TABLE), [col(`c"1'`, "text")]),
      `INSERT INTO ${qualified(d, HOSTILE_DS, HOSTILE_TABLE)} VALUES (${d.quoteLiteral(`it's`)})`,
      d.useDatasetSql(HOSTILE_DS),
    );
    assert.deepEqual(await db.rows(`SELECT * FROM ${d.quoteIdent(HOSTILE_TABLE)}`), [{ "c\"1'": "it's" }]);
    assert.deepEqual(await db.rows("SELECT table_schema, table_name FROM information_schema.tables"), [
      { table_schema: HOSTILE_DS, table_name: HOSTILE_TABLE },
    ]);
    await db.run("SET search_path = 'main'", `DROP SCHEMA ${d.quoteIdent(HOSTILE_DS)} CASCADE`);
  });
});

describe("DDL", () => {
  test("column types of every data type in both dialects; decimals are clamped to each engine's precision", () => {
    const types = (d: typeof duckdbDialect) => DATA_TYPES.map((t) => d.columnType(col("c", t)));
    assert.deepEqual(types(duckdbDialect), [
      "VARCHAR",
      "BIGINT",
      "DOUBLE",
      "BOOLEAN",
      "TIMESTAMPTZ",
      "DATE",
      "TIME",
      "DECIMAL(38,9)",
      "JSON",
      "BLOB",
    ]);
    assert.deepEqual(types(postgresDialect), [
      "text",
      "bigint",
      "double precision",
      "boolean",
      "timestamptz",
      "date",
      "time",
      "numeric(38,9)",
      "jsonb",
      "bytea",
    ]);
    const wide = col("c", "decimal", { precision: 60, scale: 50 });
    assert.equal(duckdbDialect.columnType(wide), "DECIMAL(38,38)");
    assert.equal(postgresDialect.columnType(wide), "numeric(60,50)");
    assert.equal(duckdbDialect.columnType(col("c", "decimal", { precision: 12, scale: 2 })), "DECIMAL(12,2)");
  });

  test("CREATE TABLE, ADD COLUMN and the unique key index quote every name", () => {
    const cols = [col(`i"d`, "bigint"), col(`n'ame`, "text")];
    assert.equal(
      createTableSql(postgresDialect, qualified(postgresDialect, "ds", HOSTILE_TABLE), cols),
      `CREATE TABLE "ds"."t""x'y" ("i""d" bigint, "n'ame" text)`,
    );
    assert.equal(
      createTableSql(duckdbDialect, duckdbDialect.quoteIdent("_ferry_stg_0"), cols, "TEMP"),
      `CREATE TEMP TABLE "_ferry_stg_0" ("i""d" BIGINT, "n'ame" VARCHAR)`,
    );
    assert.equal(
      addColumnSql(duckdbDialect, "ds", HOSTILE_TABLE, col(`a"mt`, "decimal", { precision: 12, scale: 2 })),
      `ALTER TABLE "ds"."t""x'y" ADD COLUMN "a""mt" DECIMAL(12,2)`,
    );
    const idx = uniqueKeyIndexSql(postgresDialect, "ds", HOSTILE_TABLE, ["id", `k"2`], 63);
    assert.match(
      idx,
      /^CREATE UNIQUE INDEX IF NOT EXISTS "t""x'y_ferry_pk_[a-z2-7]{6}" ON "ds"."t""x'y" \("id", "k""2"\)$/,
    );
    // Another key gets another index; a long table name is shortened to the limit.
    assert.notEqual(idx, uniqueKeyIndexSql(postgresDialect, "ds", HOSTILE_TABLE, ["id"], 63));
    const long = uniqueKeyIndexSql(postgresDialect, "ds", "x".repeat(80), ["id"], 63);
    const name = /INDEX IF NOT EXISTS "([^"]+)"/.exec(long)?.[1] ?? "";
    assert.equal(Buffer.byteLength(name), 63);
    assert.ok(long.endsWith(` ON "ds"."${"x".repeat(80)}" ("id")`), long);
  });

  test("systemTablesSql creates the three contract tables with their columns (DuckDB)", async () => {
    const d = duckdbDialect;
    await db.run(`CREATE SCHEMA ${d.quoteIdent(HOSTILE_DS)}`, ...systemTablesSql(d, HOSTILE_DS));
    // IF NOT EXISTS: running them again is harmless.
    await db.run(...systemTablesSql(d, HOSTILE_DS));
    const rows = await db.rows(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = ${d.quoteLiteral(HOSTILE_DS)} ORDER BY table_name, ordinal_position`,
    );
    const byTable: Record<string, string[]> = {};
    for (const r of rows) {
      const list = byTable[String(r.table_name)] ?? [];
      byTable[String(r.table_name)] = list;
      list.push(`${r.column_name} ${r.data_type}${r.is_nullable === "NO" ? " NOT NULL" : ""}`);
    }
    assert.deepEqual(byTable, {
      _ferry_loads: [
        "load_id VARCHAR NOT NULL",
        "schema_name VARCHAR",
        "status BIGINT NOT NULL",
        "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL",
        "schema_version_hash VARCHAR",
      ],
      _ferry_pipeline_state: [
        "version BIGINT NOT NULL",
        "engine_version BIGINT NOT NULL",
        "pipeline_name VARCHAR NOT NULL",
        "state VARCHAR NOT NULL",
        "created_at TIMESTAMP WITH TIME ZONE NOT NULL",
        "version_hash VARCHAR",
        "_ferry_load_id VARCHAR NOT NULL",
      ],
      _ferry_version: [
        "version BIGINT NOT NULL",
        "engine_version BIGINT NOT NULL",
        "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL",
        "schema_name VARCHAR NOT NULL",
        "version_hash VARCHAR NOT NULL",
        "schema VARCHAR NOT NULL",
      ],
    });
    await db.run(`DROP SCHEMA ${d.quoteIdent(HOSTILE_DS)} CASCADE`);
    assert.equal(
      systemTablesSql(postgresDialect, "gh")[0],
      `CREATE TABLE IF NOT EXISTS "gh"."_ferry_loads" (load_id text NOT NULL, schema_name text, status bigint NOT NULL, inserted_at timestamptz NOT NULL, schema_version_hash text)`,
    );
  });
});

describe("stagingPlan", () => {
  const t0 = { name: HOSTILE_TABLE, columns: { id: col("id", "bigint") } };
  const t1 = { name: "child", parent: HOSTILE_TABLE, columns: { v: col("v", "text") } };
  const seq = col("_ferry_seq", "bigint");

  test("temp staging (DuckDB): numbered session temp tables", () => {
    const plan = stagingPlan(duckdbDialect, { kind: "temp" }, "ds", [t0, t1]);
    assert.equal(plan.name(HOSTILE_TABLE), `"_ferry_stg_0"`);
    assert.equal(plan.name("child"), `"_ferry_stg_1"`);
    assert.deepEqual(plan.setup([seq]), [
      `CREATE TEMP TABLE "_ferry_stg_0" ("id" BIGINT, "_ferry_seq" BIGINT)`,
      `CREATE TEMP TABLE "_ferry_stg_1" ("v" VARCHAR, "_ferry_seq" BIGINT)`,
    ]);
    assert.deepEqual(plan.teardown(), [`DROP TABLE "_ferry_stg_0"`, `DROP TABLE "_ferry_stg_1"`]);
  });

  test("schema staging (Postgres): tables named like their targets in the staging schema, of the given kind", () => {
    const plan = stagingPlan(
      postgresDialect,
      { kind: "schema", schemaOf: (ds) => `${ds}_staging`, tableKind: "UNLOGGED" },
      `g"h`,
      [t0, t1],
    );
    assert.equal(plan.name(HOSTILE_TABLE), `"g""h_staging"."t""x'y"`);
    assert.deepEqual(plan.setup([seq]), [
      `CREATE SCHEMA IF NOT EXISTS "g""h_staging"`,
      `DROP TABLE IF EXISTS "g""h_staging"."t""x'y"`,
      `DROP TABLE IF EXISTS "g""h_staging"."child"`,
      `CREATE UNLOGGED TABLE "g""h_staging"."t""x'y" ("id" bigint, "_ferry_seq" bigint)`,
      `CREATE UNLOGGED TABLE "g""h_staging"."child" ("v" text, "_ferry_seq" bigint)`,
    ]);
    assert.deepEqual(plan.teardown(), [
      `DROP TABLE "g""h_staging"."t""x'y"`,
      `DROP TABLE "g""h_staging"."child"`,
    ]);
  });
});
