import { errorMessage } from "../../util/errors.js";

/**
 * What went wrong with a request, in words: Node's fetch says only "fetch failed" and keeps the reason (refused,
 * reset, DNS) in its cause.
 *
 * @example
 * networkMessage(err, 1000) // "connect ECONNREFUSED 127.0.0.1:9" or "no answer within 1000 ms"
 */
export function networkMessage(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: unknown };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause;
  if (cause !== undefined) {
    const c = cause as { code?: string; message?: string };
    return c.message || c.code || errorMessage(err);
  }
  return errorMessage(err);
}
