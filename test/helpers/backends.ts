import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "node:test";
import { ClickHouseConnection } from "../../src/destinations/clickhouse/clickhouse-connection.js";
import { quoteIdent } from "../../src/destinations/clickhouse/clickhouse-types.js";
import { parseClickHouseUrl } from "../../src/destinations/clickhouse/clickhouse-url.js";
import {
  clickhouseCapabilities,
  clickhouseStagingDatabase,
} from "../../src/destinations/clickhouse/index.js";
import {
  type ServerFeatures,
  serverFeatures,
  versionOf,
} from "../../src/destinations/clickhouse/server-features.js";
import type { DestinationCapabilities } from "../../src/destinations/destination.js";
import { duckdbCapabilities } from "../../src/destinations/duckdb/index.js";
import { postgresCapabilities, stagingSchema } from "../../src/destinations/postgres/index.js";
import {
  type DataType,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  silentLogger,
} from "../../src/index.js";
import { service } from "./services.js";
import { columnsOf } from "./tmp-pipeline.js";

/** One dataset of one backend, fresh for one test. */
export interface BackendDataset {
  /** Destination URL (Postgres: with the test server's password). */
  destination: string;
  dataset: string;
  /** Temp dir of the test: pipeline working dirs live in `<dir>/.ferry`. */
  dir: string;
  /** A pipeline on this dataset: name `name`, working dir `<dir>/.ferry`, silent logger. */
  pipeline(name: string, extra?: Partial<PipelineOptions>): Pipeline;
  /** Drops the dataset (and its staging schema) and removes the temp dir. */
  cleanup(): Promise<void>;
}

/** What a test may need that some backends lack (each with the reason its tests are skipped there). */
export type BackendGap =
  /** `information_schema` (ClickHouse 18.16 has `system.columns` only). */
  | "informationSchema"
  /** Timestamps with fractions of a second (ClickHouse before 20.1: DateTime, whole seconds). */
  | "subsecondTimestamps"
  /** Booleans in SQL results (ClickHouse before 21.12: UInt8, 1 and 0). */
  | "boolResults"
  /** Dates before 1970 (ClickHouse before 21.9: Date, 1970-2149). */
  | "datesBefore1970"
  /** Decimals of more than 21 integer digits cast to text (ClickHouse 18.16 prints them wrong; the value is right). */
  | "wideDecimalText"
  /** The smallest subnormal doubles (5e-324) (ClickHouse 18.16 reads them as 0). */
  | "tinyDoubles";

/** A destination the shared suites run on. */
export interface Backend {
  name: string;
  /** Why this backend's tests are skipped (its server is not running), or false. */
  skip: string | false;
  capabilities: DestinationCapabilities;
  /** `information_schema.columns.data_type` of each ferry type (decimal without its precision). */
  dataType: Record<DataType, string>;
  /** What this backend lacks, with the reason: `test(name, { skip: b.lacks.x ?? false }, ...)`. */
  lacks: Partial<Record<BackendGap, string>>;
  /** A `data_type` as `dataType` spells it (ClickHouse: without its `Nullable(...)`). */
  typeName(raw: string): string;
  /** `[column_name, data_type]` of a table in column order, types as `dataType` spells them. */
  columns(p: Pipeline, dataset: string, table: string): Promise<Array<[string, string]>>;
  /** How `cast(x as varchar)` prints values, from the text Postgres prints without its zone. */
  text: {
    /** `2024-06-30 12:00:00.5` (UTC) as a timestamp cast to text. */
    timestamp(utc: string): string;
    /** A decimal with its scale's digits (`0.10`) cast to text. */
    decimal(text: string): string;
  };
  /** A fresh dataset; `label` is part of its name (and must be unique within the test file). */
  open(label: string, options?: { dataset?: string }): Promise<BackendDataset>;
}

const unique = (label: string) => `${label}_${randomBytes(4).toString("hex")}`;

function dataset(destination: string, name: string, dir: string, drop: () => Promise<void>): BackendDataset {
  return {
    destination,
    dataset: name,
    dir,
    pipeline: (pipelineName, extra = {}) =>
      pipeline({
        name: pipelineName,
        destination,
        dataset: name,
        dir: join(dir, ".ferry"),
        logger: silentLogger,
        ...extra,
      }),
    async cleanup() {
      try {
        await drop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** How Postgres and DuckDB print timestamps and decimals cast to text. */
const SQL_TEXT: Backend["text"] = { timestamp: (utc) => `${utc}+00`, decimal: (text) => text };

const duckdbBackend: Backend = {
  name: "duckdb",
  skip: false,
  capabilities: duckdbCapabilities,
  lacks: {},
  typeName: (raw) => raw,
  columns: columnsOf,
  text: SQL_TEXT,
  dataType: {
    text: "VARCHAR",
    bigint: "BIGINT",
    double: "DOUBLE",
    bool: "BOOLEAN",
    timestamp: "TIMESTAMP WITH TIME ZONE",
    date: "DATE",
    time: "TIME",
    decimal: "DECIMAL",
    json: "JSON",
    binary: "BLOB",
  },
  async open(label, options = {}) {
    const dir = mkdtempSync(join(tmpdir(), "ferry-"));
    return dataset(
      `duckdb:${join(dir, "test.duckdb")}`,
      options.dataset ?? unique(label),
      dir,
      async () => {},
    );
  },
};

async function postgresBackend(): Promise<Backend> {
  const pg = await service("postgres");
  return {
    name: "postgres",
    skip: pg.skip,
    capabilities: postgresCapabilities,
    lacks: {},
    typeName: (raw) => raw,
    columns: columnsOf,
    text: SQL_TEXT,
    dataType: {
      text: "text",
      bigint: "bigint",
      double: "double precision",
      bool: "boolean",
      timestamp: "timestamp with time zone",
      date: "date",
      time: "time without time zone",
      decimal: "numeric",
      json: "jsonb",
      binary: "bytea",
    },
    async open(label, options = {}) {
      const dir = mkdtempSync(join(tmpdir(), "ferry-"));
      const name = options.dataset ?? unique(label);
      return dataset(pg.url, name, dir, () => dropSchemas(pg.url, [name, stagingSchema(name)]));
    },
  };
}

/** Drops schemas (quoted, cascading) on the test server. */
export async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}

const nonNullable = (type: string) => type.replace(/^Nullable\((.*)\)$/, "$1");

/** The features of a ClickHouse test server (those of the newest version when it does not run). */
async function clickhouseFeatures(url: string, skip: string | false): Promise<ServerFeatures> {
  if (skip) return serverFeatures("26.7");
  const conn = await ClickHouseConnection.open(parseClickHouseUrl(url), silentLogger);
  await conn.close();
  return conn.features;
}

/** Drops databases (quoted) on a ClickHouse test server. */
export async function dropDatabases(url: string, databases: string[]): Promise<void> {
  const conn = await ClickHouseConnection.open(parseClickHouseUrl(url), silentLogger);
  try {
    for (const d of databases) await conn.command(`DROP DATABASE IF EXISTS ${quoteIdent(d)}`);
  } finally {
    await conn.close();
  }
}

/**
 * ClickHouse: the real server (Debian's 18.16) and the modern engine (chdb behind a ClickHouse HTTP endpoint, which
 * stands in for a 26.7 server). What 18.16 lacks comes from its features, as the destination knows them.
 */
async function clickhouseBackend(which: "clickhouse" | "chdb"): Promise<Backend> {
  const svc = await service(which);
  const f = await clickhouseFeatures(svc.url, svc.skip);
  const v = f.version.split(".").slice(0, 2).join(".");
  const lacks: Backend["lacks"] = {};
  if (!f.dateTime64)
    lacks.subsecondTimestamps = `ClickHouse ${v} has no DateTime64: timestamps are whole seconds`;
  if (!f.boolType)
    lacks.boolResults = `ClickHouse ${v} has no Bool type: booleans are UInt8 (1, 0) in SQL results`;
  if (!f.date32) lacks.datesBefore1970 = `ClickHouse ${v} has no Date32: dates start in 1970`;
  if (versionOf(f.version)[0] < 19)
    lacks.tinyDoubles = `ClickHouse ${v} reads the smallest subnormal doubles (below 1e-323) as 0`;
  if (versionOf(f.version)[0] < 19)
    lacks.wideDecimalText = `ClickHouse ${v} prints Decimal128 values of more than 21 integer digits wrong in toString (a server bug; the stored value is right)`;
  if (versionOf(f.version)[0] < 22) lacks.informationSchema = `ClickHouse ${v} has no information_schema`;
  return {
    name: which === "chdb" ? `clickhouse ${v} (chdb)` : `clickhouse ${v}`,
    skip: svc.skip,
    capabilities: clickhouseCapabilities,
    lacks,
    dataType: {
      text: "String",
      bigint: "Int64",
      double: "Float64",
      bool: f.boolType ? "Bool" : "UInt8",
      timestamp: f.dateTime64 ? "DateTime64(6, 'UTC')" : "DateTime('UTC')",
      date: f.date32 ? "Date32" : "Date",
      time: "String",
      decimal: "Decimal",
      json: "String",
      binary: "String",
    },
    typeName: nonNullable,
    // system.columns: every version has it, in column order.
    columns: async (p, dataset, table) =>
      (
        await p
          .dataset()
          .sql("select name, type from system.columns where database = $1 and table = $2", [dataset, table])
      ).map((r) => [String(r.name), nonNullable(String(r.type))]),
    text: {
      timestamp: (utc) => {
        const [whole = "", frac = ""] = utc.split(".");
        return f.dateTime64 ? `${whole}.${frac.padEnd(6, "0")}` : whole;
      },
      // Newer servers print decimals without trailing zeros.
      decimal: (text) =>
        f.maxDecimalPrecision > 38 && text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text,
    },
    async open(label, options = {}) {
      const dir = mkdtempSync(join(tmpdir(), "ferry-"));
      const name = options.dataset ?? unique(label);
      return dataset(svc.url, name, dir, () =>
        dropDatabases(svc.url, [name, clickhouseStagingDatabase(name)]),
      );
    },
  };
}

/**
 * Every backend the destination suites run on: DuckDB always, Postgres and ClickHouse (the real 18.16 server and the
 * modern engine) when their test servers run (skipped with the reason otherwise; under CI=true a missing server
 * fails).
 *
 * @example
 * for (const b of await backends()) {
 *   describe(`types [${b.name}]`, { skip: b.skip }, () => {
 *     test("round-trip", async () => { const ds = await b.open("types"); try { ... } finally { await ds.cleanup() } });
 *   });
 * }
 */
export async function backends(): Promise<Backend[]> {
  return [
    duckdbBackend,
    await postgresBackend(),
    await clickhouseBackend("chdb"),
    await clickhouseBackend("clickhouse"),
  ];
}

/**
 * Registers one test body for every backend: `describe("<suite> [<backend>]")`, skipped with the backend's reason.
 *
 * @example
 * await eachBackend("dispositions", (b) => { test("append", () => withDataset(b, "append", async (ds) => { ... })) });
 */
export async function eachBackend(suite: string, body: (b: Backend) => void): Promise<void> {
  for (const b of await backends()) describe(`${suite} [${b.name}]`, { skip: b.skip }, () => body(b));
}

/**
 * Runs `fn` on a fresh dataset of `b` and cleans it up afterwards, whatever happens.
 *
 * @example
 * await withDataset(b, "types", async (ds) => { const p = ds.pipeline("types"); await p.run([{ id: 1 }], { table: "t" }) });
 */
export async function withDataset(
  b: Backend,
  label: string,
  fn: (ds: BackendDataset) => Promise<void>,
  options: { dataset?: string } = {},
): Promise<void> {
  const ds = await b.open(label, options);
  try {
    await fn(ds);
  } finally {
    await ds.cleanup();
  }
}
