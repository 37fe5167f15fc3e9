import type { Column, DataType } from "../../../schema/types.js";
import { ConfigError } from "../../../util/errors.js";
import type { MaintenanceResult } from "../../destination.js";
import { duckdbDialect } from "../../duckdb/duckdb-dialect.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import type { AddFile, CommitInfo } from "./actions.js";
import { writeDataFiles } from "./data-files.js";
import type { DeltaField } from "./delta-schema.js";
import { type CommitPlan, type DeltaContext, type DeltaTable, removeOf } from "./delta-table.js";
import { listLog, readCommit } from "./snapshot.js";

const q = duckdbDialect.quoteIdent;
const lit = duckdbDialect.quoteLiteral;
/** Delta's default `deletedFileRetentionDuration`: vacuum keeps removed files this long unless forced. */
export const DEFAULT_RETENTION_HOURS = 168;
/** Delta's default `logRetentionDuration`: commits older than this (before a checkpoint) are cleaned up. */
const LOG_RETENTION_MS = 30 * 24 * 3600 * 1000;

const DELTA_TO_FERRY: Record<string, DataType> = {
  string: "text",
  long: "bigint",
  double: "double",
  boolean: "bool",
  timestamp: "timestamp",
  date: "date",
  binary: "binary",
};

/** A Delta field as a column for statistics (types without bounds count nulls only). */
function statColumn(f: DeltaField): Column {
  const t = typeof f.type === "string" ? f.type : "";
  const dec = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return { name: f.name, type: "decimal", precision: Number(dec[1]), scale: Number(dec[2]) };
  return { name: f.name, type: DELTA_TO_FERRY[t] ?? "json" };
}

const sum = (files: readonly AddFile[]) => files.reduce((n, f) => n + f.size, 0);

/**
 * Compacts a table's small files: every file smaller than `targetFileSize` is rewritten, together with the others,
 * into files of about that size, in one commit that changes no data (`dataChange: false`, operation OPTIMIZE).
 * Another writer's commit meanwhile is fine as long as it left those files alone; otherwise the compaction is
 * planned again on the new version.
 *
 * @example
 * const result = await optimizeTable(ctx, conn, table, { compression: "snappy", targetFileSize: 100 * 2 ** 20 });
 */
export async function optimizeTable(
  ctx: DeltaContext,
  conn: SqlConnection,
  table: DeltaTable,
  options: { compression: string; targetFileSize: number },
): Promise<MaintenanceResult> {
  let made: { inputs: AddFile[]; adds: AddFile[] } | undefined;
  const committed = await table.commit(undefined, async (snap): Promise<CommitPlan | undefined> => {
    snap.checkWritable(table.name, "append");
    if (made && !made.inputs.every((f) => snap.files.has(f.path))) {
      await ctx.store.delete(made.adds.map((a) => table.key(a.path))).catch(() => {});
      made = undefined;
    }
    if (!made) {
      const inputs = [...snap.files.values()].filter((f) => f.size < options.targetFileSize);
      if (inputs.length < 2) return undefined;
      const paths = await ctx.files.paths(inputs.map((f) => ({ key: table.key(f.path), bytes: f.size })));
      const list = paths.map(lit).join(", ");
      const present = new Set(
        (await conn.query(`SELECT DISTINCT name FROM parquet_schema([${list}])`)).map((r) => String(r.name)),
      );
      const columns = snap
        .fields()
        .filter((f) => present.has(f.name))
        .map(statColumn);
      const select = `SELECT ${columns.map((c) => q(c.name)).join(", ")} FROM read_parquet([${list}], union_by_name = true)`;
      const adds = await writeDataFiles(ctx, conn, table, select, columns, {
        ...options,
        label: "optimize",
        dataChange: false,
      });
      made = { inputs, adds };
    }
    const now = Date.now();
    return {
      actions: [...made.inputs.map((f) => removeOf(f, now, false)), ...made.adds.map((add) => ({ add }))],
      operation: "OPTIMIZE",
      parameters: { targetSize: options.targetFileSize, readVersion: snap.version },
    };
  });
  const snap = await table.snapshot();
  return {
    table: table.name,
    version: committed?.version ?? snap.version,
    filesRemoved: committed ? made!.inputs.length : 0,
    bytesRemoved: committed ? sum(made!.inputs) : 0,
    filesAdded: committed ? made!.adds.length : 0,
    bytesAdded: committed ? sum(made!.adds) : 0,
  };
}

/** Checks a vacuum's retention: below the default only with `force`. */
export function checkRetention(hours: number, force: boolean | undefined): void {
  if (!Number.isFinite(hours) || hours < 0)
    throw new ConfigError(`the retention must be a number of hours >= 0, got ${hours}`);
  if (hours < DEFAULT_RETENTION_HOURS && !force) {
    throw new ConfigError(
      `a vacuum retention of ${hours} hours is below the default of ${DEFAULT_RETENTION_HOURS}: readers of older versions and writers still running could lose files`,
      { hint: "pass force (--force) when no reader or writer can need them, or keep the default" },
    );
  }
}

/**
 * Deletes the data files a table no longer uses: files removed (tombstoned) longer ago than the retention, and files
 * no commit references (written by loads that failed or lost a race) older than the retention. Hidden folders
 * (`_delta_log`, `_change_data` ...) are left alone. Then cleans up the log: commits and checkpoints older than 30
 * days before a checkpoint that covers them.
 *
 * @example
 * await vacuumTable(ctx, table, { retentionHours: 168 });
 */
export async function vacuumTable(
  ctx: DeltaContext,
  table: DeltaTable,
  options: { retentionHours: number; dryRun?: boolean },
): Promise<MaintenanceResult> {
  const snap = await table.snapshot();
  snap.checkWritable(table.name, "append");
  const now = Date.now();
  const cutoff = now - options.retentionHours * 3600 * 1000;
  const live = new Set([...snap.files.keys()].map((p) => table.key(p)));
  const removedAt = new Map(
    [...snap.tombstones.values()].map((r) => [table.key(r.path), r.deletionTimestamp ?? 0]),
  );
  const prefix = `${table.root}/`;
  const doomed: Array<{ key: string; size: number }> = [];
  for (const o of await ctx.store.list(prefix)) {
    const rel = o.key.slice(prefix.length);
    if (rel.split("/").some((s) => s.startsWith("_") || s.startsWith("."))) continue;
    if (live.has(o.key)) continue;
    const when = removedAt.get(o.key) ?? o.modifiedAt;
    if (when !== undefined && when < cutoff) doomed.push(o);
  }
  if (!options.dryRun) {
    await ctx.store.delete(doomed.map((o) => o.key));
    await cleanLog(ctx, table, now - LOG_RETENTION_MS);
  }
  return {
    table: table.name,
    version: snap.version,
    filesRemoved: doomed.length,
    bytesRemoved: doomed.reduce((n, o) => n + o.size, 0),
    filesAdded: 0,
    bytesAdded: 0,
    ...(options.dryRun ? { dryRun: true } : {}),
  };
}

/**
 * The protocol's metadata cleanup: the newest checkpoint whose commit is older than `cutoff` is kept with everything
 * after it; commits and checkpoints before it go.
 */
async function cleanLog(ctx: DeltaContext, table: DeltaTable, cutoff: number): Promise<void> {
  const listing = await listLog(ctx.store, table.root);
  const versions = [...listing.checkpoints.keys()].sort((a, b) => b - a);
  for (const v of versions) {
    const actions = await readCommit(ctx.store, table.root, v);
    const info = actions?.find((a): a is { commitInfo: CommitInfo } => "commitInfo" in a)?.commitInfo;
    if (info?.timestamp === undefined || info.timestamp >= cutoff) continue;
    const old = [
      ...[...listing.commits].filter(([c]) => c < v).map(([, e]) => e.key),
      ...[...listing.checkpoints].filter(([c]) => c < v).flatMap(([, parts]) => parts.map((p) => p.key)),
    ];
    await ctx.store.delete(old);
    return;
  }
}
