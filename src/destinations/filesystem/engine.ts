import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setting } from "../../config/settings.js";
import { isProcessAlive } from "../../util/process.js";
import { DuckDbConnection } from "../duckdb/duckdb-connection.js";
import type { SqlConnection } from "../sql/sql-connection.js";

const PREFIX = "ferry-fs-";
let sweeping: Promise<void> | undefined;

/** Removes temp folders of filesystem clients whose process died (a killed load leaves its converted files). */
async function sweepStaleTempDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^ferry-fs-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !isProcessAlive(pid))
      await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/**
 * The embedded DuckDB of a filesystem client (in memory, UTC) and a private temp folder for converted files; both
 * are created on first use and removed by `close()`.
 *
 * @example
 * const engine = new LocalEngine("256MB");
 * const conn = await engine.connection();
 * const dir = await engine.tempDir();
 * await engine.close();
 */
export class LocalEngine {
  readonly #memoryLimit: string;
  #conn: Promise<DuckDbConnection> | undefined;
  #dir: Promise<string> | undefined;

  constructor(memoryLimit: string) {
    this.#memoryLimit = memoryLimit;
  }

  /** A temp folder of this client (converted files wait there until they are uploaded). */
  tempDir(): Promise<string> {
    this.#dir ??= (async () => {
      sweeping ??= sweepStaleTempDirs();
      await sweeping;
      return mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
    })();
    return this.#dir;
  }

  connection(): Promise<SqlConnection> {
    this.#conn ??= (async () => {
      const api = await import("@duckdb/node-api");
      const dir = await this.tempDir();
      const instance = await api.DuckDBInstance.create(":memory:", {
        memory_limit: this.#memoryLimit,
        // Beyond the memory limit DuckDB spills into the client's temp folder.
        temp_directory: join(dir, "duckdb.tmp"),
      });
      const conn = await instance.connect();
      await conn.run("SET TimeZone = 'UTC'");
      // Files need no particular row order; without it DuckDB converts in less memory.
      await conn.run("SET preserve_insertion_order = false");
      const threads = setting("fsThreads");
      if (threads !== undefined) await conn.run(`SET threads = ${threads}`);
      return new DuckDbConnection(api, instance, conn, true);
    })();
    return this.#conn;
  }

  async close(): Promise<void> {
    const conn = this.#conn;
    const dir = this.#dir;
    this.#conn = undefined;
    this.#dir = undefined;
    if (conn) await (await conn.catch(() => undefined))?.close();
    if (dir) await rm(await dir, { recursive: true, force: true });
  }
}
