import { ConfigError, ExtractError, errorMessage, type FerryError } from "../../util/errors.js";
import { describeLocation, type SqlLocation } from "./engine.js";

/** Why a connection failed, as far as the driver's error tells. */
export type ConnectFailure = "refused" | "host" | "timeout" | "auth" | "database" | "other";

/**
 * The error for a failed connection: names host, port, database and user (never the password) and says what to
 * check. Refusals and time-outs are transient (a server may be starting); bad credentials and unknown databases are
 * configuration errors.
 *
 * @example
 * throw connectError(where, "refused", err, password);
 * // cannot connect to postgres at 127.0.0.1:5432, database "shop", user "ferry": connection refused (...)
 */
export function connectError(
  where: SqlLocation,
  failure: ConnectFailure,
  cause: unknown,
  password?: string,
): FerryError {
  const at = describeLocation(where);
  // Drivers do not echo passwords, but a URL in a message would carry one: mask both.
  const raw = errorMessage(cause);
  const detail = (password ? raw.split(password).join("***") : raw).replace(
    /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)@/gi,
    "$1***@",
  );
  const fields = { host: where.host, port: where.port, database: where.database };
  switch (failure) {
    case "refused":
      return new ExtractError(`cannot connect to ${at}: connection refused (${detail})`, {
        cause,
        fields,
        transient: true,
        hint: `check that the ${where.engine} server is running and accepts TCP connections on ${where.host}:${where.port} (the host and port of the URL)`,
      });
    case "host":
      return new ExtractError(`cannot connect to ${at}: host not found (${detail})`, {
        cause,
        fields,
        hint: `check the host name "${where.host}" in the URL`,
      });
    case "timeout":
      return new ExtractError(`cannot connect to ${at}: timed out (${detail})`, {
        cause,
        fields,
        transient: true,
        hint: `check that ${where.host}:${where.port} is reachable from this machine (server running, firewall, network)`,
      });
    case "auth":
      return new ConfigError(`${at} rejected the login: ${detail}`, {
        cause,
        fields,
        hint: "check the user name and password in the URL (URL-encode characters such as @ : / # in the password) and that this user may connect to this database",
      });
    case "database":
      return new ConfigError(`cannot use ${at}: ${detail}`, {
        cause,
        fields,
        hint: "check the database name at the end of the URL (/database) and that the user has access to it",
      });
    default:
      return new ExtractError(`cannot connect to ${at}: ${detail}`, {
        cause,
        fields,
        hint: `check the URL (host, port, database, user, password) and that the ${where.engine} server accepts connections`,
      });
  }
}

/** Classifies socket-level failures shared by both drivers (`ECONNREFUSED`, `ENOTFOUND`, time-outs). */
export function socketFailure(err: unknown): ConnectFailure | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EHOSTUNREACH") return "refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host";
  if (code === "ETIMEDOUT" || /timeout|timed out/i.test(errorMessage(err))) return "timeout";
  return undefined;
}
