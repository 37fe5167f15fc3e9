import { setTimeout as sleep } from "node:timers/promises";
import { DestinationError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { ClickHouseConnection } from "./clickhouse-connection.js";
import { qualified, quoteString } from "./clickhouse-types.js";

/** How long between log lines while a mutation runs. */
const PROGRESS_EVERY_MS = 30_000;

/**
 * Deletes the rows of a table that match `where`, and returns once they are gone for every reader: a lightweight
 * `DELETE FROM` on servers that have it (23.3; rows are masked at once, space is freed by later merges), else an
 * `ALTER TABLE ... DELETE` mutation, waited for (it rewrites the table's parts that hold matching rows).
 *
 * @example
 * await deleteRows(conn, "gh", "issues", "`_ferry_load_id` = '1700000000000.ab12cd'", log);
 */
export async function deleteRows(
  conn: ClickHouseConnection,
  database: string,
  table: string,
  where: string,
  log: Logger,
): Promise<void> {
  const target = qualified(database, table);
  if (conn.features.lightweightDelete) {
    await conn.command(`DELETE FROM ${target} WHERE ${where}`, { settings: { mutations_sync: 1 } });
    return;
  }
  await conn.command(`ALTER TABLE ${target} DELETE WHERE ${where}`);
  await waitForMutations(conn, database, table, log);
}

/** Waits until no mutation of the table is pending; a mutation the server reports as failing is an error. */
async function waitForMutations(
  conn: ClickHouseConnection,
  database: string,
  table: string,
  log: Logger,
): Promise<void> {
  const started = Date.now();
  let logged = started;
  for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
    const pending = await conn.query(
      `SELECT * FROM system.mutations WHERE database = ${quoteString(database)} AND table = ${quoteString(table)} AND is_done = 0`,
    );
    if (pending.length === 0) return;
    const failed = pending.find(
      (m) => typeof m.latest_fail_reason === "string" && m.latest_fail_reason !== "",
    );
    if (failed) {
      throw new DestinationError(
        `deleting rows of ${database}.${table} failed on the server: ${String(failed.latest_fail_reason)}`,
        {
          fields: { table },
          hint: `see system.mutations (mutation ${String(failed.mutation_id)}); KILL MUTATION it before running again`,
        },
      );
    }
    if (Date.now() - logged >= PROGRESS_EVERY_MS) {
      logged = Date.now();
      log.info(
        `waiting for ClickHouse to delete rows of ${database}.${table} (${Math.round((logged - started) / 1000)} s, ${pending.length} mutation(s) pending)`,
      );
    }
    await sleep(delay);
  }
}
