import type { LoadJob } from "../load/load-client.js";
import { DestinationError, errorMessage, isFerryError } from "../util/errors.js";

/**
 * The error a destination client raises when a package (or one of its jobs) fails to load: names the load and
 * job, keeps the cause, and says whether a retry can help, with the hint that fits.
 *
 * @example
 * throw loadFailure(err, { loadId, job, transient: isTransient(err), hints: { transient: "...", terminal: "..." } });
 */
export function loadFailure(
  err: unknown,
  o: {
    loadId: string;
    job?: LoadJob | undefined;
    /** Jobs loaded together with `job` (one statement for several files of its table). */
    jobs?: number;
    transient: boolean;
    hints: { transient: string; terminal: string };
  },
): unknown {
  if (isFerryError(err, "destination")) return err;
  const { loadId, job } = o;
  const more = (o.jobs ?? 1) > 1 ? ` and ${(o.jobs ?? 1) - 1} more` : "";
  const what = job ? `load job ${job.id}${more} (table ${job.table})` : `load ${loadId}`;
  return new DestinationError(`${what} failed: ${errorMessage(err)}`, {
    cause: err,
    transient: o.transient,
    fields: { loadId, ...(job ? { job: job.id, table: job.table } : {}) },
    hint: o.transient ? o.hints.transient : o.hints.terminal,
  });
}
