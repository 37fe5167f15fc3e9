import { createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ObjectStore } from "../../../storage/object-store.js";
import { uniqueId } from "../../../util/hash.js";
import { duckdbDialect } from "../../duckdb/duckdb-dialect.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import { logKeys } from "./actions.js";
import type { DeltaSnapshot } from "./snapshot.js";

const MAP = "MAP(VARCHAR, VARCHAR)";
/** The checkpoint's columns (the protocol's "Checkpoint Schema", V1 spec): one action per row. */
const CHECKPOINT_COLUMNS: Record<string, string> = {
  protocol:
    "STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])",
  metaData: `STRUCT(id VARCHAR, "name" VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "options" ${MAP}), schemaString VARCHAR, partitionColumns VARCHAR[], createdTime BIGINT, "configuration" ${MAP})`,
  txn: 'STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)',
  add: `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${MAP})`,
  remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${MAP}, size BIGINT)`,
};

/** How long removed files stay in checkpoints as tombstones (Delta's default `deletedFileRetentionDuration`). */
export const TOMBSTONE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Writes a classic checkpoint of `snapshot` (`<version>.checkpoint.parquet`: protocol, metadata, transactions, live
 * files and unexpired tombstones, one action per row) and points `_last_checkpoint` at it. The actions go through a
 * JSON-lines file that DuckDB reads with the checkpoint's struct types and writes as Parquet, so memory stays flat
 * for tables of many files.
 *
 * @example
 * await writeCheckpoint(store, conn, tempDir, snapshot);
 */
export async function writeCheckpoint(
  store: ObjectStore,
  conn: SqlConnection,
  tempDir: string,
  snapshot: DeltaSnapshot,
  now = Date.now(),
): Promise<void> {
  const keys = logKeys(snapshot.root);
  const base = join(tempDir, `checkpoint-${uniqueId()}`);
  const lines = `${base}.jsonl`;
  const parquet = `${base}.parquet`;
  try {
    let size = 0;
    const out = createWriteStream(lines);
    async function* rows() {
      const line = (o: unknown) => {
        size++;
        return `${JSON.stringify(o)}\n`;
      };
      if (snapshot.protocol) yield line({ protocol: snapshot.protocol });
      if (snapshot.metadata) yield line({ metaData: snapshot.metadata });
      for (const t of snapshot.txns.values()) yield line({ txn: t });
      for (const f of snapshot.files.values()) {
        const { path, partitionValues, size: bytes, modificationTime, dataChange, stats, tags } = f;
        yield line({
          add: { path, partitionValues, size: bytes, modificationTime, dataChange, stats, tags },
        });
      }
      for (const r of snapshot.tombstones.values()) {
        if ((r.deletionTimestamp ?? 0) < now - TOMBSTONE_RETENTION_MS) continue;
        const { path, deletionTimestamp, dataChange, extendedFileMetadata, partitionValues, size: bytes } = r;
        yield line({
          remove: { path, deletionTimestamp, dataChange, extendedFileMetadata, partitionValues, size: bytes },
        });
      }
    }
    await pipeline(rows, out);
    const lit = duckdbDialect.quoteLiteral;
    const spec = Object.entries(CHECKPOINT_COLUMNS)
      .map(([k, v]) => `${lit(k)}: ${lit(v)}`)
      .join(", ");
    const names = Object.keys(CHECKPOINT_COLUMNS)
      .map((k) => duckdbDialect.quoteIdent(k))
      .join(", ");
    // The statistics of a file are one string: 16 MB covers tables with thousands of columns.
    await conn.execute(
      `COPY (SELECT ${names} FROM read_json(${lit(lines)}, format = 'newline_delimited', columns = {${spec}}, ` +
        `maximum_object_size = 67108864)) TO ${lit(parquet)} (FORMAT parquet, COMPRESSION snappy)`,
    );
    await store.putFile(keys.checkpoint(snapshot.version), parquet);
    const bytes = (await stat(parquet)).size;
    // Another writer may have checkpointed a newer version meanwhile: never point back.
    const current = await store.get(keys.lastCheckpoint);
    const pointed = current ? (JSON.parse(current.toString("utf8")) as { version?: number }).version : -1;
    if ((pointed ?? -1) < snapshot.version) {
      await store.put(
        keys.lastCheckpoint,
        JSON.stringify({
          version: snapshot.version,
          size,
          sizeInBytes: bytes,
          numOfAddFiles: snapshot.files.size,
        }),
      );
    }
  } finally {
    await rm(lines, { force: true });
    await rm(parquet, { force: true });
  }
}
