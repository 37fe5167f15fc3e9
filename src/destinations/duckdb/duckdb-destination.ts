import { isAbsolute, resolve } from "node:path";
import { setting } from "../../config/settings.js";
import { declaredRowsError } from "../../formats/typed-csv.js";
import type { LoadJobOf } from "../../load/load-client.js";
import type { Column } from "../../schema/types.js";
import { DestinationError, errorMessage } from "../../util/errors.js";
import type {
  ConnectOptions,
  Destination,
  DestinationCapabilities,
  DestinationClient,
} from "../destination.js";
import { columnsByTable } from "../sql/ddl.js";
import type { SqlConnection } from "../sql/sql-connection.js";
import { type SqlDriver, SqlLoadClient } from "../sql/sql-load-client.js";
import { DuckDbConnection } from "./duckdb-connection.js";
import { duckdbDialect } from "./duckdb-dialect.js";
import {
  insertTypedCsvSql,
  loadFileSelectExpr,
  ROW_ID_SEQUENCE,
  readJsonObjectSize,
  readLoadFilesSql,
} from "./load-file-sql.js";
import { readJsonMemoryNeed, withMemoryFor } from "./memory-limit.js";

export const duckdbCapabilities: DestinationCapabilities = Object.freeze({
  maxIdentifierLength: 120,
  exclusiveWhileLoading: true,
  supportsTransactions: true,
  supportsMerge: true,
  mergeStrategies: ["delete-insert", "upsert"] as const,
  preferredFileFormat: "jsonl" as const,
  supportedFileFormats: ["jsonl", "typed_csv"] as const,
  supportsSql: true,
});

/**
 * The statement that inserts JSONL load files into `target` with DuckDB's read_json. All files of a table go in one
 * INSERT: DuckDB writes one large insert straight to the database file, while many inserts into a table in one
 * transaction go through the WAL and are written again at checkpoint (twice the CPU for a big package).
 */
function copyFilesSql(
  jobs: LoadJobOf<"jsonl">[],
  target: string,
  columns: Column[],
  extra: Column[],
): string {
  const all = [...columns, ...extra];
  const q = duckdbDialect.quoteIdent;
  const paths = jobs.map((j) => j.path);
  return (
    `INSERT INTO ${target} (${all.map((c) => q(c.name)).join(", ")}) ` +
    `SELECT ${all.map(loadFileSelectExpr).join(", ")} FROM ${readLoadFilesSql(paths, all, longestLine(jobs))}`
  );
}

/** The longest line of the jobs' files; unknown for one file means unknown (read_json's safe default). */
function longestLine(jobs: LoadJobOf<"jsonl">[]): number | undefined {
  const sizes = jobs.map((j) => j.maxLineBytes);
  return sizes.some((n) => n === undefined) ? undefined : Math.max(...(sizes as number[]));
}

/**
 * Fails when typed CSV files inserted other than the records their resource declared (a truncated or padded file):
 * a file parsed back during normalize is checked the same way.
 */
function checkDeclaredRows(group: LoadJobOf<"typed_csv">[], inserted: number): void {
  const declared = group.reduce<number | undefined>(
    (n, j) => (n === undefined || j.rows === undefined ? undefined : n + j.rows),
    0,
  );
  if (declared === undefined || declared === inserted) return;
  throw declaredRowsError(group[0]?.table ?? "", inserted, declared, { files: group.length });
}

/** The DuckDB driver of the shared SQL loader, for a database kept to `memoryLimit`. */
function duckdbDriver(memoryLimit: string, threads: number | undefined): SqlDriver {
  return {
    dialect: duckdbDialect,
    capabilities: duckdbCapabilities,
    staging: { kind: "temp" },
    loaders: {
      jsonl: {
        batch: true,
        async load(conn, jobs, target, columns, extra) {
          const need = readJsonMemoryNeed(readJsonObjectSize(longestLine(jobs)), threads);
          await withMemoryFor(conn, memoryLimit, need, () =>
            conn.execute(copyFilesSql(jobs, target, columns, extra)),
          );
          return undefined;
        },
      },
      typed_csv: {
        batch: true,
        async load(conn, jobs, target, columns) {
          // One statement per layout (files of one resource share theirs).
          const byLayout = new Map<string, LoadJobOf<"typed_csv">[]>();
          for (const j of jobs) {
            const key = JSON.stringify(j.layout);
            byLayout.set(key, [...(byLayout.get(key) ?? []), j]);
          }
          await conn.execute(`CREATE TEMP SEQUENCE IF NOT EXISTS ${ROW_ID_SEQUENCE}`);
          let rows = 0;
          for (const group of byLayout.values()) {
            const [first] = group;
            if (!first) continue;
            const [res] = await conn.query(
              insertTypedCsvSql(
                group.map((j) => j.path),
                first.layout,
                columns,
                target,
              ),
            );
            checkDeclaredRows(group, Number(res?.Count));
            rows += Number(res?.Count);
          }
          return rows;
        },
      },
    },
    async existingColumns(conn: SqlConnection, dataset: string) {
      const rows = await conn.query(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_catalog = current_database() ORDER BY table_name, ordinal_position",
        [dataset],
      );
      return columnsByTable(rows);
    },
    isTransient(err: unknown): boolean {
      return /Could not set lock|Conflicting lock|database is locked|Resource temporarily unavailable/i.test(
        errorMessage(err),
      );
    },
  };
}

/** Enough for DuckDB to insert millions of rows per table in one statement, spilling beyond it. */
const DEFAULT_MEMORY_LIMIT = "160MB";

export interface DuckDbOptions {
  /** Database file; `:memory:` for an in-memory database. */
  path: string;
  /**
   * DuckDB's memory limit (default 160MB, or `FERRY_DUCKDB_MEMORY_LIMIT`): loads stay within it whatever their size,
   * spilling to `<file>.tmp` when needed. A load file with very long lines (a 50 MB value) raises it for its own
   * statement, to what its read buffers need.
   */
  memoryLimit?: string;
  /**
   * DuckDB's worker threads (default `FERRY_DUCKDB_THREADS`, else one per core). Each thread reading a load file holds
   * its own read buffers: fewer threads load in less memory.
   */
  threads?: number;
  /**
   * Rows per row group of the rows this destination writes (default `FERRY_DUCKDB_ROW_GROUP_SIZE`, else DuckDB's
   * 122,880; a multiple of 2,048). Small row groups suit many small appends (`ferry serve` uses 16,384): DuckDB
   * rewrites the rows of a row group as it fills, at every checkpoint.
   */
  rowGroupSize?: number;
}

/**
 * The embedded default destination. A dataset is a DuckDB schema inside the file.
 *
 * @example
 * pipeline({ name: "gh", destination: duckdb({ path: "gh.duckdb" }) })
 * pipeline({ name: "gh", destination: "duckdb:gh.duckdb" })   // the same, by URL
 */
export function duckdb(options: DuckDbOptions): Destination {
  const path = options.path === ":memory:" || isAbsolute(options.path) ? options.path : resolve(options.path);
  // An in-memory database holds all its data in the buffer pool: it keeps the larger limit.
  const memoryLimit =
    options.memoryLimit ??
    setting("duckdbMemoryLimit") ??
    (path === ":memory:" ? "256MB" : DEFAULT_MEMORY_LIMIT);
  const threads = options.threads ?? setting("duckdbThreads");
  const rowGroupSize = options.rowGroupSize ?? setting("duckdbRowGroupSize");
  const attachOptions = rowGroupSize === undefined ? "" : ` (ROW_GROUP_SIZE ${Math.floor(rowGroupSize)})`;
  const config: Record<string, string> = { memory_limit: memoryLimit };
  if (threads !== undefined) config.threads = String(threads);
  const driver = duckdbDriver(memoryLimit, threads);
  let memoryInstance: Promise<import("@duckdb/node-api").DuckDBInstance> | undefined;
  return {
    name: "duckdb",
    capabilities: duckdbCapabilities,
    description: `duckdb:${path}`,
    url: `duckdb:${path}`,
    async connect(opts: ConnectOptions): Promise<DestinationClient> {
      const api = await import("@duckdb/node-api");
      const { DuckDBInstance } = api;
      let instance: Awaited<ReturnType<typeof DuckDBInstance.create>>;
      let conn: Awaited<ReturnType<typeof instance.connect>>;
      const inMemory = path === ":memory:";
      try {
        if (inMemory) {
          // One database for the destination's lifetime: loads and later dataset() reads see the same data.
          memoryInstance ??= DuckDBInstance.create(":memory:", config);
          instance = await memoryInstance;
          conn = await instance.connect();
        } else {
          instance = await DuckDBInstance.create(":memory:", {
            ...config,
            // Beyond the memory limit DuckDB spills to disk next to the database file.
            temp_directory: `${path}.tmp`,
          });
          conn = await instance.connect();
          // The file is attached under a fixed alias: opened directly, its catalog is named after the file, and a
          // dataset of the same name (`gh.duckdb` + dataset `gh`, the default) makes `"gh"."t"` ambiguous.
          const alias = opts.dataset === "ferry_destination" ? "ferry_destination_db" : "ferry_destination";
          try {
            await conn.run(
              `ATTACH ${duckdbDialect.quoteLiteral(path)} AS ${duckdbDialect.quoteIdent(alias)}${attachOptions}`,
            );
            await conn.run(`USE ${duckdbDialect.quoteIdent(alias)}`);
          } catch (err) {
            conn.closeSync();
            instance.closeSync();
            throw err;
          }
        }
      } catch (err) {
        throw new DestinationError(`cannot open DuckDB database ${path}: ${errorMessage(err)}`, {
          cause: err,
          transient: driver.isTransient(err),
          hint: /lock/i.test(errorMessage(err))
            ? "another process has the database open; close it (or wait for it) and run again"
            : "check that the path is writable",
        });
      }
      await conn.run("SET TimeZone = 'UTC'");
      // Loads need no insertion order (merge orders by _ferry_seq); without it DuckDB streams inserts in less memory.
      await conn.run("SET preserve_insertion_order = false");
      const connection = new DuckDbConnection(api, instance, conn, !inMemory);
      return new SqlLoadClient(connection, driver, opts.dataset, opts.logger);
    },
  };
}
