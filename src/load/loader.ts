import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LoadPackage } from "../package/load-package.js";
import type { NormalizeManifest, PackageManifest } from "../package/manifest.js";
import type { StoredSchema, Table } from "../schema/types.js";
import {
  describeError,
  errorMessage,
  FerryError,
  isFerryError,
  LoadPackageFailedError,
} from "../util/errors.js";
import { contentHash } from "../util/hash.js";
import type { Logger } from "../util/log.js";
import { type RetryPolicy, withRetry } from "../util/retry.js";
import type { LoadClient, LoadJob, TableFamilyLoad } from "./load-client.js";

export type { RetryPolicy };

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 500 };

/**
 * Runs `fn`, retrying transient `FerryError`s (a locked database, a dropped connection) with the policy's
 * exponential backoff. Used for connecting to a destination, which happens outside a package's load attempts.
 */
export async function retryTransient<T>(
  what: string,
  fn: () => Promise<T>,
  retry: RetryPolicy,
  log: Logger,
): Promise<T> {
  return withRetry(
    fn,
    (err) => isFerryError(err) && err.transient,
    // Without jitter unless asked: one pipeline retries one thing at a time.
    { jitter: false, ...retry },
    (err, attempt, delay) =>
      log.warn(`${what} attempt ${attempt} failed (${errorMessage(err)}); retrying in ${delay} ms`),
  );
}

export interface LoadPackageOptions {
  pipelineName: string;
  log: Logger;
  retry?: RetryPolicy;
  onJob?: (job: LoadJob, event: "started" | "completed") => void;
}

export interface PackageLoadOutcome {
  loadId: string;
  /** True when the destination already had this package (a crash after commit): nothing was loaded again. */
  alreadyLoaded: boolean;
  rows: Record<string, number>;
  attempts: number;
}

/**
 * Loads one normalized package: resets jobs left over by a crash, skips packages the destination already
 * committed, retries transient failures with exponential backoff, and on a terminal failure moves the
 * failing job to `failed/` (with its error next to it) and throws `LoadPackageFailedError`.
 */
export async function loadNormalizedPackage(
  pkg: LoadPackage,
  client: LoadClient,
  opts: LoadPackageOptions,
): Promise<PackageLoadOutcome> {
  const manifest = await pkg.manifest();
  const normalized = await pkg.normalizeManifest();
  const schema = await pkg.schema();
  const state = await pkg.state();
  if (!manifest || !normalized || !schema || !state) {
    throw new FerryError(`load package ${pkg.loadId} is incomplete (missing manifest, schema or state)`, {
      fields: { loadId: pkg.loadId },
      hint: `remove ${pkg.dir} and run again`,
    });
  }
  const rows = normalized.rows;
  if (await client.isLoadCompleted(pkg.loadId)) {
    opts.log.info(`load ${pkg.loadId} was already committed by the destination; finishing it locally`);
    return { loadId: pkg.loadId, alreadyLoaded: true, rows, attempts: 0 };
  }
  const stateJson = JSON.stringify(state);
  let attempts = 0;
  let current: LoadJob | undefined;
  const attempt = async () => {
    attempts++;
    current = undefined;
    // Nothing of an earlier attempt (or a crashed process) was committed: every job starts again.
    const resumed = await pkg.resetJobs();
    await client.loadPackage({
      loadId: pkg.loadId,
      resumed,
      pipelineName: opts.pipelineName,
      schema,
      families: buildFamilies(pkg, manifest, normalized, schema),
      state: {
        json: stateJson,
        version: state.version,
        hash: contentHash(stateJson).slice(0, 22),
      },
      onJobStarted: async (job) => {
        current = job;
        await pkg.moveJob(job.id, "new", "started");
        job.path = join(pkg.jobDir("started"), job.id);
        opts.onJob?.(job, "started");
      },
      onJobCompleted: async (job) => {
        await pkg.moveJob(job.id, "started", "completed");
        job.path = join(pkg.jobDir("completed"), job.id);
        current = undefined;
        opts.onJob?.(job, "completed");
      },
    });
  };
  try {
    await retryTransient(`load ${pkg.loadId}`, attempt, opts.retry ?? DEFAULT_RETRY, opts.log);
    return { loadId: pkg.loadId, alreadyLoaded: false, rows, attempts };
  } catch (err) {
    if (isFerryError(err) && err.transient) throw err;
    const failed = current as LoadJob | undefined;
    if (failed) {
      await pkg.moveJob(failed.id, "started", "failed").catch(() => undefined);
      await writeFile(join(pkg.jobDir("failed"), `${failed.id}.exception`), describeError(err)).catch(
        () => undefined,
      );
    }
    throw new LoadPackageFailedError(`load package ${pkg.loadId} failed: ${errorMessage(err)}`, {
      cause: err,
      fields: { loadId: pkg.loadId, ...(failed ? { job: failed.id, table: failed.table } : {}) },
      hint: `nothing of this package was committed; its files are kept (ferry pipeline ${opts.pipelineName} failed-jobs). Fix the cause and run again.`,
    });
  }
}

function buildFamilies(
  pkg: LoadPackage,
  manifest: PackageManifest,
  normalized: NormalizeManifest,
  schema: StoredSchema,
): TableFamilyLoad[] {
  const tables = schema.tables;
  const familyOf = (name: string): Table[] => {
    const out: Table[] = [];
    const visit = (n: string) => {
      const t = tables[n];
      if (!t) return;
      out.push(t);
      for (const c of Object.values(tables)) if (c.parent === n) visit(c.name);
    };
    visit(name);
    return out;
  };
  const rootOf = (name: string): string => {
    let t = tables[name];
    while (t?.parent !== undefined) t = tables[t.parent];
    return t?.name ?? name;
  };
  const roots = new Set<string>(normalized.roots ?? Object.keys(manifest.tables));
  for (const t of Object.keys(normalized.index.tables)) roots.add(rootOf(t));
  const families: TableFamilyLoad[] = [];
  for (const r of roots) {
    const root = tables[r];
    if (!root) continue;
    const family = familyOf(r);
    const jobs: LoadJob[] = [];
    for (const t of family) {
      for (const entry of normalized.index.tables[t.name]?.files ?? [])
        jobs.push({ ...entry, table: t.name, path: join(pkg.jobDir("new"), entry.id) });
    }
    families.push({ root, tables: family, jobs });
  }
  return families;
}
