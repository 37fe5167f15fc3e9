import { setTimeout as sleep } from "node:timers/promises";

/** How often and how patiently an operation is retried after a transient failure. */
export interface RetryPolicy {
  /** Attempts in all (first try included). */
  attempts: number;
  /** Delay before the second attempt; doubles each time. */
  initialDelayMs: number;
  /** Upper bound of one delay (default: none). */
  maxDelayMs?: number;
  /** Spread each delay between half and all of it, so concurrent retries do not arrive in lockstep (default true). */
  jitter?: boolean;
}

/**
 * Runs `fn`, retrying while `isTransient(error)` with exponential backoff; `onRetry` hears each failure that is
 * retried (to log it). The last error is thrown as it is.
 *
 * @example
 * const body = await withRetry(() => client.get(key), isTransient, { attempts: 3, initialDelayMs: 500 });
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (err: unknown) => boolean,
  policy: RetryPolicy,
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const cap = Math.min(
        policy.maxDelayMs ?? Number.POSITIVE_INFINITY,
        policy.initialDelayMs * 2 ** (attempt - 1),
      );
      const delay = policy.jitter === false ? cap : Math.round(cap / 2 + (Math.random() * cap) / 2);
      onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
