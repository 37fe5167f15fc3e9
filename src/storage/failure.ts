import { DestinationError, errorMessage } from "../util/errors.js";
import { redactSecrets } from "../util/log.js";

/** What went wrong with a storage request, independent of the cloud. */
export type FailureKind = "missing_bucket" | "access_denied" | "unreachable" | "transient" | "other";

/** A storage error reduced to what ferry needs to report and decide on retrying. */
export interface Failure {
  kind: FailureKind;
  /** One line from the service: its error code and message, no credentials. */
  detail: string;
}

/** HTTP statuses worth retrying: timeouts, throttling, server errors. */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

const RETRYABLE_NETWORK = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ECONNABORTED",
  "ESOCKETTIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
]);
const UNREACHABLE_NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * The network error code in an error or its causes (`ECONNRESET`, `ECONNREFUSED` ...), also when an SDK only
 * mentions it in the message.
 *
 * @example
 * networkCode(new Error("connect ECONNREFUSED 127.0.0.1:9000")) // "ECONNREFUSED"
 */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (RETRYABLE_NETWORK.has(code) || UNREACHABLE_NETWORK.has(code)))
      return code;
    const m = /\b(E[A-Z]{3,}|UND_ERR_[A-Z_]+)\b/.exec(errorMessage(e));
    if (m?.[1] && (RETRYABLE_NETWORK.has(m[1]) || UNREACHABLE_NETWORK.has(m[1]))) return m[1];
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Classifies what every cloud has in common: network errors and retryable HTTP statuses. Backends call it for
 * errors their own codes do not explain.
 *
 * @example
 * genericFailure(err, 503, "SlowDown: reduce your request rate") // { kind: "transient", ... }
 */
export function genericFailure(err: unknown, status: number | undefined, detail: string): Failure {
  const net = networkCode(err);
  if (net && UNREACHABLE_NETWORK.has(net)) return { kind: "unreachable", detail };
  if (net || (status !== undefined && TRANSIENT_STATUS.has(status))) return { kind: "transient", detail };
  if (/time(d)? ?out/i.test(detail)) return { kind: "transient", detail };
  if (status === 401 || status === 403) return { kind: "access_denied", detail };
  return { kind: "other", detail };
}

/** Failures that a retry can cure: a server restarting counts too (`unreachable`). */
export function isRetryable(failure: Failure): boolean {
  return failure.kind === "transient" || failure.kind === "unreachable";
}

/** What to tell the user for each kind of failure, per cloud (names the environment variables to check). */
export interface StoreHints {
  accessDenied: string;
  missingBucket(bucket: string): string;
  unreachable(endpoint: string): string;
}

/** Everything `storeError` needs to know about the store. */
export interface FailureContext {
  /** `s3`, `gcs`, `azure`. */
  kind: string;
  /** `bucket` or `container`. */
  bucketWord: string;
  bucket: string;
  /** The store's URL, e.g. `s3://lake/raw`. */
  url: string;
  /** The endpoint requests go to (shown when unreachable). */
  endpoint: string;
  hints: StoreHints;
}

/**
 * Turns a classified storage failure into the `DestinationError` ferry throws: the operation, the store, what
 * happened (the bucket's name when it is missing), and a hint naming what to check. Secrets are masked.
 *
 * @example
 * throw storeError(ctx, `put "events/1.parquet"`, { kind: "missing_bucket", detail: "NoSuchBucket" }, err);
 */
export function storeError(
  ctx: FailureContext,
  what: string,
  failure: Failure,
  cause: unknown,
): DestinationError {
  const detail = redactSecrets(failure.detail);
  const where = `${what} in ${ctx.url}`;
  switch (failure.kind) {
    case "missing_bucket":
      return new DestinationError(
        `${where} failed: ${ctx.kind} ${ctx.bucketWord} "${ctx.bucket}" does not exist`,
        {
          cause,
          hint: ctx.hints.missingBucket(ctx.bucket),
          fields: { bucket: ctx.bucket },
        },
      );
    case "access_denied":
      return new DestinationError(`${where} failed: access denied (${detail})`, {
        cause,
        hint: ctx.hints.accessDenied,
        fields: { bucket: ctx.bucket },
      });
    case "unreachable":
      return new DestinationError(`${where} failed: cannot reach ${ctx.endpoint} (${detail})`, {
        cause,
        transient: true,
        hint: ctx.hints.unreachable(ctx.endpoint),
      });
    case "transient":
      return new DestinationError(`${where} failed after retries: ${detail}`, {
        cause,
        transient: true,
        hint: "the storage service or the network had a temporary problem; running again resumes the load",
      });
    default:
      return new DestinationError(`${where} failed: ${detail}`, { cause, fields: { bucket: ctx.bucket } });
  }
}
