import type { QueryRow } from "../destination.js";

/** The few things the shared SQL loader needs from a driver connection. */
export interface SqlConnection {
  execute(sql: string, params?: unknown[]): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<QueryRow[]>;
  close(): Promise<void>;
}
