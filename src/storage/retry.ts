import { setTimeout as sleep } from "node:timers/promises";

/** How often and how patiently a store operation is retried after a transient failure. */
export interface StoreRetryPolicy {
  /** Tries in all, including the first. */
  attempts: number;
  /** Delay before the first retry; doubles each time (with jitter: between half and all of it). */
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The default: each SDK already retries single requests (and the parts of a multipart upload); this outer loop
 * retries a whole operation a few more times when the SDK gave up on a transient failure or does not retry it.
 */
export const DEFAULT_STORE_RETRY: StoreRetryPolicy = { attempts: 3, initialDelayMs: 500, maxDelayMs: 8000 };

/**
 * Runs `fn`, retrying while `isTransient(error)` with exponential backoff and jitter.
 *
 * @example
 * const body = await withRetry(() => client.get(key), (e) => isTransient(e), DEFAULT_STORE_RETRY);
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (err: unknown) => boolean,
  policy: StoreRetryPolicy = DEFAULT_STORE_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !isTransient(err)) throw err;
      const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      await sleep(Math.round(cap / 2 + (Math.random() * cap) / 2));
    }
  }
}
