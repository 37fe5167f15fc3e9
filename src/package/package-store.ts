import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { renameDurable, writeFileAtomic } from "../util/fs.js";
import { compareLoadIds } from "./load-id.js";
import { LoadPackage } from "./load-package.js";

/** What is kept of a loaded package under `completed/<load id>.json`. */
export interface CompletedRecord {
  loadId: string;
  completedAt: string;
  rows: Record<string, number>;
  schemaVersion: number | undefined;
}

/**
 * The packages of one pipeline, oldest first: pending ones under `packages/`, failed ones kept under `failed/` for
 * inspection, and a small record of each loaded one under `completed/`.
 *
 * @example
 * const store = new PackageStore(".ferry/gh");
 * for (const pkg of await store.list()) console.log(pkg.loadId, await pkg.stage());
 */
export class PackageStore {
  readonly root: string;

  constructor(pipelineDir: string) {
    this.root = pipelineDir;
  }

  get packagesDir(): string {
    return join(this.root, "packages");
  }
  get failedDir(): string {
    return join(this.root, "failed");
  }
  get completedDir(): string {
    return join(this.root, "completed");
  }

  async create(loadId: string): Promise<LoadPackage> {
    // Deletes what a crash during LoadPackage.remove() left behind.
    for (const n of await readdir(this.packagesDir).catch(() => [] as string[])) {
      if (n.startsWith(".") && n.endsWith(".removing"))
        await rm(join(this.packagesDir, n), { recursive: true, force: true });
    }
    const dir = join(this.packagesDir, loadId);
    await mkdir(join(dir, "extracted"), { recursive: true });
    return new LoadPackage(dir, loadId);
  }

  async list(): Promise<LoadPackage[]> {
    return this.#listIn(this.packagesDir);
  }

  async listFailed(): Promise<LoadPackage[]> {
    return this.#listIn(this.failedDir);
  }

  async #listIn(dir: string): Promise<LoadPackage[]> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => !n.startsWith("."))
      .sort(compareLoadIds)
      .map((n) => new LoadPackage(join(dir, n), n));
  }

  /** Moves a package out of the way after a terminal failure; its files stay for `failed-jobs`. */
  async markFailed(pkg: LoadPackage): Promise<LoadPackage> {
    const to = join(this.failedDir, pkg.loadId);
    await renameDurable(pkg.dir, to);
    return new LoadPackage(to, pkg.loadId);
  }

  /** Keeps a small record of a loaded package (the newest `keep`) and removes its files. */
  async markCompleted(pkg: LoadPackage, record: CompletedRecord, keep = 100): Promise<void> {
    await writeFileAtomic(join(this.completedDir, `${pkg.loadId}.json`), JSON.stringify(record, null, 1));
    await pkg.remove();
    const records = (await readdir(this.completedDir))
      .filter((f) => f.endsWith(".json"))
      .sort(compareLoadIds);
    for (const old of records.slice(0, Math.max(0, records.length - keep))) {
      await rm(join(this.completedDir, old), { force: true });
    }
  }
}
