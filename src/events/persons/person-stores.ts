import { hostname } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { parsePostgresUrl } from "../../destinations/postgres/postgres-url.js";
import type { Project } from "../project.js";
import type { PersonsConfig } from "../serve-config.js";
import type { PersonStores } from "./person-stage.js";
import { PostgresPersonStore } from "./postgres/postgres-person-store.js";

/**
 * The person stores `serve.persons` asks for: SQLite files in `<serveDir>/persons/<dataset>.sqlite`, or one Postgres
 * database for every project (tables in `schema`). A server's pending changes and log positions in Postgres are
 * kept under its name: the host name and the absolute path of its working dir.
 *
 * @example
 * const stores = personStores({ store: "sqlite" }, ".ferry/_serve");
 * const store = await stores.open(project);
 */
export function personStores(config: PersonsConfig, serveDir: string): PersonStores {
  if (config.store === "sqlite") {
    return {
      open: async (project: Project) => {
        // The native SQLite module loads only for a server that keeps persons in it.
        const { SqlitePersonStore } = await import("./sqlite/sqlite-person-store.js");
        return SqlitePersonStore.open(
          join(serveDir, "persons", `${project.dataset.replace(/[^\w.-]/g, "_")}.sqlite`),
        );
      },
      close: async () => {},
    };
  }
  const url = parsePostgresUrl(config.url);
  let pool: pg.Pool | undefined;
  return {
    async open(project: Project) {
      if (!pool) {
        pool = new pg.Pool({ connectionString: url.connectionString, max: 4 });
        // A broken idle connection is dropped from the pool; the next query opens another (or fails, and is retried).
        pool.on("error", () => {});
      }
      return PostgresPersonStore.open({
        pool,
        schema: `"${config.schema.replace(/"/g, '""')}"`,
        token: project.token,
        consumer: `${hostname()}:${resolve(serveDir)}`,
        description: `${url.safeUrl} (schema ${config.schema})`,
      });
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
