import { parseSqlUrl, type SqlUrl } from "./connection-url.js";
import type { SqlEngine } from "./engine.js";

type EngineFactory = (url: SqlUrl) => Promise<SqlEngine>;

/** Engines by URL scheme, imported only when a URL uses them (so `pg` is not loaded for a MySQL source). */
const ENGINES: Record<string, () => Promise<EngineFactory>> = {
  postgres: async () => (await import("./postgres/pg-engine.js")).connectPostgres,
  postgresql: async () => (await import("./postgres/pg-engine.js")).connectPostgres,
  mysql: async () => (await import("./mysql/mysql-engine.js")).connectMysql,
  mariadb: async () => (await import("./mysql/mysql-engine.js")).connectMysql,
};

/**
 * Opens a connection to the database a URL names, with the engine its scheme selects. The caller closes it.
 *
 * @example
 * const engine = await connectEngine("mysql://ferry:secret@127.0.0.1:3306/shop");
 * try { console.log(await engine.reflect({ schema: "shop", includeViews: false })) } finally { await engine.close() }
 */
export async function connectEngine(url: string | SqlUrl): Promise<SqlEngine> {
  const parsed = typeof url === "string" ? parseSqlUrl(url) : url;
  const load = ENGINES[parsed.scheme];
  if (!load) throw new Error(`no engine for ${parsed.scheme}`); // parseSqlUrl accepts only known schemes
  return (await load())(parsed);
}
