import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "node:test";
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

/** A destination the shared suites run on. */
export interface Backend {
  name: string;
  /** Why this backend's tests are skipped (its server is not running), or false. */
  skip: string | false;
  capabilities: DestinationCapabilities;
  /** `information_schema.columns.data_type` of each ferry type (decimal without its precision). */
  dataType: Record<DataType, string>;
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

const duckdbBackend: Backend = {
  name: "duckdb",
  skip: false,
  capabilities: duckdbCapabilities,
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

/**
 * Every backend the destination suites run on: DuckDB always, Postgres when its test server runs (skipped with
 * the reason otherwise; under CI=true a missing server fails).
 *
 * @example
 * for (const b of await backends()) {
 *   describe(`types [${b.name}]`, { skip: b.skip }, () => {
 *     test("round-trip", async () => { const ds = await b.open("types"); try { ... } finally { await ds.cleanup() } });
 *   });
 * }
 */
export async function backends(): Promise<Backend[]> {
  return [duckdbBackend, await postgresBackend()];
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
