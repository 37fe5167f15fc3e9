import { SEQ_FIELD } from "../../package/load-files.js";
import type { Column, Table } from "../../schema/types.js";
import { SYSTEM_COLUMNS } from "../../schema/types.js";
import { qualified, quoteIdent } from "./clickhouse-types.js";

/** A statement of a merge, or a delete (run as the server deletes best: see `deleteRows`). */
export type MergeStep = { sql: string } | { delete: { table: string; where: string } };

/**
 * What a merge needs: the family's tables, the database where their rows are staged (tables named by `staged`), and
 * the strategy.
 *
 * @example
 * mergeSteps({ dataset: "gh", staging: "gh_staging", staged: (t) => `${t}__ab12`, dedup: "_ferry_dedup__ab12", root, children, strategy: "delete-insert" })
 */
export interface MergeInput {
  dataset: string;
  staging: string;
  /** The staging table of a table (in `staging`). */
  staged: (table: string) => string;
  /** The table deduplicated root rows are kept in while the merge runs (in `staging`). */
  dedup: string;
  root: Table;
  children: Table[];
  strategy: "delete-insert" | "upsert";
}

const cols = (t: Table): Column[] => Object.values(t.columns);

/**
 * The steps of a merge in ClickHouse, without transactions and idempotent as a whole: rerun from the start after a
 * crash at any step, they end in the same rows. Staged root rows are deduplicated by primary key (latest, or by
 * `dedupSort`), then the rows whose key (or merge key) is staged are deleted from the child tables (through
 * `_ferry_root_id`) and the root table, and the deduplicated rows that are not hard deletes are inserted, root first,
 * then the children of exactly those rows. `upsert` keys by primary key only (its root ids derive from it).
 *
 * @example
 * for (const step of mergeSteps(input)) "sql" in step ? await conn.command(step.sql) : await deleteRows(...);
 */
export function mergeSteps(m: MergeInput): MergeStep[] {
  const { root } = m;
  const q = quoteIdent;
  const target = qualified(m.dataset, root.name);
  const staged = qualified(m.staging, m.staged(root.name));
  const dedup = qualified(m.staging, m.dedup);
  const columns = cols(root);
  const pk = columns.filter((c) => c.primaryKey).map((c) => q(c.name));
  const mk = m.strategy === "upsert" ? [] : columns.filter((c) => c.mergeKey).map((c) => q(c.name));
  const hard = columns.find((c) => c.hardDelete);
  const sort = columns.find((c) => c.dedupSort);
  const id = q(SYSTEM_COLUMNS.id);
  const seq = q(SEQ_FIELD);
  const deleted = hard
    ? hard.type === "bool"
      ? `ifNull(${q(hard.name)}, 0) = 1`
      : `${q(hard.name)} IS NOT NULL`
    : "0";
  const list = columns.map((c) => q(c.name)).join(", ");
  const steps: MergeStep[] = [];

  const order = `${sort ? `${q(sort.name)} ${sort.dedupSort === "asc" ? "ASC" : "DESC"} NULLS LAST, ` : ""}${seq} DESC`;
  steps.push({ sql: `DROP TABLE IF EXISTS ${dedup}` });
  steps.push({
    sql: `CREATE TABLE ${dedup} ENGINE = MergeTree() ORDER BY tuple() AS SELECT * FROM ${staged}${
      pk.length > 0 ? ` ORDER BY ${order} LIMIT 1 BY ${pk.join(", ")}` : ""
    }`,
  });

  const keyed = [
    ...(pk.length > 0 ? [`(${pk.join(", ")}) IN (SELECT ${pk.join(", ")} FROM ${dedup})`] : []),
    ...(mk.length > 0 ? [`(${mk.join(", ")}) IN (SELECT ${mk.join(", ")} FROM ${staged})`] : []),
  ].join(" OR ");
  const roots =
    m.strategy === "upsert" && pk.length > 0
      ? `SELECT ${id} FROM ${dedup}`
      : `SELECT ${id} FROM ${target} WHERE ${keyed}`;
  for (const child of m.children)
    steps.push({ delete: { table: child.name, where: `${q(SYSTEM_COLUMNS.rootId)} IN (${roots})` } });
  steps.push({ delete: { table: root.name, where: keyed } });
  steps.push({ sql: `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${dedup} WHERE NOT (${deleted})` });
  for (const child of m.children) {
    const cl = cols(child)
      .map((c) => q(c.name))
      .join(", ");
    steps.push({
      // Matching the root's sequence too: upsert duplicates of a key share their ids, only the winner's children load.
      sql: `INSERT INTO ${qualified(m.dataset, child.name)} (${cl}) SELECT ${cl} FROM ${qualified(m.staging, m.staged(child.name))} WHERE (${q(SYSTEM_COLUMNS.rootId)}, ${seq}) IN (SELECT ${id}, ${seq} FROM ${dedup} WHERE NOT (${deleted}))`,
    });
  }
  steps.push({ sql: `DROP TABLE ${dedup}` });
  return steps;
}
