import { ConfigError } from "../../util/errors.js";
import { redactSecrets, registerSecret } from "../../util/log.js";

/**
 * A parsed `clickhouse://` URL: where the HTTP interface is, who connects, and what may be printed.
 *
 * @example
 * const u = parseClickHouseUrl("clickhouse://etl:pw@ch.internal:8123/analytics");
 * u.endpoint // "http://ch.internal:8123"
 */
export interface ClickHouseUrl {
  /** `http://host:port` (or `https://` for `clickhouses://`), what the client connects to. */
  endpoint: string;
  username: string;
  password: string;
  /** The database the connection starts in (it must exist); datasets are databases of their own. */
  database: string;
  secure: boolean;
  /** Query parameters of the URL: ClickHouse settings sent with every request (`?async_insert=1`). */
  settings: Record<string, string>;
  /** The URL without its password, to print and to recreate the destination. */
  safeUrl: string;
}

/** Settings names: what ClickHouse accepts (letters, digits, underscores). */
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `clickhouse://user:password@host:port/database?setting=value` (HTTP interface, port 8123 by default) or
 * `clickhouses://` (HTTPS, port 8443). The password is registered as a secret, so it is masked in every log line
 * and error. User `default` and database `default` when left out.
 *
 * @example
 * parseClickHouseUrl("clickhouses://etl:pw@ch.example.com/dw?max_insert_threads=2").endpoint
 * // "https://ch.example.com:8443"
 */
export function parseClickHouseUrl(url: string): ClickHouseUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`invalid ClickHouse URL "${redactSecrets(url)}"`, {
      hint: "use clickhouse://user:password@host:8123/database (percent-encode special characters in the password)",
    });
  }
  const secure = u.protocol === "clickhouses:";
  if (u.protocol !== "clickhouse:" && !secure) {
    throw new ConfigError(`not a ClickHouse URL: "${redactSecrets(url)}"`, {
      hint: "use clickhouse://user:password@host:8123/database (or clickhouses:// for TLS)",
    });
  }
  if (!u.hostname) {
    throw new ConfigError(`ClickHouse URL "${redactSecrets(url)}" names no host`, {
      hint: "use clickhouse://user:password@host:8123/database",
    });
  }
  const password = decodeURIComponent(u.password);
  registerSecret(password);
  registerSecret(u.password);
  const port = u.port || (secure ? "8443" : "8123");
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "default";
  if (database.includes("/")) {
    throw new ConfigError(`ClickHouse URL "${redactSecrets(url)}": "${database}" is not a database name`, {
      hint: "the path of the URL is one database: clickhouse://host:8123/analytics",
    });
  }
  const settings: Record<string, string> = {};
  for (const [k, v] of u.searchParams) {
    if (!SETTING_NAME.test(k)) {
      throw new ConfigError(`ClickHouse URL parameter "${k}" is not a setting name`, {
        hint: "query parameters of a clickhouse:// URL are ClickHouse settings (?max_insert_threads=2)",
      });
    }
    settings[k] = v;
  }
  const host = u.hostname.includes(":") && !u.hostname.startsWith("[") ? `[${u.hostname}]` : u.hostname;
  const safe = new URL(u.toString());
  safe.password = "";
  return {
    endpoint: `${secure ? "https" : "http"}://${host}:${port}`,
    username: decodeURIComponent(u.username) || "default",
    password,
    database,
    secure,
    settings,
    safeUrl: safe.toString(),
  };
}
