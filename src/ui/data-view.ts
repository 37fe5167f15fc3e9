import type { DestinationClient, QueryRow } from "../destinations/destination.js";
import { LocalStateStore } from "../pipeline/local-state.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { StoredSchema, Table } from "../schema/types.js";
import { FerryError } from "../util/errors.js";
import { silentLogger } from "../util/log.js";
import { checkReadOnly } from "./read-only-sql.js";

/** One step of the schema's history: what a version added or changed compared with the one before. */
export interface SchemaVersionDiff {
  version: number;
  hash: string;
  insertedAt?: string;
  addedTables: string[];
  addedColumns: { table: string; column: string; type: string }[];
  changedColumns: { table: string; column: string; from: string; to: string }[];
  removedTables: string[];
}

/** The schema page: the current schema and its history (newest first). */
export interface SchemaView {
  schema: StoredSchema;
  history: SchemaVersionDiff[];
  /** Why the history is missing or partial, in words. */
  historyNote?: string;
}

/** The schema's tables as a tree: root tables, each with its child tables. */
export interface TableNode {
  table: Table;
  children: TableNode[];
}

/** Builds the child-table tree of a schema (system tables left out). */
export function tableTree(schema: StoredSchema): TableNode[] {
  const tables = Object.values(schema.tables).filter((t) => !t.name.startsWith("_ferry_"));
  const node = (t: Table): TableNode => ({
    table: t,
    children: tables.filter((c) => c.parent === t.name).map(node),
  });
  return tables.filter((t) => !t.parent).map(node);
}

/** What changed from `before` (undefined: nothing) to `after`. */
export function diffSchemas(
  before: StoredSchema | undefined,
  after: StoredSchema,
): Omit<SchemaVersionDiff, "version" | "hash"> {
  const old = before?.tables ?? {};
  const out: Omit<SchemaVersionDiff, "version" | "hash"> = {
    addedTables: [],
    addedColumns: [],
    changedColumns: [],
    removedTables: Object.keys(old).filter((t) => !(t in after.tables)),
  };
  for (const [name, t] of Object.entries(after.tables)) {
    const prev = old[name];
    if (!prev) out.addedTables.push(name);
    for (const [col, c] of Object.entries(t.columns)) {
      const was = prev?.columns[col];
      if (!was) out.addedColumns.push({ table: name, column: col, type: c.type });
      else if (was.type !== c.type)
        out.changedColumns.push({ table: name, column: col, from: was.type, to: c.type });
    }
  }
  return out;
}

/** The pipeline's default schema and its version history from the destination's `_ferry_version` table. */
export async function schemaView(p: Pipeline): Promise<SchemaView | undefined> {
  const name = p.state?.defaultSchema;
  const schema = name ? await new LocalStateStore(p.dir).readSchema(name) : undefined;
  if (!schema || !name) return undefined;
  let versions: { schema: StoredSchema; insertedAt?: string }[] = [];
  let historyNote: string | undefined;
  try {
    versions = await withClient(p, async (c) => {
      if (!c.capabilities.supportsSql) throw new FerryError("the destination cannot run SQL");
      const tables = await c.listTables();
      if (!tables.includes("_ferry_version")) return [];
      const rows = await c.sql(
        "SELECT version, CAST(inserted_at AS VARCHAR) AS inserted_at, schema FROM _ferry_version WHERE schema_name = $1 ORDER BY version",
        [name],
      );
      return rows.map((r) => ({
        schema: JSON.parse(String(r.schema)) as StoredSchema,
        insertedAt: String(r.inserted_at),
      }));
    });
  } catch (err) {
    historyNote = `the version history could not be read from the destination: ${(err as Error).message}`;
  }
  if (versions.length === 0) {
    versions = [{ schema }];
    historyNote ??= "the destination holds no earlier versions: only the current one is shown";
  }
  const history: SchemaVersionDiff[] = versions.map((v, i) => ({
    version: v.schema.version,
    hash: v.schema.versionHash,
    ...(v.insertedAt ? { insertedAt: v.insertedAt } : {}),
    ...diffSchemas(versions[i - 1]?.schema, v.schema),
  }));
  return { schema, history: history.reverse(), ...(historyNote ? { historyNote } : {}) };
}

/** The first `limit` rows of a table of the pipeline's dataset. */
export function firstRows(p: Pipeline, table: string, limit: number): Promise<QueryRow[]> {
  return p.dataset().table(table, { limit });
}

/** Tables in the pipeline's dataset (system tables included). */
export function datasetTables(p: Pipeline): Promise<string[]> {
  return p.dataset().tables();
}

/**
 * Runs one reading statement against the pipeline's destination. Two guards: the statement check refuses anything
 * but one reading statement, and the statement runs inside a read-only transaction (rolled back) where the
 * destination has transactions, so a write the check missed is refused by the database itself.
 */
export async function readOnlyQuery(
  p: Pipeline,
  sql: string,
  maxRows = 1000,
): Promise<{ rows: QueryRow[]; truncated: boolean }> {
  const first = checkReadOnly(sql);
  // Queries are capped in the database (not after reading everything): SHOW and DESCRIBE cannot be wrapped.
  const query = ["select", "with", "values", "from", "table"].includes(first)
    ? `SELECT * FROM (${sql.replace(/;\s*$/, "")}\n) AS _ferry_query LIMIT ${maxRows + 1}`
    : sql;
  return withClient(p, async (c) => {
    if (!c.capabilities.supportsSql)
      throw new FerryError("this destination cannot run SQL", { hint: "use the table view instead" });
    let rows: QueryRow[];
    if (c.capabilities.supportsTransactions) {
      // The first query selects the dataset as the default schema: done before the transaction starts.
      await c.sql("SELECT 1 AS ok");
      await c.sql("START TRANSACTION READ ONLY");
      try {
        rows = await c.sql(query).catch(failed);
      } finally {
        await c.sql("ROLLBACK").catch(() => undefined);
      }
    } else rows = await c.sql(query).catch(failed);
    return { rows: rows.slice(0, maxRows), truncated: rows.length > maxRows };
  });
}

/** A query the database refused: the user's mistake to fix (a 400 with the database's message), not ours. */
function failed(err: unknown): never {
  if (err instanceof FerryError) throw err;
  throw new FerryError(`the query failed: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

async function withClient<T>(p: Pipeline, fn: (c: DestinationClient) => Promise<T>): Promise<T> {
  const client = await (await p.destination()).connect({
    dataset: p.datasetName,
    pipelineName: p.name,
    logger: silentLogger,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
