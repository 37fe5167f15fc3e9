import type { RetryPolicy } from "../util/retry.js";

/** How a store operation is retried (see util/retry.ts). */
export type StoreRetryPolicy = RetryPolicy;

/**
 * The default: each SDK already retries single requests (and the parts of a multipart upload); this outer loop
 * retries a whole operation a few more times when the SDK gave up on a transient failure or does not retry it.
 */
export const DEFAULT_STORE_RETRY: StoreRetryPolicy = { attempts: 3, initialDelayMs: 500, maxDelayMs: 8000 };
