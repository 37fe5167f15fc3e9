import { userInfo } from "node:os";
import { environment } from "../../config/environment.js";
import { ConfigError } from "../../util/errors.js";
import { redactSecrets, registerSecret } from "../../util/log.js";
import type { PostgresTarget } from "./postgres-errors.js";

/**
 * A parsed destination URL: what pg gets, and what may be printed.
 *
 * @example
 * const { connectionString, target, safeUrl } = parsePostgresUrl("postgres://etl:pw@db/dw");
 */
export interface PostgresUrl {
  /** For pg (password included). */
  connectionString: string;
  target: PostgresTarget;
  /** The URL without its password, to print and to recreate the destination. */
  safeUrl: string;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "postgres";
  }
}

/**
 * Parses `postgres://user:password@host:port/database?params` (or `postgresql://`). The password is registered as
 * a secret, so it is masked in every log line and error; host, port, user and database default like libpq's.
 *
 * @example
 * parsePostgresUrl("postgres://etl:pw@db:5432/dw").target // { host: "db", port: 5432, database: "dw", user: "etl" }
 */
export function parsePostgresUrl(url: string): PostgresUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`invalid Postgres URL "${redactSecrets(url)}"`, {
      hint: "use postgres://user:password@host:port/database (percent-encode special characters in the password)",
    });
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new ConfigError(`not a Postgres URL: "${redactSecrets(url)}"`, {
      hint: "use postgres://user:password@host:port/database",
    });
  }
  const password = u.password ? decodeURIComponent(u.password) : (u.searchParams.get("password") ?? "");
  registerSecret(password);
  registerSecret(u.password);
  const env = environment();
  const user = decodeURIComponent(u.username) || u.searchParams.get("user") || env.PGUSER || osUser();
  const host = u.hostname || u.searchParams.get("host") || env.PGHOST || "localhost";
  const port = Number(u.port || env.PGPORT || 5432);
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || env.PGDATABASE || user;
  const safe = new URL(u.toString());
  safe.password = "";
  safe.searchParams.delete("password");
  return {
    connectionString: url,
    target: { host, port, database, user },
    safeUrl: safe.toString(),
  };
}
