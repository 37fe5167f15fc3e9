import type { LoadJob } from "../../../load/load-client.js";
import { SEQ_FIELD } from "../../../package/load-files.js";
import type { Column, MergeStrategy, Table } from "../../../schema/types.js";
import { SYSTEM_COLUMNS } from "../../../schema/types.js";
import { DestinationError } from "../../../util/errors.js";
import { uniqueId } from "../../../util/hash.js";
import { duckdbDialect } from "../../duckdb/duckdb-dialect.js";
import { readLoadFilesSql } from "../../duckdb/load-file-sql.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import type { Action, AddFile } from "./actions.js";
import { type DataFileOptions, writeDataFiles } from "./data-files.js";
import { deltaFileType, fromLoadFileExpr, nullFileExpr } from "./delta-schema.js";
import {
  type CommitPlan,
  type DeltaContext,
  type DeltaTable,
  removeOf,
  schemaActions,
} from "./delta-table.js";
import type { DeltaSnapshot } from "./snapshot.js";

const q = duckdbDialect.quoteIdent;
const lit = duckdbDialect.quoteLiteral;
const cols = (t: Table): Column[] => Object.values(t.columns);
const seqColumn: Column = { name: SEQ_FIELD, type: "bigint" };

/**
 * A merge of one table family into Delta tables, copy-on-write: the load's rows are staged in DuckDB and
 * deduplicated by primary key (latest, or `dedupSort`, wins); then only the data files that hold an affected key are
 * rewritten without those rows (found by the files' key statistics first, then by reading their key columns), and
 * the new rows are added, in one commit per table. Child tables follow through `_ferry_root_id`: their rows whose
 * root row was replaced or deleted go, the load's child rows come in. Strategies as in SQL destinations:
 * `delete-insert` matches by primary key and by `mergeKey` (whole partitions), `upsert` by primary key only;
 * `hardDelete` columns delete.
 *
 * @example
 * const merge = new FamilyMerge(ctx, conn, root, tables, "delete-insert", options);
 * await merge.stage(jobs, onStarted, onCompleted);
 * const committed = await rootTable.commit(info, (snap) => merge.planRoot(rootTable, snap));
 */
export class FamilyMerge {
  readonly #ctx: DeltaContext;
  readonly #conn: SqlConnection;
  readonly #root: Table;
  readonly #tables: Table[];
  readonly #strategy: MergeStrategy;
  readonly #options: DataFileOptions;
  readonly #id = uniqueId(8).replace(/[^\w]/g, "_");
  #created: string[] = [];

  constructor(
    ctx: DeltaContext,
    conn: SqlConnection,
    root: Table,
    tables: Table[],
    strategy: MergeStrategy,
    options: DataFileOptions,
  ) {
    this.#ctx = ctx;
    this.#conn = conn;
    this.#root = root;
    this.#tables = tables.filter((t) => Object.keys(t.columns).length > 0);
    this.#strategy = strategy;
    this.#options = options;
  }

  #name(kind: string, table?: string): string {
    const i = table === undefined ? "" : `_${this.#tables.findIndex((t) => t.name === table)}`;
    return q(`_ferry_${kind}_${this.#id}${i}`);
  }

  async #exec(sql: string): Promise<void> {
    await this.#conn.execute(sql);
  }

  async #temp(name: string, as: string): Promise<void> {
    await this.#exec(`CREATE OR REPLACE TEMP TABLE ${name} AS ${as}`);
    if (!this.#created.includes(name)) this.#created.push(name);
  }

  get #pk(): string[] {
    return cols(this.#root)
      .filter((c) => c.primaryKey)
      .map((c) => c.name);
  }

  get #mk(): string[] {
    return this.#strategy === "upsert"
      ? []
      : cols(this.#root)
          .filter((c) => c.mergeKey)
          .map((c) => c.name);
  }

  /** Loads the family's load files into staging tables (in data-file types), then dedups the root rows. */
  async stage(
    jobs: readonly LoadJob[],
    started: (job: LoadJob) => Promise<void>,
    completed: (job: LoadJob) => Promise<void>,
  ): Promise<void> {
    for (const t of this.#tables) {
      const all = [...cols(t), seqColumn];
      const defs = all.map((c) => `${q(c.name)} ${c === seqColumn ? "BIGINT" : deltaFileType(c)}`);
      const name = this.#name("stage", t.name);
      await this.#exec(`CREATE OR REPLACE TEMP TABLE ${name} (${defs.join(", ")})`);
      this.#created.push(name);
      for (const job of jobs.filter((j) => j.table === t.name)) {
        if (job.format !== "jsonl") {
          throw new DestinationError(`Delta tables cannot merge ${job.format} load files`, {
            hint: "the package was written for another destination",
          });
        }
        await started(job);
        const select = [...cols(t).map(fromLoadFileExpr), q(SEQ_FIELD)].join(", ");
        await this.#exec(
          `INSERT INTO ${name} SELECT ${select} FROM ${readLoadFilesSql(job.path, all, job.maxLineBytes)}`,
        );
        await completed(job);
      }
    }
    const staged = this.#name("stage", this.#root.name);
    const pk = this.#pk;
    const sort = cols(this.#root).find((c) => c.dedupSort);
    const order = `${sort ? `${q(sort.name)} ${sort.dedupSort === "asc" ? "ASC" : "DESC"} NULLS LAST, ` : ""}${q(SEQ_FIELD)} DESC`;
    await this.#temp(
      this.#name("dedup"),
      pk.length > 0
        ? `SELECT * EXCLUDE (_ferry_rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${pk.map(q).join(", ")} ORDER BY ${order}) AS _ferry_rn FROM ${staged}) t WHERE _ferry_rn = 1`
        : `SELECT * FROM ${staged}`,
    );
    if (pk.length > 0)
      await this.#temp(
        this.#name("keys_pk"),
        `SELECT DISTINCT ${pk.map(q).join(", ")} FROM ${this.#name("dedup")}`,
      );
    const mk = this.#mk;
    if (mk.length > 0)
      await this.#temp(this.#name("keys_mk"), `SELECT DISTINCT ${mk.map(q).join(", ")} FROM ${staged}`);
  }

  /** True for a staged row that deletes its key (`hardDelete`). */
  #deleted(alias: string): string {
    const hard = cols(this.#root).find((c) => c.hardDelete);
    if (!hard) return "FALSE";
    return hard.type === "bool"
      ? `COALESCE(${alias}.${q(hard.name)}, FALSE)`
      : `${alias}.${q(hard.name)} IS NOT NULL`;
  }

  /** True for a target row whose key the load replaces (by primary key, or by merge key partition). */
  #matches(alias: string, present: ReadonlySet<string>): string {
    const parts: string[] = [];
    const keyed = (keys: string[], table: string) => {
      if (keys.length === 0 || !keys.every((k) => present.has(k))) return;
      parts.push(
        `EXISTS (SELECT 1 FROM ${table} k WHERE ${keys.map((k) => `k.${q(k)} = ${alias}.${q(k)}`).join(" AND ")})`,
      );
    };
    keyed(this.#pk, this.#name("keys_pk"));
    keyed(this.#mk, this.#name("keys_mk"));
    return parts.length > 0 ? `(${parts.join(" OR ")})` : "FALSE";
  }

  /** Column names the given Parquet files have (any of them). */
  async #present(paths: readonly string[]): Promise<Set<string>> {
    const rows = await this.#conn.query(
      `SELECT DISTINCT name FROM parquet_schema([${paths.map(lit).join(", ")}])`,
    );
    return new Set(rows.map((r) => String(r.name)));
  }

  /** Local copies of live files (read in place on local disk). */
  #paths(table: DeltaTable, files: readonly AddFile[]): Promise<string[]> {
    return this.#ctx.files.paths(files.map((f) => ({ key: table.key(f.path), bytes: f.size })));
  }

  /**
   * The root files that may hold a key of the load, by their statistics: the first primary key (and merge key)
   * column's bounds against the range of the load's keys. Files without bounds for it are candidates.
   */
  async #candidates(files: AddFile[]): Promise<AddFile[]> {
    const sets: Array<{ column: Column; table: string }> = [];
    const rootCols = cols(this.#root);
    const first = (keys: string[]) => rootCols.find((c) => c.name === keys[0]);
    const pkCol = first(this.#pk);
    const mkCol = first(this.#mk);
    if (pkCol) sets.push({ column: pkCol, table: this.#name("keys_pk") });
    if (mkCol) sets.push({ column: mkCol, table: this.#name("keys_mk") });
    const prunable = (c: Column) =>
      ["bigint", "decimal", "double", "text", "date", "timestamp"].includes(c.type);
    if (sets.length === 0 || !sets.every((s) => prunable(s.column)) || files.length === 0) return files;
    const keep = new Set<number>();
    for (const { column, table } of sets) {
      const type = deltaFileType(column);
      const name = q(column.name);
      const values = files.map((f, i) => {
        const stats = f.stats ? (JSON.parse(f.stats) as Record<string, Record<string, unknown>>) : {};
        const lo = stats.minValues?.[column.name];
        const hi = stats.maxValues?.[column.name];
        const text = (v: unknown) => (v === undefined || v === null ? "NULL" : lit(String(v)));
        return `(${i}, ${text(lo)}, ${text(hi)})`;
      });
      // Timestamp bounds are cut to milliseconds: the upper one reaches to the next millisecond.
      const hi =
        column.type === "timestamp"
          ? `CAST(f.hi AS ${type}) + INTERVAL 1 MILLISECOND`
          : `CAST(f.hi AS ${type})`;
      const rows = await this.#conn.query(
        `WITH k AS (SELECT min(${name}) AS lo, max(${name}) AS hi FROM ${table}) ` +
          `SELECT f.i FROM (VALUES ${values.join(", ")}) f(i, lo, hi), k ` +
          `WHERE f.lo IS NULL OR f.hi IS NULL OR (k.lo IS NOT NULL AND CAST(f.lo AS ${type}) <= k.hi AND ${hi} >= k.lo)`,
      );
      for (const r of rows) keep.add(Number(r.i));
    }
    return files.filter((_, i) => keep.has(i));
  }

  /** Which of these files hold a row matching `predicate` (over alias `d`), reading only what it needs. */
  async #holding(
    table: DeltaTable,
    files: AddFile[],
    predicate: (present: Set<string>) => string,
  ): Promise<{ affected: AddFile[]; paths: Map<string, string>; present: Set<string> }> {
    if (files.length === 0) return { affected: [], paths: new Map(), present: new Set() };
    const local = await this.#paths(table, files);
    const present = await this.#present(local);
    const where = predicate(present);
    const byPath = new Map(local.map((p, i) => [p, files[i]!]));
    const rows =
      where === "FALSE"
        ? []
        : await this.#conn.query(
            `SELECT DISTINCT filename FROM read_parquet([${local.map(lit).join(", ")}], filename = true, union_by_name = true) d WHERE ${where}`,
          );
    const affected = rows.map((r) => byPath.get(String(r.filename))).filter((f): f is AddFile => !!f);
    const paths = new Map(affected.map((f) => [f.path, local[files.indexOf(f)]!]));
    return { affected, paths, present };
  }

  /** The rows of `files` that stay, in the table's columns (NULL where a file predates a column). */
  #survivors(columns: Column[], paths: string[], present: Set<string>, drop: string): string {
    const exprs = columns.map((c) => (present.has(c.name) ? `d.${q(c.name)}` : nullFileExpr(c)));
    return `SELECT ${exprs.join(", ")} FROM read_parquet([${paths.map(lit).join(", ")}], union_by_name = true) d WHERE NOT ${drop}`;
  }

  async #write(table: DeltaTable, select: string, columns: Column[]): Promise<AddFile[]> {
    return writeDataFiles(this.#ctx, this.#conn, table, select, columns, this.#options);
  }

  #plan(
    table: DeltaTable,
    snap: DeltaSnapshot,
    schema: Action[],
    removed: AddFile[],
    adds: AddFile[],
  ): CommitPlan | undefined {
    if (schema.length === 0 && removed.length === 0 && adds.length === 0) return undefined;
    const now = Date.now();
    return {
      actions: [...schema, ...removed.map((f) => removeOf(f, now)), ...adds.map((add) => ({ add }))],
      operation: "MERGE",
      parameters: {
        strategy: this.#strategy,
        primaryKey: this.#pk,
        ...(this.#mk.length > 0 ? { mergeKey: this.#mk } : {}),
        readVersion: snap.version,
      },
      discardOnConflict: adds.map((a) => table.key(a.path)),
    };
  }

  /** The root table's commit on `snap`: rewritten files holding the load's keys, and the load's rows. */
  async planRoot(table: DeltaTable, snap: DeltaSnapshot): Promise<CommitPlan | undefined> {
    snap.checkWritable(table.name, "rewrite");
    const columns = cols(this.#root);
    const schema = schemaActions(snap, columns, table.name);
    const candidates = await this.#candidates([...snap.files.values()]);
    const { affected, paths, present } = await this.#holding(table, candidates, (p) => this.#matches("d", p));
    const dedup = this.#name("dedup");
    const inserted = `SELECT ${columns.map((c) => `s.${q(c.name)}`).join(", ")} FROM ${dedup} s WHERE NOT ${this.#deleted("s")}`;
    const select =
      affected.length > 0
        ? `${this.#survivors(columns, [...paths.values()], present, this.#matches("d", present))} UNION ALL ${inserted}`
        : inserted;
    return this.#plan(table, snap, schema, affected, await this.#write(table, select, columns));
  }

  /**
   * After the root's commit: the ids of root rows whose children go (rows the commit removed for the load's keys,
   * and the load's own rows: upsert keeps the ids of its keys). Works from the commit's actions, so also for a commit
   * found in the log after a crash.
   */
  async rootIdsGone(table: DeltaTable, committed: readonly Action[]): Promise<void> {
    const removed = committed.flatMap((a) => ("remove" in a && a.remove ? [a.remove] : []));
    const id = q(SYSTEM_COLUMNS.id);
    const own = `SELECT ${id} FROM ${this.#name("dedup")}`;
    if (removed.length === 0) {
      await this.#temp(this.#name("gone"), own);
      return;
    }
    const local = await this.#ctx.files.paths(
      removed.map((r) => ({ key: table.key(r.path), ...(r.size ? { bytes: r.size } : {}) })),
    );
    const present = await this.#present(local);
    // Rows other writers wrote have no ferry id, and so no child rows.
    if (!present.has(SYSTEM_COLUMNS.id)) {
      await this.#temp(this.#name("gone"), own);
      return;
    }
    await this.#temp(
      this.#name("gone"),
      `SELECT d.${id} FROM read_parquet([${local.map(lit).join(", ")}], union_by_name = true) d WHERE ${this.#matches("d", present)} UNION ${own}`,
    );
  }

  /** A child table's commit on `snap`: files holding rows of gone roots rewritten, the load's child rows added. */
  async planChild(child: Table, table: DeltaTable, snap: DeltaSnapshot): Promise<CommitPlan | undefined> {
    snap.checkWritable(table.name, "rewrite");
    const columns = cols(child);
    const schema = schemaActions(snap, columns, table.name);
    const rootId = q(SYSTEM_COLUMNS.rootId);
    const gone = this.#name("gone");
    const orphan = `EXISTS (SELECT 1 FROM ${gone} g WHERE g.${q(SYSTEM_COLUMNS.id)} = d.${rootId})`;
    const { affected, paths, present } = await this.#holding(table, [...snap.files.values()], (p) =>
      p.has(SYSTEM_COLUMNS.rootId) ? orphan : "FALSE",
    );
    const dedup = this.#name("dedup");
    const id = q(SYSTEM_COLUMNS.id);
    const seq = q(SEQ_FIELD);
    // Matching the root's sequence too: upsert duplicates of a key share their ids, only the winner's children load.
    const inserted =
      `SELECT ${columns.map((c) => `c.${q(c.name)}`).join(", ")} FROM ${this.#name("stage", child.name)} c ` +
      `WHERE EXISTS (SELECT 1 FROM ${dedup} s WHERE s.${id} = c.${rootId} AND s.${seq} = c.${seq} AND NOT ${this.#deleted("s")})`;
    const select =
      affected.length > 0
        ? `${this.#survivors(columns, [...paths.values()], present, orphan)} UNION ALL ${inserted}`
        : inserted;
    return this.#plan(table, snap, schema, affected, await this.#write(table, select, columns));
  }

  /** Drops the staging tables. */
  async dispose(): Promise<void> {
    for (const name of this.#created.splice(0))
      await this.#exec(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
  }
}
