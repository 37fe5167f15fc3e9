import type { PackageLoadRequest, StoredStateRecord } from "../../load/load-client.js";
import type { StoredSchema } from "../../schema/types.js";
import { SYSTEM_TABLES } from "../../schema/types.js";
import { DestinationError, errorMessage } from "../../util/errors.js";
import { uniqueId } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import type { DestinationCapabilities, DestinationClient, QueryRow } from "../destination.js";
import { loadFailure } from "../load-failure.js";
import type { ClickHouseConnection } from "./clickhouse-connection.js";
import { addColumnSql, createTableSql, systemTablesSql } from "./clickhouse-ddl.js";
import { isTransientClickHouseError, serverMessage } from "./clickhouse-errors.js";
import { qualified, quoteIdent, quoteString, TYPE_COMMENT_PREFIX } from "./clickhouse-types.js";
import { type DatasetCatalog, readCatalog } from "./dataset-catalog.js";
import { type LoadRun, loadAppend, loadMerge, loadReplace, removePartialLoad } from "./family-loads.js";
import { bindParams } from "./sql-params.js";
import { insertSystemRow } from "./system-rows.js";
import type { ColumnOverrides } from "./tsv-results.js";

/** What a ClickHouse client is made of (see `clickhouse()`). */
export interface ClickHouseClientParts {
  conn: ClickHouseConnection;
  /** Opens a connection whose default database is the dataset (for `sql()`). */
  openDataset: () => Promise<ClickHouseConnection>;
  capabilities: DestinationCapabilities;
  dataset: string;
  staging: string;
  batchRows: number;
  log: Logger;
}

/** Settings of `dataset().sql()` queries: LEFT JOINs give NULL for missing rows, as in standard SQL. */
const QUERY_SETTINGS = { join_use_nulls: 1 };

/**
 * Loads packages into a ClickHouse database (the dataset) and reads them back. ClickHouse has no transactions, so a
 * package commits in an order a crash cannot break: its rows first (appends directly, replace and merge through
 * staging tables), then its schema version and state, and its `_ferry_loads` row last. A load is complete when that
 * row exists; state and schema are restored from completed loads only. A package loaded again after an interrupted
 * attempt first removes the rows that attempt appended (see `removePartialLoad`), so every row is there once.
 *
 * @example
 * const client = await clickhouse({ url: "clickhouse://127.0.0.1:8123/default" }).connect({ dataset: "gh", pipelineName: "gh", logger });
 * await client.sql("select count() as n from issues");
 */
export class ClickHouseClient implements DestinationClient {
  readonly capabilities: DestinationCapabilities;
  readonly #p: ClickHouseClientParts;
  #datasetConn: Promise<ClickHouseConnection> | undefined;

  constructor(parts: ClickHouseClientParts) {
    this.#p = parts;
    this.capabilities = parts.capabilities;
  }

  get #conn(): ClickHouseConnection {
    return this.#p.conn;
  }

  #table(name: string): string {
    return qualified(this.#p.dataset, name);
  }

  async loadPackage(req: PackageLoadRequest): Promise<void> {
    // An earlier attempt whose last answer was lost may have completed: never load a package twice.
    if (req.resumed && (await this.isLoadCompleted(req.loadId))) {
      this.#p.log.info(`load ${req.loadId} was completed before its answer was lost; not loading it again`);
      return;
    }
    const run: LoadRun = {
      conn: this.#conn,
      dataset: this.#p.dataset,
      staging: this.#p.staging,
      catalog: await this.#migrate(req.schema).catch((err) => {
        throw this.#wrap(err, req.loadId);
      }),
      req,
      attemptId: `ferry-${req.loadId}-${uniqueId(8)}`,
      batchRows: this.#p.batchRows,
      log: this.#p.log,
    };
    try {
      if (req.resumed) await removePartialLoad(run, req.families);
      for (const family of req.families) {
        const disposition = family.root.writeDisposition ?? "append";
        if (disposition === "replace") await loadReplace(run, family);
        else if (disposition === "merge") await loadMerge(run, family);
        else await loadAppend(run, family);
      }
      await this.#writeSystemRows(req);
    } catch (err) {
      const wrapped = this.#wrap(err, req.loadId);
      // A failure no retry mends leaves nothing behind where it can be helped (the next attempt would remove it).
      if (!isTransientClickHouseError(err)) {
        await removePartialLoad(run, req.families).catch((e) =>
          this.#p.log.warn(`could not remove the rows of failed load ${req.loadId}: ${errorMessage(e)}`),
        );
      }
      throw wrapped;
    }
  }

  /** Creates the dataset, the system tables and the schema's tables and columns; returns what the dataset holds. */
  async #migrate(schema: StoredSchema): Promise<DatasetCatalog> {
    const f = this.#conn.features;
    for (const db of [this.#p.dataset, this.#p.staging])
      await this.#conn.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(db)}`);
    for (const sql of systemTablesSql(this.#p.dataset, f)) await this.#conn.command(sql);
    const before = await readCatalog(this.#conn, this.#p.dataset);
    let changed = false;
    for (const table of Object.values(schema.tables)) {
      const columns = Object.values(table.columns);
      if (columns.length === 0) continue;
      const have = before.columns.get(table.name);
      if (!have) {
        await this.#conn.command(createTableSql(this.#p.dataset, table, f));
        this.#p.log.debug(`created table ${table.name}`);
        changed = true;
        continue;
      }
      for (const c of columns) {
        if (have.has(c.name)) continue;
        await this.#conn.command(addColumnSql(this.#p.dataset, table.name, c, f));
        changed = true;
      }
    }
    return changed ? readCatalog(this.#conn, this.#p.dataset) : before;
  }

  /** Schema version (when new), state and, last, the `_ferry_loads` row: each written once, whatever was before. */
  async #writeSystemRows(req: PackageLoadRequest): Promise<void> {
    const now = new Date().toISOString();
    const has = async (table: string, where: string) =>
      (await this.#conn.query(`SELECT 1 AS x FROM ${this.#table(table)} WHERE ${where} LIMIT 1`)).length > 0;
    const s = req.schema;
    if (
      !(await has(
        SYSTEM_TABLES.version,
        `schema_name = ${quoteString(s.name)} AND version_hash = ${quoteString(s.versionHash)}`,
      ))
    ) {
      await insertSystemRow(this.#conn, this.#p.dataset, SYSTEM_TABLES.version, {
        version: s.version,
        engine_version: s.engineVersion,
        inserted_at: { timestamp: now },
        schema_name: s.name,
        version_hash: s.versionHash,
        schema: JSON.stringify(s),
      });
    }
    const ofLoad = `pipeline_name = ${quoteString(req.pipelineName)} AND _ferry_load_id = ${quoteString(req.loadId)}`;
    if (!(await has(SYSTEM_TABLES.state, ofLoad))) {
      await insertSystemRow(this.#conn, this.#p.dataset, SYSTEM_TABLES.state, {
        version: req.state.version,
        engine_version: 1,
        pipeline_name: req.pipelineName,
        state: req.state.json,
        created_at: { timestamp: now },
        version_hash: req.state.hash,
        _ferry_load_id: req.loadId,
      });
    }
    await insertSystemRow(this.#conn, this.#p.dataset, SYSTEM_TABLES.loads, {
      load_id: req.loadId,
      schema_name: s.name,
      status: 0,
      inserted_at: { timestamp: now },
      schema_version_hash: s.versionHash,
    });
  }

  async #hasTable(name: string): Promise<boolean> {
    return (await this.listTables()).includes(name);
  }

  async isLoadCompleted(loadId: string): Promise<boolean> {
    if (!(await this.#hasTable(SYSTEM_TABLES.loads))) return false;
    const rows = await this.#conn.query(
      `SELECT 1 AS x FROM ${this.#table(SYSTEM_TABLES.loads)} WHERE load_id = ${quoteString(loadId)} AND status = 0 LIMIT 1`,
    );
    return rows.length > 0;
  }

  /** The state of the pipeline's newest completed load. */
  async getStoredState(pipelineName: string): Promise<StoredStateRecord | undefined> {
    if (!(await this.#hasTable(SYSTEM_TABLES.state)) || !(await this.#hasTable(SYSTEM_TABLES.loads)))
      return undefined;
    const rows = await this.#conn.query(
      `SELECT state, version, _ferry_load_id AS load_id, toString(created_at) AS created_at FROM ${this.#table(SYSTEM_TABLES.state)} WHERE pipeline_name = ${quoteString(pipelineName)} AND _ferry_load_id IN (SELECT load_id FROM ${this.#table(SYSTEM_TABLES.loads)} WHERE status = 0) ORDER BY _ferry_load_id DESC, version DESC LIMIT 1`,
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

  /** The newest schema version a completed load used. */
  async getStoredSchema(schemaName: string): Promise<StoredSchema | undefined> {
    if (!(await this.#hasTable(SYSTEM_TABLES.version)) || !(await this.#hasTable(SYSTEM_TABLES.loads)))
      return undefined;
    const name = quoteString(schemaName);
    const rows = await this.#conn.query(
      `SELECT schema FROM ${this.#table(SYSTEM_TABLES.version)} WHERE schema_name = ${name} AND version_hash IN (SELECT assumeNotNull(schema_version_hash) FROM ${this.#table(SYSTEM_TABLES.loads)} WHERE status = 0 AND schema_name = ${name}) ORDER BY version DESC, inserted_at DESC LIMIT 1`,
    );
    const r = rows[0];
    return r ? (JSON.parse(String(r.schema)) as StoredSchema) : undefined;
  }

  /** Runs a query with the dataset as the default database; `$1`, `$2`, ... take `params` (see `bindParams`). */
  async sql(query: string, params: unknown[] = []): Promise<QueryRow[]> {
    const conn = (await this.#hasDataset()) ? await this.#dataset() : this.#conn;
    return conn.query(bindParams(query, params, conn.features), { settings: QUERY_SETTINGS });
  }

  async #hasDataset(): Promise<boolean> {
    if (this.#datasetConn) return true;
    const rows = await this.#conn.query(
      `SELECT 1 AS x FROM system.databases WHERE name = ${quoteString(this.#p.dataset)}`,
    );
    return rows.length > 0;
  }

  #dataset(): Promise<ClickHouseConnection> {
    if (!this.#datasetConn) {
      const opening = this.#p.openDataset();
      this.#datasetConn = opening;
      opening.catch(() => {
        if (this.#datasetConn === opening) this.#datasetConn = undefined;
      });
    }
    return this.#datasetConn;
  }

  /** Reads a table's rows; binary columns come back as bytes (and, before 21.12, bool columns as booleans). */
  async readTable(name: string, options: { limit?: number; orderBy?: string } = {}): Promise<QueryRow[]> {
    const tables = await this.listTables();
    if (!tables.includes(name)) {
      throw new DestinationError(`table "${name}" does not exist in dataset "${this.#p.dataset}"`, {
        fields: { table: name },
        hint: tables.length > 0 ? `tables: ${tables.join(", ")}` : "nothing was loaded yet",
      });
    }
    const overrides: ColumnOverrides = {};
    for (const c of await this.#conn.query(
      `SELECT name, comment FROM system.columns WHERE database = ${quoteString(this.#p.dataset)} AND table = ${quoteString(name)}`,
    )) {
      const type = String(c.comment).startsWith(TYPE_COMMENT_PREFIX)
        ? String(c.comment).slice(TYPE_COMMENT_PREFIX.length)
        : "";
      if (type === "binary" || type === "bool") overrides[String(c.name)] = type;
    }
    const order = options.orderBy ? ` ORDER BY ${quoteIdent(options.orderBy)}` : "";
    const limit = options.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(options.limit))}` : "";
    return this.#conn.query(`SELECT * FROM ${this.#table(name)}${order}${limit}`, { overrides });
  }

  async listTables(): Promise<string[]> {
    const rows = await this.#conn.query(
      `SELECT name FROM system.tables WHERE database = ${quoteString(this.#p.dataset)} ORDER BY name`,
    );
    return rows.map((r) => String(r.name));
  }

  async dropTables(names: string[]): Promise<void> {
    for (const n of names) await this.#conn.command(`DROP TABLE IF EXISTS ${this.#table(n)}`);
  }

  async close(): Promise<void> {
    const dataset = this.#datasetConn;
    this.#datasetConn = undefined;
    await Promise.all([this.#conn.close(), dataset?.then((c) => c.close()).catch(() => undefined)]);
  }

  #wrap(err: unknown, loadId: string): unknown {
    const transient = isTransientClickHouseError(err);
    const cause =
      err instanceof Error && !(err as { code?: unknown }).code
        ? new Error(serverMessage(err), { cause: err })
        : err;
    return loadFailure(cause, {
      loadId,
      transient,
      hints: {
        transient:
          "ClickHouse was busy or unreachable; ferry retries, and the next run completes this package (rows an interrupted attempt appended are removed first)",
        terminal:
          "fix the cause (see the message), then run again: the package is kept, and rows of it already appended are removed before it loads again",
      },
    });
  }
}
