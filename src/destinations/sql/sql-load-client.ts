import type { LoadFileFormatName } from "../../formats/file-format.js";
import type {
  LoadJob,
  LoadJobOf,
  PackageLoadRequest,
  StoredStateRecord,
  TableFamilyLoad,
} from "../../load/load-client.js";
import type { Column, StoredSchema, Table } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import { DestinationError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { DestinationCapabilities, DestinationClient, QueryRow } from "../destination.js";
import { loadFailure } from "../load-failure.js";
import { addColumnSql, createTableSql, qualified, systemTablesSql, uniqueKeyIndexSql } from "./ddl.js";
import { mergeStatements, SEQ_COLUMN } from "./merge-sql.js";
import type { SqlConnection } from "./sql-connection.js";
import type { SqlDialect } from "./sql-dialect.js";
import { type MergeStaging, stagingPlan } from "./staging.js";

/**
 * How a SQL destination loads the load files of one format into a table.
 *
 * @example
 * const jsonl: FormatLoader<PostgresConnection, LoadJobOf<"jsonl">> = { batch: false, load: (conn, jobs, target, columns, extra) => ... };
 */
export interface FormatLoader<C extends SqlConnection, J extends LoadJob> {
  /**
   * Takes all files of a table in one call. Engines that write a large insert straight to storage do much less work
   * this way than file by file (DuckDB: about half the CPU, and no second pass over the data at checkpoint); without
   * it each call gets one file.
   */
  readonly batch: boolean;
  /**
   * Loads the files into `target` (an already quoted, qualified name) with these columns (`extra`: columns the files
   * carry beyond the table's, such as `_ferry_seq` for merges). Returns the rows loaded when the driver knows them.
   */
  load(conn: C, jobs: J[], target: string, columns: Column[], extra: Column[]): Promise<number | undefined>;
}

/** One loader per load-file format a destination reads (the keys are its `supportedFileFormats`). */
export type FormatLoaders<C extends SqlConnection> = {
  readonly [F in LoadFileFormatName]?: FormatLoader<C, LoadJobOf<F>>;
};

/**
 * What each SQL destination adds to the shared loader: its dialect, capabilities, how it loads each load-file
 * format, where merges stage rows, and which errors are worth a retry.
 *
 * @example
 * const driver: SqlDriver<PostgresConnection> = { dialect, capabilities, staging, loaders: { jsonl }, existingColumns, isTransient };
 * new SqlLoadClient(conn, driver, "github", logger);
 */
export interface SqlDriver<C extends SqlConnection = SqlConnection> {
  readonly dialect: SqlDialect;
  readonly capabilities: DestinationCapabilities;
  /** Where merge loads stage their rows (temp tables or a staging schema). */
  readonly staging: MergeStaging;
  readonly loaders: FormatLoaders<C>;
  /** Existing tables and their columns in the dataset. */
  existingColumns(conn: C, dataset: string): Promise<Map<string, Set<string>>>;
  /** Whether a driver error may go away on retry (lock held, connection reset...). */
  isTransient(err: unknown): boolean;
}

const seqColumn: Column = { name: SEQ_COLUMN, type: "bigint" };

/** Jobs grouped by a key, groups in the order their first job comes. */
function groupBy<K>(jobs: LoadJob[], key: (job: LoadJob) => K): LoadJob[][] {
  const groups = new Map<K, LoadJob[]>();
  for (const job of jobs) {
    const k = key(job);
    const group = groups.get(k);
    if (group) group.push(job);
    else groups.set(k, [job]);
  }
  return [...groups.values()];
}

const byTable = (jobs: LoadJob[]) => groupBy(jobs, (j) => j.table);

/**
 * The shared loader of SQL destinations: migrates the dataset schema from the ferry schema, loads each job
 * file, applies write dispositions, and commits data, state, schema version and `_ferry_loads` together.
 *
 * @example
 * const client = new SqlLoadClient(await PostgresConnection.open(session, log), driver, "github", log);
 * await client.loadPackage(request);
 */
export class SqlLoadClient<C extends SqlConnection = SqlConnection> implements DestinationClient {
  readonly capabilities: DestinationCapabilities;
  readonly #conn: C;
  readonly #driver: SqlDriver<C>;
  readonly #dataset: string;
  readonly #log: Logger;

  constructor(conn: C, driver: SqlDriver<C>, dataset: string, log: Logger) {
    this.#conn = conn;
    this.#driver = driver;
    this.#dataset = dataset;
    this.#log = log;
    this.capabilities = driver.capabilities;
  }

  get #d(): SqlDialect {
    return this.#driver.dialect;
  }

  /** Packages this client has tried to load: a retry first checks whether an earlier COMMIT went through. */
  readonly #attempted = new Set<string>();

  async loadPackage(req: PackageLoadRequest): Promise<void> {
    // A connection lost during COMMIT leaves its outcome unknown: never load a package twice.
    if (this.#attempted.has(req.loadId) && (await this.isLoadCompleted(req.loadId))) {
      this.#log.info(`load ${req.loadId} was committed before the connection was lost; not loading it again`);
      return;
    }
    this.#attempted.add(req.loadId);
    await this.#conn.begin();
    try {
      await this.#migrate(req.schema);
      for (const family of req.families) await this.#loadFamily(family, req);
      await this.#writeSystemRows(req);
      await this.#conn.commit();
    } catch (err) {
      await this.#conn.rollback();
      throw this.#wrap(err, req.loadId);
    }
  }

  async #migrate(schema: StoredSchema): Promise<void> {
    await this.#exec(`CREATE SCHEMA IF NOT EXISTS ${this.#d.quoteIdent(this.#dataset)}`);
    for (const sql of systemTablesSql(this.#d, this.#dataset)) await this.#exec(sql);
    const existing = await this.#driver.existingColumns(this.#conn, this.#dataset);
    for (const table of Object.values(schema.tables)) {
      const columns = Object.values(table.columns);
      if (columns.length === 0) continue;
      const have = existing.get(table.name);
      if (!have) {
        await this.#exec(createTableSql(this.#d, qualified(this.#d, this.#dataset, table.name), columns));
        this.#log.debug(`created table ${table.name}`);
      } else {
        for (const c of columns) {
          if (!have.has(c.name)) await this.#exec(addColumnSql(this.#d, this.#dataset, table.name, c));
        }
      }
      const pk = columns.filter((c) => c.primaryKey).map((c) => c.name);
      const upsert = table.writeDisposition === "merge" && table.mergeStrategy === "upsert";
      if (upsert && pk.length > 0 && this.#d.upsert === "on-conflict") {
        const max = this.capabilities.maxIdentifierLength;
        await this.#exec(uniqueKeyIndexSql(this.#d, this.#dataset, table.name, pk, max));
      }
    }
  }

  async #loadFamily(family: TableFamilyLoad, req: PackageLoadRequest): Promise<void> {
    const root = family.root;
    const disposition = root.writeDisposition ?? "append";
    const tables = family.tables.filter((t) => Object.keys(t.columns).length > 0);
    if (disposition === "replace") {
      // Inside the transaction: readers keep seeing the old rows until COMMIT.
      for (const t of [...tables].reverse())
        await this.#exec(`DELETE FROM ${qualified(this.#d, this.#dataset, t.name)}`);
    }
    if (disposition !== "merge") {
      for (const jobs of byTable(family.jobs)) {
        const table = tables.find((t) => t.name === jobs[0]?.table);
        if (!table) continue;
        await this.#runJobs(
          jobs,
          req,
          qualified(this.#d, this.#dataset, table.name),
          Object.values(table.columns),
        );
      }
      return;
    }
    if (family.jobs.length === 0) return;
    const plan = stagingPlan(this.#d, this.#driver.staging, this.#dataset, tables);
    for (const sql of plan.setup([seqColumn])) await this.#exec(sql);
    for (const jobs of byTable(family.jobs)) {
      const table = tables.find((t) => t.name === jobs[0]?.table);
      if (!table) continue;
      await this.#runJobs(jobs, req, plan.name(table.name), Object.values(table.columns), [seqColumn]);
    }
    const children = tables.filter((t) => t !== root);
    for (const sql of mergeStatements({
      dialect: this.#d,
      dataset: this.#dataset,
      root,
      children,
      staging: plan.name,
      strategy: root.mergeStrategy ?? "delete-insert",
    })) {
      await this.#exec(sql);
    }
    for (const sql of plan.teardown()) await this.#exec(sql);
  }

  /**
   * Loads the jobs of one table, format by format: all files of a format in one call when its loader takes them so,
   * else one by one.
   */
  async #runJobs(
    jobs: LoadJob[],
    req: PackageLoadRequest,
    target: string,
    columns: Column[],
    extra: Column[] = [],
  ): Promise<void> {
    for (const group of groupBy(jobs, (j) => j.format)) {
      const format = (group[0] as LoadJob).format;
      const loader = this.#driver.loaders[format] as FormatLoader<C, LoadJob> | undefined;
      if (!loader) {
        throw new DestinationError(`this destination cannot load ${format} load files`, {
          fields: { loadId: req.loadId, table: (group[0] as LoadJob).table },
          hint: `it loads ${this.capabilities.supportedFileFormats.join(", ")}; the package was written for another destination`,
        });
      }
      for (const batch of loader.batch ? [group] : group.map((j) => [j])) {
        for (const job of batch) await req.onJobStarted(job);
        try {
          const rows = await loader.load(this.#conn, batch, target, columns, extra);
          if (rows !== undefined)
            this.#log.debug(`loaded ${rows} rows of ${batch[0]?.table} from ${batch.length} file(s)`);
        } catch (err) {
          // Named by the last job started: the one the loader sets aside as failed.
          throw this.#wrap(err, req.loadId, batch.at(-1), batch.length);
        }
        for (const job of batch) await req.onJobCompleted(job);
      }
    }
  }

  async #writeSystemRows(req: PackageLoadRequest): Promise<void> {
    const d = this.#d;
    const ds = this.#dataset;
    const now = new Date().toISOString();
    const known = await this.#conn.query(
      `SELECT 1 AS x FROM ${qualified(d, ds, SYSTEM_TABLES.version)} WHERE schema_name = $1 AND version_hash = $2`,
      [req.schema.name, req.schema.versionHash],
    );
    if (known.length === 0) {
      await this.#conn.execute(
        `INSERT INTO ${qualified(d, ds, SYSTEM_TABLES.version)} (version, engine_version, inserted_at, schema_name, version_hash, schema) VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          req.schema.version,
          req.schema.engineVersion,
          now,
          req.schema.name,
          req.schema.versionHash,
          JSON.stringify(req.schema),
        ],
      );
    }
    await this.#conn.execute(
      `INSERT INTO ${qualified(d, ds, SYSTEM_TABLES.state)} (version, engine_version, pipeline_name, state, created_at, version_hash, _ferry_load_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [req.state.version, 1, req.pipelineName, req.state.json, now, req.state.hash, req.loadId],
    );
    await this.#conn.execute(
      `INSERT INTO ${qualified(d, ds, SYSTEM_TABLES.loads)} (load_id, schema_name, status, inserted_at, schema_version_hash) VALUES ($1, $2, $3, $4, $5)`,
      [req.loadId, req.schema.name, 0, now, req.schema.versionHash],
    );
  }

  async isLoadCompleted(loadId: string): Promise<boolean> {
    if (!(await this.#hasSystemTable(SYSTEM_TABLES.loads))) return false;
    const rows = await this.#conn.query(
      `SELECT 1 AS x FROM ${qualified(this.#d, this.#dataset, SYSTEM_TABLES.loads)} WHERE load_id = $1 AND status = 0`,
      [loadId],
    );
    return rows.length > 0;
  }

  async getStoredState(pipelineName: string): Promise<StoredStateRecord | undefined> {
    if (!(await this.#hasSystemTable(SYSTEM_TABLES.state))) return undefined;
    const rows = await this.#conn.query(
      `SELECT state, version, _ferry_load_id AS load_id, CAST(created_at AS VARCHAR) AS created_at FROM ${qualified(this.#d, this.#dataset, SYSTEM_TABLES.state)} WHERE pipeline_name = $1 ORDER BY _ferry_load_id DESC, version DESC LIMIT 1`,
      [pipelineName],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      state: String(r.state),
      version: Number(r.version),
      loadId: String(r.load_id),
      createdAt: String(r.created_at),
    };
  }

  async getStoredSchema(schemaName: string): Promise<StoredSchema | undefined> {
    if (!(await this.#hasSystemTable(SYSTEM_TABLES.version))) return undefined;
    const rows = await this.#conn.query(
      `SELECT schema FROM ${qualified(this.#d, this.#dataset, SYSTEM_TABLES.version)} WHERE schema_name = $1 ORDER BY version DESC, inserted_at DESC LIMIT 1`,
      [schemaName],
    );
    const r = rows[0];
    return r ? (JSON.parse(String(r.schema)) as StoredSchema) : undefined;
  }

  async sql(query: string, params?: unknown[]): Promise<QueryRow[]> {
    if (!this.#datasetSelected && (await this.listTables()).length > 0) {
      await this.#exec(this.#d.useDatasetSql(this.#dataset));
      this.#datasetSelected = true;
    }
    return this.#conn.query(query, params);
  }

  #datasetSelected = false;

  async readTable(name: string, options: { limit?: number; orderBy?: string } = {}): Promise<QueryRow[]> {
    const tables = await this.listTables();
    if (!tables.includes(name)) {
      throw new DestinationError(`table "${name}" does not exist in dataset "${this.#dataset}"`, {
        fields: { table: name },
        hint: tables.length > 0 ? `tables: ${tables.join(", ")}` : "nothing was loaded yet",
      });
    }
    const order = options.orderBy ? ` ORDER BY ${this.#d.quoteIdent(options.orderBy)}` : "";
    const limit = options.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.limit))}` : "";
    return this.#conn.query(`SELECT * FROM ${qualified(this.#d, this.#dataset, name)}${order}${limit}`);
  }

  async listTables(): Promise<string[]> {
    const existing = await this.#driver.existingColumns(this.#conn, this.#dataset);
    return [...existing.keys()].sort();
  }

  async dropTables(names: string[]): Promise<void> {
    const existing = await this.#driver.existingColumns(this.#conn, this.#dataset);
    for (const n of names) {
      if (existing.has(n)) await this.#exec(`DROP TABLE ${qualified(this.#d, this.#dataset, n)}`);
    }
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }

  async #hasSystemTable(name: string): Promise<boolean> {
    const existing = await this.#driver.existingColumns(this.#conn, this.#dataset);
    return existing.has(name);
  }

  async #exec(sql: string): Promise<void> {
    await this.#conn.execute(sql);
  }

  #wrap(err: unknown, loadId: string, job?: LoadJob, jobs = 1): unknown {
    return loadFailure(err, {
      loadId,
      job,
      jobs,
      transient: this.#driver.isTransient(err),
      hints: {
        transient:
          "the destination was busy or unreachable; ferry retries, and the next run completes this package",
        terminal:
          "fix the cause (see the message), then run again: the package is kept and nothing of it was committed",
      },
    });
  }
}

export type { Table };
