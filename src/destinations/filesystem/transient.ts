import { errorMessage, isFerryError } from "../../util/errors.js";

/**
 * Store errors worth another attempt: network trouble, throttling, server errors (ferry's own errors say so
 * themselves).
 *
 * @example
 * if (!isTransientStoreError(err)) await undoCommits();
 */
export function isTransientStoreError(err: unknown): boolean {
  if (isFerryError(err)) return err.transient;
  const code = (err as { code?: unknown })?.code;
  if (
    typeof code === "string" &&
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND)$/.test(code)
  )
    return true;
  const status = (err as { $metadata?: { httpStatusCode?: number }; statusCode?: number })?.$metadata
    ?.httpStatusCode;
  if (typeof status === "number" && (status >= 500 || status === 429)) return true;
  return /timed? ?out|throttl|slow ?down|socket hang up|temporar/i.test(errorMessage(err));
}
