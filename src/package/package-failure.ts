import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describeError } from "../util/errors.js";
import { writeFileAtomic } from "../util/fs.js";

/** Kept in a failed package's folder: why it failed (message, where, hint), for `ferry pipeline <name> failed-jobs`. */
const FILE = "failure.txt";

/**
 * Records why a package was set aside, next to its files; a package that failed before any job started (while
 * normalizing, or preparing the load) has no job error to show otherwise.
 *
 * @example
 * await recordPackageFailure(moved.dir, err);
 */
export async function recordPackageFailure(packageDir: string, err: unknown): Promise<void> {
  await writeFileAtomic(join(packageDir, FILE), describeError(err));
}

/** The recorded reason a package failed, if any. */
export async function readPackageFailure(packageDir: string): Promise<string | undefined> {
  return readFile(join(packageDir, FILE), "utf8").catch(() => undefined);
}
