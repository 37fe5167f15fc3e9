import { SEQ_FIELD } from "../../package/load-files.js";
import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_COLUMNS } from "../../schema/types.js";
import { qualified } from "./ddl.js";
import type { SqlDialect } from "./sql-dialect.js";

/**
 * Column the load files of merge root tables carry to keep the order rows arrived in ("latest wins").
 *
 * @example
 * const seq: Column = { name: SEQ_COLUMN, type: "bigint" }; // staged next to the table's own columns
 */
export const SEQ_COLUMN = SEQ_FIELD;

/**
 * Session temp table holding the deduplicated staged root rows while a merge runs (dropped at its end).
 *
 * @example
 * dialect.quoteIdent(DEDUP_TABLE) // '"_ferry_dedup"'
 */
export const DEDUP_TABLE = "_ferry_dedup";

/**
 * What a merge needs: the family's tables, where they are staged, and the strategy.
 *
 * @example
 * mergeStatements({ dialect, dataset: "gh", root, children, staging: plan.name, strategy: "upsert" })
 */
export interface MergeInput {
  dialect: SqlDialect;
  dataset: string;
  root: Table;
  children: Table[];
  /** Quoted (and qualified when needed) name of the staging table of a table. */
  staging: (table: string) => string;
  strategy: "delete-insert" | "upsert";
}

const cols = (t: Table): Column[] => Object.values(t.columns);

/**
 * SQL statements that merge staged rows into their tables, keeping child tables consistent through
 * `_ferry_root_id`: deduplicate by primary key (latest or `dedupSort` wins), honour `hardDelete`, and replace
 * whole partitions by `mergeKey`. Run them inside the package transaction. `upsert` follows the dialect's
 * `upsert` spelling (UPDATE then INSERT, `INSERT ... ON CONFLICT`, or `MERGE INTO`).
 *
 * @example
 * for (const sql of mergeStatements(input)) await conn.execute(sql);
 */
export function mergeStatements(m: MergeInput): string[] {
  const { dialect: d, root } = m;
  const q = (n: string) => d.quoteIdent(n);
  const target = qualified(d, m.dataset, root.name);
  const staged = m.staging(root.name);
  const dedup = q(DEDUP_TABLE);
  const columns = cols(root);
  const pk = columns.filter((c) => c.primaryKey).map((c) => c.name);
  const mk = columns.filter((c) => c.mergeKey).map((c) => c.name);
  const hard = columns.find((c) => c.hardDelete);
  const sort = columns.find((c) => c.dedupSort);
  const id = q(SYSTEM_COLUMNS.id);
  const rootId = q(SYSTEM_COLUMNS.rootId);
  const match = (keys: string[], a: string, b: string) =>
    keys.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(" AND ");
  const deleted = hard
    ? hard.type === "bool"
      ? `COALESCE(s.${q(hard.name)}, FALSE)`
      : `s.${q(hard.name)} IS NOT NULL`
    : "FALSE";
  const list = columns.map((c) => q(c.name)).join(", ");
  const sList = columns.map((c) => `s.${q(c.name)}`).join(", ");
  const out: string[] = [];

  const order = `${sort ? `${q(sort.name)} ${sort.dedupSort === "asc" ? "ASC" : "DESC"} NULLS LAST, ` : ""}${q(SEQ_COLUMN)} DESC`;
  const dedupSelect =
    pk.length > 0
      ? `SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${pk.map(q).join(", ")} ORDER BY ${order}) AS _ferry_rn FROM ${staged}) t WHERE _ferry_rn = 1`
      : `SELECT *, 1 AS _ferry_rn FROM ${staged}`;
  out.push(`CREATE TEMP TABLE ${dedup} AS ${dedupSelect}`);

  const keyed = (alias: string) => {
    const parts: string[] = [];
    if (pk.length > 0) parts.push(`EXISTS (SELECT 1 FROM ${dedup} s WHERE ${match(pk, "s", alias)})`);
    if (mk.length > 0) parts.push(`EXISTS (SELECT 1 FROM ${staged} s WHERE ${match(mk, "s", alias)})`);
    return parts.join(" OR ");
  };

  if (m.strategy === "upsert" && pk.length > 0) {
    for (const child of m.children) {
      out.push(
        `DELETE FROM ${qualified(d, m.dataset, child.name)} WHERE ${rootId} IN (SELECT ${id} FROM ${dedup})`,
      );
    }
    if (d.upsert === "merge") out.push(mergeInto(d, target, dedup, columns, pk, hard ? deleted : undefined));
    else {
      out.push(
        `DELETE FROM ${target} AS d WHERE EXISTS (SELECT 1 FROM ${dedup} s WHERE ${match(pk, "s", "d")} AND ${deleted})`,
      );
      out.push(...upsertRows(d, target, dedup, columns, pk, deleted));
    }
  } else {
    // delete-insert: remove every existing row (and its children) whose key or partition is in the load.
    for (const child of m.children) {
      out.push(
        `DELETE FROM ${qualified(d, m.dataset, child.name)} WHERE ${rootId} IN (SELECT d.${id} FROM ${target} d WHERE ${keyed("d")})`,
      );
    }
    out.push(`DELETE FROM ${target} AS d WHERE ${keyed("d")}`);
    out.push(`INSERT INTO ${target} (${list}) SELECT ${sList} FROM ${dedup} s WHERE NOT (${deleted})`);
  }
  for (const child of m.children) {
    const cl = cols(child)
      .map((c) => q(c.name))
      .join(", ");
    out.push(
      // Matching the root's sequence too: upsert duplicates of a key share their ids, only the winner's children load.
      `INSERT INTO ${qualified(d, m.dataset, child.name)} (${cl}) SELECT ${cl} FROM ${m.staging(child.name)} c WHERE EXISTS (SELECT 1 FROM ${dedup} s WHERE s.${id} = c.${rootId} AND s.${q(SEQ_COLUMN)} = c.${q(SEQ_COLUMN)} AND NOT (${deleted}))`,
    );
  }
  out.push(`DROP TABLE ${dedup}`);
  return out;
}

/**
 * An upsert as one `MERGE INTO`: rows marked deleted (`deleted`, when the table has a hard-delete column) are removed,
 * the others update their key's row or are inserted. The table is joined with the staged rows once, where UPDATE then
 * INSERT ... NOT EXISTS (and a DELETE for hard deletes) join it three times.
 */
function mergeInto(
  d: SqlDialect,
  target: string,
  dedup: string,
  columns: Column[],
  pk: string[],
  deleted: string | undefined,
): string {
  const q = (n: string) => d.quoteIdent(n);
  const list = columns.map((c) => q(c.name)).join(", ");
  const sList = columns.map((c) => `s.${q(c.name)}`).join(", ");
  const set = columns
    .filter((c) => !c.primaryKey)
    .map((c) => `${q(c.name)} = s.${q(c.name)}`)
    .join(", ");
  const on = pk.map((k) => `s.${q(k)} = d.${q(k)}`).join(" AND ");
  return [
    `MERGE INTO ${target} AS d USING ${dedup} AS s ON (${on})`,
    ...(deleted ? [`WHEN MATCHED AND ${deleted} THEN DELETE`] : []),
    ...(set ? [`WHEN MATCHED THEN UPDATE SET ${set}`] : []),
    `WHEN NOT MATCHED${deleted ? ` AND NOT (${deleted})` : ""} THEN INSERT (${list}) VALUES (${sList})`,
  ].join(" ");
}

/** The statements that write the deduplicated, not deleted rows of an upsert, in the dialect's spelling. */
function upsertRows(
  d: SqlDialect,
  target: string,
  dedup: string,
  columns: Column[],
  pk: string[],
  deleted: string,
): string[] {
  const q = (n: string) => d.quoteIdent(n);
  const list = columns.map((c) => q(c.name)).join(", ");
  const sList = columns.map((c) => `s.${q(c.name)}`).join(", ");
  const rest = columns.filter((c) => !c.primaryKey);
  const match = pk.map((k) => `s.${q(k)} = d.${q(k)}`).join(" AND ");
  if (d.upsert === "on-conflict") {
    // The unique index on the primary key (uniqueKeyIndexSql) is the conflict target.
    const set = rest.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(", ");
    return [
      `INSERT INTO ${target} (${list}) SELECT ${sList} FROM ${dedup} s WHERE NOT (${deleted}) ON CONFLICT (${pk.map(q).join(", ")}) DO ${set ? `UPDATE SET ${set}` : "NOTHING"}`,
    ];
  }
  const out: string[] = [];
  const set = rest.map((c) => `${q(c.name)} = s.${q(c.name)}`).join(", ");
  if (set) out.push(`UPDATE ${target} AS d SET ${set} FROM ${dedup} s WHERE ${match} AND NOT (${deleted})`);
  out.push(
    `INSERT INTO ${target} (${list}) SELECT ${sList} FROM ${dedup} s WHERE NOT (${deleted}) AND NOT EXISTS (SELECT 1 FROM ${target} d WHERE ${match})`,
  );
  return out;
}
