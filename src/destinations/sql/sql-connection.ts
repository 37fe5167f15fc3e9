import type { QueryRow } from "../destination.js";

/**
 * The few things the shared SQL loader needs from a driver connection.
 *
 * @example
 * await conn.begin();
 * try { await conn.execute("INSERT ..."); await conn.commit() } catch (e) { await conn.rollback(); throw e }
 */
export interface SqlConnection {
  execute(sql: string, params?: unknown[]): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<QueryRow[]>;
  /** Starts the package transaction. */
  begin(): Promise<void>;
  commit(): Promise<void>;
  /** Rolls back; never throws (a lost connection has rolled back already). */
  rollback(): Promise<void>;
  close(): Promise<void>;
}
