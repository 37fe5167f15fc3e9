import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/**
 * `meta.storage` of every plugin, in one SQLite file (`<dir>/_serve/plugins/storage.sqlite`): a row per plugin,
 * project and key, values as JSON text. WAL with `synchronous=NORMAL`: a write survives the process being killed;
 * a power loss may lose the last writes. Memory does not grow with the number of keys.
 *
 * @example
 * const s = new HostStorage(".ferry/_serve/plugins/storage.sqlite");
 * s.set("web/first-time", "seen:$pageview", "true");
 * s.get("web/first-time", "seen:$pageview") // "true"
 */
export class HostStorage {
  readonly #db: Database.Database;
  readonly #get: Database.Statement<[string, string], { value: string }>;
  readonly #set: Database.Statement<[string, string, string]>;
  readonly #del: Database.Statement<[string, string]>;

  /** `path` ":memory:" keeps nothing (for `ferry plugin test`). */
  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS plugin_storage (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID",
    );
    this.#get = this.#db.prepare("SELECT value FROM plugin_storage WHERE scope = ? AND key = ?");
    this.#set = this.#db.prepare(
      "INSERT INTO plugin_storage (scope, key, value) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
    );
    this.#del = this.#db.prepare("DELETE FROM plugin_storage WHERE scope = ? AND key = ?");
  }

  get(scope: string, key: string): string | null {
    return this.#get.get(scope, key)?.value ?? null;
  }

  set(scope: string, key: string, json: string): void {
    this.#set.run(scope, key, json);
  }

  del(scope: string, key: string): void {
    this.#del.run(scope, key);
  }

  close(): void {
    this.#db.close();
  }
}
