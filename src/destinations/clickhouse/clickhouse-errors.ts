import { errorMessage, isFerryError } from "../../util/errors.js";

/**
 * ClickHouse error codes a retry can outlive: timeouts, too many queries or parts, memory pressure, network trouble
 * between replicas, a lock that could not be taken in time, an insert whose outcome is unknown, a server shutting
 * down or starting.
 */
const TRANSIENT_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (a replica catching up)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  319, // UNKNOWN_STATUS_OF_INSERT
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  473, // DEADLOCK_AVOIDED
  999, // KEEPER_EXCEPTION
]);
const TRANSIENT_NODE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);
const TRANSIENT_MESSAGES =
  /socket hang up|Timeout error|request timed out|ECONNRESET|HTTP status (502|503|504)\b/i;

/**
 * The ClickHouse error code of an error, from the client's `ClickHouseError` or the text a server answered with
 * (`Code: 60. DB::Exception: ...`, or 18.16's `Code: 60, e.displayText() = ...`).
 *
 * @example
 * clickhouseCode(new Error("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist")) // 60
 */
export function clickhouseCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^\d+$/.test(code)) return Number(code);
  const m = /\bCode: (\d+)[.,]/.exec(errorMessage(err));
  return m ? Number(m[1]) : undefined;
}

/**
 * Whether a ClickHouse or network error may go away on retry (see `TRANSIENT_CODES`). Looks through `cause` chains.
 *
 * @example
 * isTransientClickHouseError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })) // true
 */
export function isTransientClickHouseError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (isFerryError(e)) return e.transient;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_NODE_CODES.has(code)) return true;
    const ch = clickhouseCode(e);
    if (ch !== undefined) return TRANSIENT_CODES.has(ch);
    if (TRANSIENT_MESSAGES.test(errorMessage(e))) return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/**
 * The server's message without 18.16's `e.displayText() = ` wrapping and stack hints: what a user needs to read.
 *
 * @example
 * serverMessage(new Error("Code: 62, e.displayText() = DB::Exception: Syntax error, e.what() = DB::Exception"))
 * // "Code: 62. DB::Exception: Syntax error"
 */
export function serverMessage(err: unknown): string {
  const text = errorMessage(err).trim();
  const m = /^Code: (\d+), e\.displayText\(\) = (.*?)(, e\.what\(\) = .*)?$/s.exec(text);
  return m ? `Code: ${m[1]}. ${m[2]}` : text;
}
