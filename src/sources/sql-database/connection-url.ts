import { ConfigError } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";
import type { SqlLocation } from "./engine.js";

/** A parsed database URL. The password is kept out of `where` (which goes into messages). */
export interface SqlUrl {
  /** URL scheme without the colon: `postgres`, `postgresql`, `mysql`, `mariadb`. */
  scheme: string;
  where: SqlLocation;
  password: string | undefined;
  /** Query parameters (`?sslmode=require`). */
  params: URLSearchParams;
  /** The URL as given, for drivers that parse it themselves. */
  url: string;
}

const DEFAULT_PORTS: Record<string, number> = {
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
  mariadb: 3306,
};
const ENGINE_NAMES: Record<string, string> = {
  postgres: "postgres",
  postgresql: "postgres",
  mysql: "mysql",
  mariadb: "mysql",
};

/**
 * Parses `postgres://user:pass@host:5432/db` or `mysql://user:pass@host:3306/db`; registers the password as a
 * secret so it is masked in every log line and error.
 *
 * @example
 * parseSqlUrl("postgres://ferry:secret@127.0.0.1:5432/shop").where
 * // { engine: "postgres", host: "127.0.0.1", port: 5432, database: "shop", user: "ferry" }
 */
export function parseSqlUrl(url: string): SqlUrl {
  if (typeof url !== "string" || url.trim() === "") {
    throw new ConfigError("sql_database: url is required", {
      hint: "pass url: postgres://user:password@host:5432/database or mysql://user:password@host:3306/database",
    });
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError("sql_database: url is not a valid URL", {
      hint: "use postgres://user:password@host:5432/database or mysql://user:password@host:3306/database (URL-encode special characters in the password)",
    });
  }
  const scheme = u.protocol.replace(/:$/, "").toLowerCase();
  const engine = ENGINE_NAMES[scheme];
  if (!engine) {
    throw new ConfigError(`sql_database: unsupported URL scheme "${scheme}:"`, {
      hint: "supported: postgres://, postgresql://, mysql:// (MySQL and MariaDB), mariadb://",
    });
  }
  const password = u.password === "" ? undefined : safeDecode(u.password);
  registerSecret(password);
  const database = safeDecode(u.pathname.replace(/^\//, ""));
  return {
    scheme,
    url,
    password,
    params: u.searchParams,
    where: {
      engine,
      host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost",
      port: u.port ? Number(u.port) : (DEFAULT_PORTS[scheme] as number),
      database,
      user: safeDecode(u.username),
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
