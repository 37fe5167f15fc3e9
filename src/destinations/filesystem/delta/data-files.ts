import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Column } from "../../../schema/types.js";
import { uniqueId } from "../../../util/hash.js";
import { duckdbDialect } from "../../duckdb/duckdb-dialect.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import { eachLimited } from "../file-cache.js";
import type { AddFile } from "./actions.js";
import type { DeltaContext, DeltaTable } from "./delta-table.js";
import { fileStats } from "./stats.js";

/** How data files are written: Parquet compression and the size a file grows to before the next one starts. */
export interface DataFileOptions {
  compression: string;
  targetFileSize: number;
  /** Goes into file names (the load id), so a file tells which load wrote it. */
  label: string;
  /** `false` for files that only rearrange rows (optimize). */
  dataChange?: boolean;
}

const lit = duckdbDialect.quoteLiteral;

/**
 * Writes the rows of `select` as Parquet data files of a Delta table (`part-<label>-<uuid>.parquet`, never reused:
 * the protocol forbids overwriting a data file), computes each file's statistics and uploads it. Returns the add
 * actions, nothing for no rows. DuckDB splits the output at `targetFileSize`.
 *
 * @example
 * const adds = await writeDataFiles(ctx, conn, table, `SELECT ... FROM read_json(...)`, columns, options);
 */
export async function writeDataFiles(
  ctx: DeltaContext,
  conn: SqlConnection,
  table: DeltaTable,
  select: string,
  columns: readonly Column[],
  options: DataFileOptions,
): Promise<AddFile[]> {
  const dir = join(await ctx.tempDir(), `delta-${uniqueId()}`);
  await mkdir(dir, { recursive: true });
  try {
    const codec = options.compression === "none" ? "uncompressed" : options.compression;
    const label = options.label.replace(/[^\w.-]/g, "_");
    // Row groups of 50k rows keep the writer's buffers, and so memory, small (as for plain Parquet files).
    await conn.execute(
      `COPY (${select}) TO ${lit(dir)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 50000, ` +
        `FILE_SIZE_BYTES ${Math.max(1, Math.floor(options.targetFileSize))}, FILENAME_PATTERN ${lit(`part-${label}-{uuid}`)})`,
    );
    const names = (await readdir(dir)).filter((n) => n.endsWith(".parquet")).sort();
    const adds: Array<AddFile | undefined> = [];
    for (const [i, name] of names.entries()) {
      const path = join(dir, name);
      const { stats, rows } = await fileStats(conn, path, columns);
      if (rows === 0) continue;
      adds[i] = {
        path: name,
        partitionValues: {},
        size: (await stat(path)).size,
        modificationTime: Date.now(),
        dataChange: options.dataChange ?? true,
        stats,
      };
    }
    // Uploads overlap (a few at a time): remote stores are bound by round trips.
    await eachLimited(names, 4, async (name, i) => {
      if (adds[i]) await ctx.store.putFile(table.key(name), join(dir, name));
    });
    return adds.filter((a): a is AddFile => a !== undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
