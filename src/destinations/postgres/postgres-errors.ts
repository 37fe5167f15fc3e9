import { DestinationError, errorMessage, isFerryError } from "../../util/errors.js";
import { redactSecrets } from "../../util/log.js";

/**
 * Where a Postgres destination connects to, safe to print (no password).
 *
 * @example
 * const target: PostgresTarget = { host: "127.0.0.1", port: 5432, database: "dw", user: "etl" };
 */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** SQLSTATEs a retry can outlive: admin/crash shutdown, server starting, serialization failure, deadlock, too many connections. */
const TRANSIENT_CODES = new Set(["57P01", "57P02", "57P03", "40001", "40P01", "53300", "55P03"]);
const TRANSIENT_NODE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
/** Socket errors that mean the server closed or reset the connection under a running statement. */
const SOCKET_LOST = new Set(["ECONNRESET", "EPIPE"]);
const TRANSIENT_MESSAGES =
  /Connection terminated|not queryable|Client was closed|timeout expired|connection was lost|server closed the connection/i;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether a Postgres or socket error may go away on retry: a dropped or refused connection, an administrator
 * terminating the backend (57P01), serialization failures and deadlocks (40001, 40P01), too many connections,
 * or a connection exception (class 08). Looks through `cause` chains.
 *
 * @example
 * isTransientPostgresError(Object.assign(new Error("deadlock detected"), { code: "40P01" })) // true
 */
export function isTransientPostgresError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const code = codeOf(e);
    if (
      code !== undefined &&
      (TRANSIENT_CODES.has(code) || TRANSIENT_NODE_CODES.has(code) || code.startsWith("08"))
    )
      return true;
    if (isFerryError(e, "destination") && e.transient) return true;
    if (TRANSIENT_MESSAGES.test(errorMessage(e))) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** What to check, by error code, when connecting fails. */
function connectHint(code: string | undefined, t: PostgresTarget): string {
  switch (code) {
    case "28P01":
    case "28000":
      return `check the user name and password in the destination URL (postgres://user:password@${t.host}:${t.port}/${t.database}) or PGPASSWORD, and that pg_hba.conf lets "${t.user}" in from this host`;
    case "3D000":
      return `database "${t.database}" does not exist: create it (createdb ${t.database}) or fix the database name in the URL`;
    case "ECONNREFUSED":
      return `nothing accepts connections on ${t.host}:${t.port}: check that the server runs, the host and port in the URL, and listen_addresses in postgresql.conf`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `the host name "${t.host}" does not resolve: check the host in the URL`;
    case "ETIMEDOUT":
      return `no answer from ${t.host}:${t.port}: check the host, port and any firewall in between`;
    case "53300":
      return "the server has no free connection slots: wait, or raise max_connections";
    default:
      return `check the destination URL (host ${t.host}, port ${t.port}, database "${t.database}", user "${t.user}") and that the server accepts connections`;
  }
}

/**
 * The error of a failed connection attempt: names host, port, database and user, and what to check; never the
 * password.
 *
 * @example
 * throw connectError(err, { host: "db", port: 5432, database: "dw", user: "etl" });
 */
export function connectError(err: unknown, t: PostgresTarget): DestinationError {
  const code = codeOf(err);
  const why = redactSecrets(errorMessage(err) || code || "connection failed");
  return new DestinationError(
    `cannot connect to Postgres at ${t.host}:${t.port}, database "${t.database}", user "${t.user}": ${why}`,
    {
      cause: err,
      transient: isTransientPostgresError(err),
      fields: { host: t.host, port: t.port, database: t.database },
      hint: connectHint(code, t),
    },
  );
}

/**
 * A server error with its detail and context (`COPY t, line 3, column c: ...`) in the message, its SQLSTATE kept as
 * `code`; other errors unchanged.
 *
 * @example
 * try { await client.query(sql) } catch (e) { throw withServerContext(e) }
 */
export function withServerContext(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { detail?: string; where?: string; code?: string };
  // A socket error alone ("write EPIPE") does not say what happened: the server went away mid-statement.
  if (e.code !== undefined && SOCKET_LOST.has(e.code)) {
    const out = new Error(`the connection to Postgres was lost (${e.message})`, { cause: err }) as Error & {
      code?: string;
    };
    out.code = e.code;
    return out;
  }
  const extra = [e.detail, e.where].filter((x): x is string => typeof x === "string" && x.length > 0);
  if (extra.length === 0) return err;
  const out = new Error(`${e.message} (${extra.join("; ")})`, { cause: err }) as Error & { code?: string };
  if (e.code !== undefined) out.code = e.code;
  return out;
}
