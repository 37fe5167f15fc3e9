import { loadNormalizedPackage, type PackageLoadOutcome } from "../load/loader.js";
import { compareLoadIds } from "../package/load-id.js";
import type { LoadPackage } from "../package/load-package.js";
import { recordPackageFailure } from "../package/package-failure.js";
import { isFerryError } from "../util/errors.js";
import { addCounts, type PipelineContext } from "./context.js";

export interface LoadStepInfo {
  loadIds: string[];
  rows: Record<string, number>;
}

/**
 * Loads every normalized package (up to the load id `upTo`, when given), oldest first; a terminal failure sets the
 * package aside and stops.
 */
export async function loadStep(ctx: PipelineContext, upTo?: string): Promise<LoadStepInfo> {
  const info: LoadStepInfo = { loadIds: [], rows: {} };
  const packages: LoadPackage[] = [];
  for (const pkg of await ctx.store.list()) {
    if (upTo !== undefined && compareLoadIds(pkg.loadId, upTo) > 0) break;
    if ((await pkg.stage()) === "normalized") packages.push(pkg);
  }
  if (packages.length === 0) return info;
  const client = await ctx.connect();
  try {
    for (const pkg of packages) {
      ctx.emit({ stage: "load", event: "start", loadId: pkg.loadId });
      let outcome: PackageLoadOutcome;
      try {
        outcome = await loadNormalizedPackage(pkg, client, {
          pipelineName: ctx.name,
          log: ctx.log,
          ...(ctx.retry ? { retry: ctx.retry } : {}),
          onJob: (job, state) =>
            ctx.emit({ stage: "load", table: job.table, job: job.id, state, loadId: pkg.loadId }),
        });
      } catch (err) {
        if (isFerryError(err, "load_failed")) {
          const moved = await ctx.store.markFailed(pkg);
          await recordPackageFailure(moved.dir, err);
          ctx.log.error(`load package ${pkg.loadId} failed; its files are kept in ${moved.dir}`);
        }
        throw err;
      }
      ctx.emit({ stage: "load", event: "committed", loadId: pkg.loadId });
      await commitLocally(ctx, pkg, outcome.rows);
      info.loadIds.push(pkg.loadId);
      addCounts(info.rows, outcome.rows);
      ctx.emit({ stage: "load", event: "end", loadId: pkg.loadId });
    }
  } finally {
    await client.close();
  }
  await ctx.refresh();
  return info;
}

/** After the destination committed: the package's state and schema become the local committed ones. */
async function commitLocally(
  ctx: PipelineContext,
  pkg: LoadPackage,
  rows: Record<string, number>,
): Promise<void> {
  const schema = await pkg.schema();
  const state = await pkg.state();
  if (schema) await ctx.local.writeSchema(schema);
  if (state) await ctx.local.writeState(state);
  await ctx.store.markCompleted(pkg, {
    loadId: pkg.loadId,
    completedAt: new Date().toISOString(),
    rows,
    schemaVersion: schema?.version,
  });
}
