import { setTimeout as sleep } from "node:timers/promises";
import type { LoadJob, PackageLoadRequest, TableFamilyLoad } from "../../load/load-client.js";
import { SEQ_FIELD } from "../../package/load-files.js";
import { shortenIdentifier } from "../../schema/naming.js";
import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_COLUMNS } from "../../schema/types.js";
import { DestinationError } from "../../util/errors.js";
import { shortHash } from "../../util/hash.js";
import type { Logger } from "../../util/log.js";
import type { ClickHouseConnection } from "./clickhouse-connection.js";
import { createTableSql } from "./clickhouse-ddl.js";
import { qualified, quoteIdent, quoteString } from "./clickhouse-types.js";
import type { DatasetCatalog } from "./dataset-catalog.js";
import { deleteRows } from "./delete-rows.js";
import { insertLoadFile } from "./insert-batches.js";
import { mergeSteps } from "./merge-steps.js";

/** ClickHouse keeps each name in file names, escaped (up to 3 bytes per byte): 64 bytes stay well within 255. */
export const CLICKHOUSE_MAX_IDENTIFIER = 64;

/** One load attempt of a package: where it writes and what it knows of the dataset. */
export interface LoadRun {
  conn: ClickHouseConnection;
  dataset: string;
  /** The database staging tables of replace and merge live in. */
  staging: string;
  catalog: DatasetCatalog;
  req: PackageLoadRequest;
  /** `ferry-<load id>-<random>`: query ids and insert deduplication tokens of this attempt start with it. */
  attemptId: string;
  batchRows: number;
  log: Logger;
}

/** Names of a load's staging tables: fixed per package, so a retry replaces what a crashed attempt left. */
export function stagingNames(loadId: string) {
  const tag = shortHash(loadId, 8);
  const name = (s: string) => shortenIdentifier(s, CLICKHOUSE_MAX_IDENTIFIER);
  return {
    staged: (table: string) => name(`${table}__${tag}`),
    old: (table: string) => name(`${table}__${tag}_old`),
    dedup: name(`_ferry_dedup__${tag}`),
  };
}

const columnsOf = (t: Table): Column[] => Object.values(t.columns);
const seqColumn: Column = { name: SEQ_FIELD, type: "bigint" };

/** Loads jobs of one table into `database`.`name` (with `extra` columns the files carry), one job at a time. */
async function runJobs(
  run: LoadRun,
  jobs: LoadJob[],
  table: Table,
  database: string,
  name: string,
  o: { extra?: Column[]; deduplicates: boolean },
): Promise<void> {
  for (const job of jobs) {
    await run.req.onJobStarted(job);
    if (job.format !== "jsonl") {
      throw new DestinationError(`this destination cannot load ${job.format} load files`, {
        fields: { loadId: run.req.loadId, table: job.table },
        hint: "it loads jsonl; the package was written for another destination",
      });
    }
    const rows = await insertLoadFile({
      conn: run.conn,
      target: qualified(database, name),
      table: table.name,
      columns: [...columnsOf(table), ...(o.extra ?? [])],
      path: job.path,
      job: job.id,
      batchRows: run.batchRows,
      attemptId: run.attemptId,
      deduplicates: run.conn.features.insertDeduplication && o.deduplicates,
      log: run.log,
    });
    run.log.debug(`loaded ${rows} rows of ${table.name} from ${job.id}`);
    await run.req.onJobCompleted(job);
  }
}

const jobsOf = (family: TableFamilyLoad, table: string) => family.jobs.filter((j) => j.table === table);
const withColumns = (family: TableFamilyLoad) =>
  family.tables.filter((t) => Object.keys(t.columns).length > 0);

/** Append: each table's files straight into it, parents before children (a cleanup after a crash relies on it). */
export async function loadAppend(run: LoadRun, family: TableFamilyLoad): Promise<void> {
  for (const t of withColumns(family)) {
    const deduplicates = run.catalog.deduplicating.has(t.name);
    await runJobs(run, jobsOf(family, t.name), t, run.dataset, t.name, { deduplicates });
  }
}

/**
 * Replace: the family's new rows go into staging copies of its tables (same engine and keys), then each table is
 * swapped with its copy: `EXCHANGE TABLES` (atomic, Atomic databases), else one `RENAME` of both. Readers see the old
 * rows until the swap. Rerun after a crash, it builds the copies again and swaps again.
 */
export async function loadReplace(run: LoadRun, family: TableFamilyLoad): Promise<void> {
  const names = stagingNames(run.req.loadId);
  const tables = withColumns(family);
  for (const t of tables) {
    await run.conn.command(`DROP TABLE IF EXISTS ${qualified(run.staging, names.staged(t.name))}`);
    await run.conn.command(`DROP TABLE IF EXISTS ${qualified(run.staging, names.old(t.name))}`);
    await run.conn.command(
      `CREATE TABLE ${qualified(run.staging, names.staged(t.name))} AS ${qualified(run.dataset, t.name)}`,
    );
  }
  for (const t of tables) {
    // The copy has the settings of its table: it keeps deduplication tokens when the table does.
    const deduplicates = run.catalog.deduplicating.has(t.name);
    await runJobs(run, jobsOf(family, t.name), t, run.staging, names.staged(t.name), { deduplicates });
  }
  const exchange = run.conn.features.exchangeTables && run.catalog.atomic;
  for (const t of tables) {
    const target = qualified(run.dataset, t.name);
    const staged = qualified(run.staging, names.staged(t.name));
    if (exchange) {
      await run.conn.command(`EXCHANGE TABLES ${target} AND ${staged}`);
      await run.conn.command(`DROP TABLE ${staged}`);
    } else {
      const old = qualified(run.staging, names.old(t.name));
      await run.conn.command(`RENAME TABLE ${target} TO ${old}, ${staged} TO ${target}`);
      await run.conn.command(`DROP TABLE ${old}`);
    }
  }
}

/**
 * Merge (delete-insert, also for `upsert`): the family's rows are staged with their arrival order, then merged by
 * `mergeSteps` (deletes by key, inserts of the deduplicated rows). Every step can run again after a crash.
 */
export async function loadMerge(run: LoadRun, family: TableFamilyLoad): Promise<void> {
  if (family.jobs.length === 0) return;
  const names = stagingNames(run.req.loadId);
  const tables = withColumns(family);
  for (const t of tables) {
    await run.conn.command(`DROP TABLE IF EXISTS ${qualified(run.staging, names.staged(t.name))}`);
    const columns = Object.fromEntries([...columnsOf(t), seqColumn].map((c) => [c.name, c]));
    await run.conn.command(
      createTableSql(run.staging, { name: names.staged(t.name), columns }, run.conn.features),
    );
  }
  for (const t of tables) {
    await runJobs(run, jobsOf(family, t.name), t, run.staging, names.staged(t.name), {
      extra: [seqColumn],
      deduplicates: true,
    });
  }
  const steps = mergeSteps({
    dataset: run.dataset,
    staging: run.staging,
    staged: names.staged,
    dedup: names.dedup,
    root: family.root,
    children: tables.filter((t) => t !== family.root),
    strategy: family.root.mergeStrategy ?? "delete-insert",
  });
  for (const step of steps) {
    if ("sql" in step) await run.conn.command(step.sql, { settings: { insert_deduplicate: 0 } });
    else await deleteRows(run.conn, run.dataset, step.delete.table, step.delete.where, run.log);
  }
  for (const t of tables)
    await run.conn.command(`DROP TABLE ${qualified(run.staging, names.staged(t.name))}`);
}

/** How long to wait for statements of an earlier attempt that the server still runs before stopping them. */
const IN_FLIGHT_WAIT_MS = 30_000;

/**
 * Before a package is loaded again (an earlier attempt started, maybe in a process that was killed): waits until the
 * server runs no statement of an earlier attempt any more (an insert whose body it had received completes even when
 * the client is gone; after 30 s they are stopped), then deletes what earlier attempts appended: root rows by
 * `_ferry_load_id`, child rows through their parents, deepest first. Replace and merge need nothing: they start over.
 */
export async function removePartialLoad(run: LoadRun, families: TableFamilyLoad[]): Promise<void> {
  const prefix = quoteString(`ferry-${run.req.loadId}-%`);
  const mine = quoteString(`${run.attemptId}%`);
  const running = `SELECT count() AS n FROM system.processes WHERE query_id LIKE ${prefix} AND query_id NOT LIKE ${mine}`;
  const started = Date.now();
  for (
    let delay = 20;
    Number((await run.conn.query(running))[0]?.n ?? 0) > 0;
    delay = Math.min(delay * 2, 500)
  ) {
    if (Date.now() - started > IN_FLIGHT_WAIT_MS) {
      run.log.warn(`statements of an earlier attempt of load ${run.req.loadId} still run; stopping them`);
      await run.conn.command(`KILL QUERY WHERE query_id LIKE ${prefix} AND query_id NOT LIKE ${mine} SYNC`);
      break;
    }
    await sleep(delay);
  }
  const q = quoteIdent;
  for (const family of families) {
    if ((family.root.writeDisposition ?? "append") !== "append") continue;
    const root = family.root.name;
    if (!run.catalog.columns.get(root)?.has(SYSTEM_COLUMNS.loadId)) continue;
    const ofLoad = `${q(SYSTEM_COLUMNS.loadId)} = ${quoteString(run.req.loadId)}`;
    const [found] = await run.conn.query(
      `SELECT count() AS n FROM ${qualified(run.dataset, root)} WHERE ${ofLoad}`,
    );
    if (Number(found?.n ?? 0) === 0) continue;
    run.log.info(
      `removing ${found?.n} row(s) of ${root} (and their child rows) an interrupted load ${run.req.loadId} left`,
    );
    // The rows of a table that belong to the load: a root's by load id, a child's through its parent's.
    const tables = new Map(family.tables.map((t) => [t.name, t]));
    const idsOf = (name: string): string => {
      const t = tables.get(name) as Table;
      if (t.parent === undefined || !tables.has(t.parent))
        return `SELECT ${q(SYSTEM_COLUMNS.id)} FROM ${qualified(run.dataset, name)} WHERE ${ofLoad}`;
      return `SELECT ${q(SYSTEM_COLUMNS.id)} FROM ${qualified(run.dataset, name)} WHERE ${q(SYSTEM_COLUMNS.parentId)} IN (${idsOf(t.parent)})`;
    };
    const depth = (t: Table): number =>
      t.parent && tables.has(t.parent) ? 1 + depth(tables.get(t.parent) as Table) : 0;
    const children = family.tables
      .filter((t) => t !== family.root && run.catalog.columns.has(t.name))
      .sort((a, b) => depth(b) - depth(a));
    for (const child of children) {
      await deleteRows(
        run.conn,
        run.dataset,
        child.name,
        `${q(SYSTEM_COLUMNS.parentId)} IN (${idsOf(child.parent as string)})`,
        run.log,
      );
    }
    await deleteRows(run.conn, run.dataset, root, ofLoad, run.log);
  }
}
