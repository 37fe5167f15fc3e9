import { setTimeout as sleep } from "node:timers/promises";
import { readLineBatches } from "../../formats/jsonl-reader.js";
import type { Column } from "../../schema/types.js";
import { DestinationError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import type { ClickHouseConnection, Settings } from "./clickhouse-connection.js";
import { isTransientClickHouseError } from "./clickhouse-errors.js";
import { quoteIdent } from "./clickhouse-types.js";
import { tsvRowEncoder, ValueRefused } from "./tsv-values.js";

/** Upper bound of one batch's body, whatever its rows. */
export const MAX_BATCH_BYTES = 64 << 20;
/** Encoded text handed to the request at once. */
const CHUNK_CHARS = 1 << 18;
/** Retries of one batch (servers with insert deduplication only). */
const BATCH_RETRIES = 3;

/** The lines of a JSONL file, taken a batch at a time. */
class LineCursor {
  readonly #lines: AsyncIterator<string[]>;
  #pending: string[] = [];
  #at = 0;
  /** Lines handed out so far. */
  taken = 0;

  constructor(path: string) {
    this.#lines = readLineBatches(path)[Symbol.asyncIterator]();
  }

  /** Whether another line is there. */
  async more(): Promise<boolean> {
    while (this.#at >= this.#pending.length) {
      const r = await this.#lines.next();
      if (r.done) return false;
      this.#pending = r.value;
      this.#at = 0;
    }
    return true;
  }

  /** Up to `n` lines of what was read (call `more()` first). */
  take(n: number): string[] {
    const out = this.#pending.slice(this.#at, this.#at + n);
    this.#at += out.length;
    this.taken += out.length;
    return out;
  }

  async skip(n: number): Promise<void> {
    while (this.taken < n && (await this.more())) this.take(n - this.taken);
  }
}

/** What a load file's insert needs to know. */
export interface InsertTarget {
  conn: ClickHouseConnection;
  /** Quoted, qualified table name. */
  target: string;
  /** Table name for messages. */
  table: string;
  columns: Column[];
  path: string;
  /** Names the file in messages and tokens (the job id). */
  job: string;
  batchRows: number;
  /** `<load id>-<attempt>`: query ids and deduplication tokens of this attempt start with it. */
  attemptId: string;
  /** The table keeps deduplication tokens (`non_replicated_deduplication_window`): batches may be retried. */
  deduplicates: boolean;
  log: Logger;
}

/**
 * Inserts a JSONL load file in batches of `batchRows` rows (at most `MAX_BATCH_BYTES`), each one INSERT streamed as
 * TabSeparated. Where the table deduplicates, each batch carries a token (attempt, job, batch number), so a batch
 * whose outcome is unclear (the connection dropped) is sent again and the server drops it if it already has it;
 * elsewhere such a failure fails the attempt. Returns the rows inserted.
 *
 * @example
 * const rows = await insertLoadFile({ conn, target: "`gh`.`issues`", table: "issues", columns, path, job: id, ... });
 */
export async function insertLoadFile(t: InsertTarget): Promise<number> {
  const encode = tsvRowEncoder(t.columns, t.conn.features);
  const sql = `INSERT INTO ${t.target} (${t.columns.map((c) => quoteIdent(c.name)).join(", ")}) FORMAT TabSeparated`;
  let cursor = new LineCursor(t.path);
  let refused: DestinationError | undefined;
  /** One batch's body: encoded rows from the cursor, until the batch is full or the file ends. */
  async function* body(): AsyncGenerator<string> {
    let rows = 0;
    let bytes = 0;
    let chunk = "";
    while (rows < t.batchRows && bytes < MAX_BATCH_BYTES && (await cursor.more())) {
      const lines = cursor.take(Math.min(t.batchRows - rows, 1000));
      const before = cursor.taken - lines.length;
      for (let k = 0; k < lines.length; k++) {
        try {
          chunk += encode(lines[k] as string);
        } catch (err) {
          refused = refusal(t, before + k + 1, err);
          throw refused;
        }
      }
      rows += lines.length;
      if (chunk.length >= CHUNK_CHARS) {
        bytes += chunk.length;
        yield chunk;
        chunk = "";
      }
    }
    if (chunk.length > 0) yield chunk;
  }
  let batch = 0;
  while (await cursor.more()) {
    const first = cursor.taken;
    for (let attempt = 0; ; attempt++) {
      const settings: Settings = t.deduplicates
        ? { insert_deduplicate: 1, insert_deduplication_token: `${t.attemptId}:${t.job}:${batch}` }
        : {};
      try {
        await t.conn.insert(sql, body(), {
          settings,
          queryId: `${t.attemptId}-${t.job}-${batch}-${attempt}`,
        });
        break;
      } catch (err) {
        if (refused) throw refused;
        if (!t.deduplicates || attempt >= BATCH_RETRIES || !isTransientClickHouseError(err)) throw err;
        t.log.warn(
          `insert of rows ${first + 1}.. of ${t.job} into ${t.table} failed (${errorMessage(err)}); sending the batch again (the server drops it if it already has it)`,
        );
        await sleep(500 * 2 ** attempt);
        // Read the batch again from the file.
        cursor = new LineCursor(t.path);
        await cursor.skip(first);
      }
    }
    batch++;
  }
  return cursor.taken;
}

function refusal(t: InsertTarget, row: number, err: unknown): DestinationError {
  if (!(err instanceof ValueRefused)) {
    return new DestinationError(
      `row ${row} of ${t.job} (table "${t.table}") cannot be read: ${errorMessage(err)}`,
      {
        cause: err,
        fields: { table: t.table, job: t.job },
      },
    );
  }
  return new DestinationError(`row ${row} of table "${t.table}": ${err.message}`, {
    fields: { table: t.table, job: t.job },
    hint: 'ClickHouse cannot store this value in its column: fix the data (a map step), or declare the column as text (columns: { name: { type: "text" } })',
  });
}
