import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../util/errors.js";
import { type Logger, redactSecrets } from "../util/log.js";
import type { JobError } from "./job-record.js";

/** What happened: a job failed (the schedule goes on), or a schedule was paused (no more runs until resumed). */
export type AlertKind = "job_failed" | "schedule_paused";

/** The body POSTed to `alerts.webhook` (JSON). `text` is a one-line summary, for chat webhooks that show only it. */
export interface Alert {
  kind: AlertKind;
  text: string;
  pipeline: string;
  /** The run id (`ferry jobs show <run>`; on Temporal, the workflow id). */
  run: string;
  status: "failed" | "paused";
  error: JobError;
  /** What to do about it. */
  hint: string;
  attempts: number;
  at: string;
}

/** Where alerts go. */
export interface Alerter {
  notify(alert: Omit<Alert, "text" | "hint" | "at"> & { hint?: string }): void;
  /** Waits for the webhook calls under way (at most `timeoutMs`). */
  flush(timeoutMs?: number): Promise<void>;
}

export interface AlerterOptions {
  webhook?: string;
  logger: Logger;
  /** Attempts per webhook call (default 3; 5xx, 429 and network errors are retried). */
  attempts?: number;
  /** Wait before the second attempt, doubling (default 1 s). */
  backoffMs?: number;
  timeoutMs?: number;
}

/** The hint an alert carries: the error's own, then what to do next. */
export function alertHint(
  kind: AlertKind,
  pipeline: string,
  run: string,
  errorHint: string | undefined,
): string {
  const next =
    kind === "schedule_paused"
      ? `fix the cause, then resume the schedule: ferry jobs resume ${pipeline}`
      : `details: ferry jobs show ${run}; the next scheduled run tries again`;
  return errorHint ? `${errorHint}; ${next}` : next;
}

/**
 * Alerts printed on the log (always) and POSTed to the webhook when one is configured. Webhook calls run in the
 * background (a slow receiver never holds a job) and are retried; a receiver that stays down is logged, not fatal.
 *
 * @example
 * const alerts = webhookAlerter({ webhook: "https://hooks.example.com/ferry", logger });
 * alerts.notify({ kind: "job_failed", pipeline: "crm", run, status: "failed", error, attempts: 3 });
 */
export function webhookAlerter(options: AlerterOptions): Alerter {
  const inFlight = new Set<Promise<void>>();
  const log = options.logger;
  return {
    notify(partial) {
      const hint = partial.hint ?? alertHint(partial.kind, partial.pipeline, partial.run, partial.error.hint);
      const what = partial.kind === "schedule_paused" ? "schedule paused" : "job failed";
      const alert: Alert = {
        ...partial,
        text: `ferry: ${what}: pipeline ${partial.pipeline}, run ${partial.run}: ${partial.error.message}`,
        hint,
        at: new Date().toISOString(),
      };
      log.error(`ALERT ${alert.text} (hint: ${hint})`);
      if (!options.webhook) return;
      const call = post(options.webhook, alert, options).catch((err) =>
        log.warn(`alert webhook ${redactSecrets(options.webhook ?? "")} failed: ${errorMessage(err)}`),
      );
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    },
    async flush(timeoutMs = 30_000) {
      await Promise.race([Promise.all(inFlight), sleep(timeoutMs, undefined, { ref: false })]);
    },
  };
}

async function post(url: string, alert: Alert, options: AlerterOptions): Promise<void> {
  const attempts = options.attempts ?? 3;
  const backoff = options.backoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "ferry" },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      problem = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) throw new Error(`${problem} (not retried)`);
    } catch (err) {
      if (errorMessage(err).endsWith("(not retried)")) throw err;
      problem = errorMessage(err);
    }
    if (attempt >= attempts) throw new Error(`${problem} after ${attempt} attempt(s)`);
    await sleep(backoff * 2 ** (attempt - 1));
  }
}
