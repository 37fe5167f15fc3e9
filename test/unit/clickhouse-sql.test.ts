import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  addColumnSql,
  createTableSql,
  systemTablesSql,
  tableEngine,
} from "../../src/destinations/clickhouse/clickhouse-ddl.js";
import {
  clickhouseCode,
  isTransientClickHouseError,
  serverMessage,
} from "../../src/destinations/clickhouse/clickhouse-errors.js";
import {
  columnDefinition,
  quoteIdent,
  quoteString,
} from "../../src/destinations/clickhouse/clickhouse-types.js";
import { parseClickHouseUrl } from "../../src/destinations/clickhouse/clickhouse-url.js";
import { mergeSteps } from "../../src/destinations/clickhouse/merge-steps.js";
import { serverFeatures } from "../../src/destinations/clickhouse/server-features.js";
import { bindParams, literal } from "../../src/destinations/clickhouse/sql-params.js";
import { EVENT_COLUMNS, EVENTS_STORAGE } from "../../src/events/ingest/event-loader.js";
import { type Column, ConfigError, resolveDestination, type Table } from "../../src/index.js";
import { redactSecrets } from "../../src/util/log.js";

const modern = serverFeatures("26.7.2.1");
const old = serverFeatures("18.16.1");

describe("clickhouse:// URLs", () => {
  test("host, port, user, password, database and settings; TLS with clickhouses://; the password a secret", () => {
    const u = parseClickHouseUrl("clickhouse://etl:p%40ss@ch.internal:9123/analytics?max_insert_threads=2");
    assert.deepEqual(
      { ...u, safeUrl: u.safeUrl },
      {
        endpoint: "http://ch.internal:9123",
        username: "etl",
        password: "p@ss",
        database: "analytics",
        secure: false,
        settings: { max_insert_threads: "2" },
        safeUrl: "clickhouse://etl@ch.internal:9123/analytics?max_insert_threads=2",
      },
    );
    assert.equal(redactSecrets("failed with p@ss"), "failed with ***");
    const tls = parseClickHouseUrl("clickhouses://ch.example.com");
    assert.deepEqual(
      [tls.endpoint, tls.username, tls.database, tls.secure],
      ["https://ch.example.com:8443", "default", "default", true],
    );
    assert.equal(parseClickHouseUrl("clickhouse://[::1]/x").endpoint, "http://[::1]:8123");
  });

  test("what is not a ClickHouse URL is a ConfigError that shows the form", () => {
    for (const [url, message] of [
      ["clickhouse:///db", /names no host/],
      ["clickhouse://h/a/b", /is not a database name/],
      ["clickhouse://h/db?bad-name=1", /"bad-name" is not a setting name/],
      ["http://h:8123", /not a ClickHouse URL/],
    ] as const) {
      assert.throws(
        () => parseClickHouseUrl(url),
        (e: unknown) =>
          e instanceof ConfigError && message.test(e.message) && /clickhouse:\/\//.test(String(e.hint)),
        url,
      );
    }
  });

  test("the URL scheme opens the destination; its description and URL carry no password", async () => {
    const d = await resolveDestination("clickhouse://etl:s3cret@127.0.0.1:8123/dw", "p");
    assert.equal(d.name, "clickhouse");
    assert.equal(d.description, "clickhouse://etl@127.0.0.1:8123/dw");
    assert.ok(!d.url.includes("s3cret"));
    assert.equal(d.capabilities.supportsTransactions, false);
    assert.equal(
      (await resolveDestination("clickhouses://h/dw", "p")).description,
      "clickhouses://default@h:8443/dw",
    );
  });
});

describe("ClickHouse server features by version", () => {
  test("18.16 falls back where it lacks a feature; newer versions have each from its release", () => {
    assert.deepEqual(old, {
      version: "18.16.1",
      dateTime64: false,
      boolType: false,
      date32: false,
      exchangeTables: false,
      lightweightDelete: false,
      insertDeduplication: false,
      maxDecimalPrecision: 38,
    });
    assert.ok(Object.values(modern).every((v) => v !== false));
    const v22 = serverFeatures("22.8.1");
    assert.deepEqual([v22.insertDeduplication, v22.lightweightDelete, v22.boolType], [true, false, true]);
    assert.equal(serverFeatures("garbage").dateTime64, false);
  });
});

describe("ClickHouse DDL", () => {
  test("identifiers from data are quoted with backquotes and escaped; strings likewise", () => {
    assert.equal(quoteIdent("x`; DROP TABLE t; --"), "`x\\`; DROP TABLE t; --`");
    assert.equal(quoteIdent("a\\`b"), "`a\\\\\\`b`");
    assert.equal(quoteString("it's \\ \0"), "'it\\'s \\\\ \\0'");
  });

  test("column types per server version: Nullable unless declared not nullable, ferry's type in a comment where needed", () => {
    const col = (type: Column["type"], extra: Partial<Column> = {}): Column => ({
      name: "c",
      type,
      ...extra,
    });
    const both = (c: Column) => [columnDefinition(c, modern), columnDefinition(c, old)];
    assert.deepEqual(both(col("timestamp", { nullable: false })), [
      "`c` DateTime64(6, 'UTC')",
      "`c` DateTime('UTC')",
    ]);
    assert.deepEqual(both(col("bool")), ["`c` Nullable(Bool)", "`c` Nullable(UInt8) COMMENT 'ferry:bool'"]);
    assert.deepEqual(both(col("date")), ["`c` Nullable(Date32)", "`c` Nullable(Date)"]);
    assert.deepEqual(both(col("json")), [
      "`c` Nullable(String) COMMENT 'ferry:json'",
      "`c` Nullable(String) COMMENT 'ferry:json'",
    ]);
    assert.deepEqual(both(col("binary"))[0], "`c` Nullable(String) COMMENT 'ferry:binary'");
    assert.deepEqual(both(col("time"))[0], "`c` Nullable(String) COMMENT 'ferry:time'");
    assert.deepEqual(both(col("decimal", { precision: 60, scale: 4 })), [
      "`c` Nullable(Decimal(60, 4))",
      "`c` Nullable(Decimal(38, 4))",
    ]);
    assert.equal(columnDefinition(col("decimal"), modern), "`c` Nullable(Decimal(38, 9))");
    assert.equal(columnDefinition(col("bigint"), modern), "`c` Nullable(Int64)");
    assert.equal(
      addColumnSql("d", "t", col("double"), old),
      "ALTER TABLE `d`.`t` ADD COLUMN `c` Nullable(Float64)",
    );
  });

  test("the events table: PostHog's layout from its storage hint", () => {
    const columns = Object.fromEntries(
      Object.entries(EVENT_COLUMNS).map(([name, h]) => [
        name,
        { name, type: h.type ?? "text", ...h } as Column,
      ]),
    );
    const events: Table = { name: "events", columns, storage: EVENTS_STORAGE, writeDisposition: "append" };
    assert.deepEqual(tableEngine(events), {
      engine: "ReplacingMergeTree(`created_at`)",
      partitionBy: "toYYYYMM(`timestamp`)",
      orderBy: "(toDate(`timestamp`), `event`, cityHash64(`distinct_id`), cityHash64(`uuid`))",
    });
    assert.match(
      createTableSql("web", events, modern),
      /^CREATE TABLE IF NOT EXISTS `web`\.`events` \(`uuid` String, .* ENGINE = ReplacingMergeTree\(`created_at`\) PARTITION BY toYYYYMM\(`timestamp`\) ORDER BY \(toDate\(`timestamp`\), `event`, cityHash64\(`distinct_id`\), cityHash64\(`uuid`\)\) SETTINGS non_replicated_deduplication_window = 1000$/,
    );
    assert.ok(!createTableSql("web", events, old).includes("SETTINGS"), "18.16 has no deduplication window");
  });

  test("merge tables are sorted by their primary key; other tables unsorted; key columns must not be nullable", () => {
    const id: Column = { name: "id", type: "bigint", primaryKey: true, nullable: false };
    const merge: Table = {
      name: "u",
      writeDisposition: "merge",
      columns: { id, v: { name: "v", type: "text" } },
    };
    assert.equal(tableEngine(merge).orderBy, "`id`");
    assert.equal(tableEngine({ ...merge, writeDisposition: "append" }).orderBy, "tuple()");
    const bad: Table = {
      name: "t",
      columns: { v: { name: "v", type: "text" } },
      storage: { sortBy: ["v"] },
    };
    assert.throws(() => tableEngine(bad), /column "v" of table "t" is its sort key and may be NULL/);
    assert.throws(
      () => tableEngine({ ...bad, storage: { sortBy: ["nope"] } }),
      /names "nope" as its sort key, but has no such column/,
    );
  });

  test("system tables: the contract's columns, sorted for their lookups", () => {
    const [loads, version, state] = systemTablesSql("gh", old);
    assert.equal(
      loads,
      "CREATE TABLE IF NOT EXISTS `gh`.`_ferry_loads` (load_id String, schema_name Nullable(String), status Int64, inserted_at DateTime('UTC'), schema_version_hash Nullable(String)) ENGINE = MergeTree() ORDER BY load_id",
    );
    assert.match(
      String(version),
      /`_ferry_version` \(version Int64, engine_version Int64, inserted_at DateTime\('UTC'\), schema_name String, version_hash String, schema String\)/,
    );
    assert.match(String(state), /ORDER BY \(pipeline_name, _ferry_load_id\)$/);
    assert.match(
      String(systemTablesSql("gh", modern)[0]),
      /DateTime64\(6, 'UTC'\).* SETTINGS non_replicated_deduplication_window/,
    );
  });
});

describe("ClickHouse merge steps", () => {
  const id: Column = { name: "id", type: "bigint", primaryKey: true, nullable: false };
  const root: Table = {
    name: "users",
    writeDisposition: "merge",
    columns: {
      _ferry_id: { name: "_ferry_id", type: "text" },
      id,
      v: { name: "v", type: "bigint", dedupSort: "desc" },
      gone: { name: "gone", type: "bool", hardDelete: true },
    },
  };
  const child: Table = {
    name: "users__tags",
    parent: "users",
    columns: {
      _ferry_root_id: { name: "_ferry_root_id", type: "text" },
      value: { name: "value", type: "text" },
    },
  };
  const input = (strategy: "delete-insert" | "upsert") => ({
    dataset: "d",
    staging: "d_staging",
    staged: (t: string) => `${t}__x`,
    dedup: "_ferry_dedup__x",
    root,
    children: [child],
    strategy,
  });

  test("delete-insert: dedup by key (dedupSort, then latest), children deleted through their roots, then inserts", () => {
    const steps = mergeSteps(input("delete-insert"));
    const text = steps.map((s) => ("sql" in s ? s.sql : `DELETE ${s.delete.table} WHERE ${s.delete.where}`));
    assert.deepEqual(text, [
      "DROP TABLE IF EXISTS `d_staging`.`_ferry_dedup__x`",
      "CREATE TABLE `d_staging`.`_ferry_dedup__x` ENGINE = MergeTree() ORDER BY tuple() AS SELECT * FROM `d_staging`.`users__x` ORDER BY `v` DESC NULLS LAST, `_ferry_seq` DESC LIMIT 1 BY `id`",
      "DELETE users__tags WHERE `_ferry_root_id` IN (SELECT `_ferry_id` FROM `d`.`users` WHERE (`id`) IN (SELECT `id` FROM `d_staging`.`_ferry_dedup__x`))",
      "DELETE users WHERE (`id`) IN (SELECT `id` FROM `d_staging`.`_ferry_dedup__x`)",
      "INSERT INTO `d`.`users` (`_ferry_id`, `id`, `v`, `gone`) SELECT `_ferry_id`, `id`, `v`, `gone` FROM `d_staging`.`_ferry_dedup__x` WHERE NOT (ifNull(`gone`, 0) = 1)",
      "INSERT INTO `d`.`users__tags` (`_ferry_root_id`, `value`) SELECT `_ferry_root_id`, `value` FROM `d_staging`.`users__tags__x` WHERE (`_ferry_root_id`, `_ferry_seq`) IN (SELECT `_ferry_id`, `_ferry_seq` FROM `d_staging`.`_ferry_dedup__x` WHERE NOT (ifNull(`gone`, 0) = 1))",
      "DROP TABLE `d_staging`.`_ferry_dedup__x`",
    ]);
  });

  test("upsert: children found through the deduplicated rows' ids (derived from the key)", () => {
    const del = mergeSteps(input("upsert")).find((s) => "delete" in s && s.delete.table === "users__tags");
    assert.deepEqual(del, {
      delete: {
        table: "users__tags",
        where: "`_ferry_root_id` IN (SELECT `_ferry_id` FROM `d_staging`.`_ferry_dedup__x`)",
      },
    });
  });
});

describe("dataset().sql() parameters on ClickHouse", () => {
  test("$1, $2 ... become literals outside strings, quoted names and comments", () => {
    assert.equal(
      bindParams(
        "select * from t where a = $1 and b = '$1' and `$2` = $2 -- $1\n/* $2 */ and c = \"$1\"",
        ["x'y", 7],
        modern,
      ),
      "select * from t where a = 'x\\'y' and b = '$1' and `$2` = 7 -- $1\n/* $2 */ and c = \"$1\"",
    );
    assert.equal(
      bindParams(
        "select $1, $10",
        Array.from({ length: 10 }, (_, i) => i),
        modern,
      ),
      "select 0, 9",
    );
    assert.throws(() => bindParams("select $3", [1], modern), /query parameter \$3 has no value \(1 given\)/);
    assert.equal(bindParams("select '$1'", [], modern), "select '$1'");
  });

  test("literals of every JS value, per server version", () => {
    const d = new Date("2024-02-29T23:59:59.123Z");
    assert.deepEqual(
      [
        null,
        1.5,
        Number.NaN,
        Number.NEGATIVE_INFINITY,
        9007199254740993n,
        true,
        d,
        Buffer.from([0, 255]),
        [1, "a"],
        { k: "v" },
      ].map((v) => literal(v, modern)),
      [
        "NULL",
        "1.5",
        "nan",
        "-inf",
        "9007199254740993",
        "true",
        "toDateTime64('2024-02-29 23:59:59.123', 3, 'UTC')",
        "unhex('00ff')",
        "[1, 'a']",
        '\'{"k":"v"}\'',
      ],
    );
    assert.deepEqual(
      [literal(true, old), literal(d, old)],
      ["1", "toDateTime('2024-02-29 23:59:59', 'UTC')"],
    );
  });
});

describe("ClickHouse errors", () => {
  test("codes from the client's errors and from 18.16's text; which are worth a retry", () => {
    const e1816 = new Error(
      "Code: 252, e.displayText() = DB::Exception: Too many parts (300), e.what() = DB::Exception",
    );
    assert.equal(clickhouseCode(e1816), 252);
    assert.equal(isTransientClickHouseError(e1816), true);
    assert.equal(serverMessage(e1816), "Code: 252. DB::Exception: Too many parts (300)");
    assert.equal(isTransientClickHouseError(Object.assign(new Error("Syntax error"), { code: "62" })), false);
    assert.equal(
      isTransientClickHouseError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })),
      true,
    );
    assert.equal(isTransientClickHouseError(new Error("socket hang up")), true);
    assert.equal(
      isTransientClickHouseError(new Error("Code: 516. DB::Exception: ferry: Authentication failed")),
      false,
    );
  });
});
