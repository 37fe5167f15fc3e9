import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { TableHints } from "../extract/extractor.js";
import type { CsvColumn } from "../formats/typed-csv.js";
import type { LoadFileIndex } from "../normalize/load-file-writer.js";
import type { SchemaChange } from "../schema/schema.js";
import type { StoredSchema } from "../schema/types.js";
import { exists, readJsonFile, removeDir, renameDurable, writeFileAtomic } from "../util/fs.js";

/** Written when extraction finished: its presence is what makes a package "extracted". */
export interface PackageManifest {
  loadId: string;
  pipelineName: string;
  schemaName: string;
  createdAt: string;
  /** Root tables the extract declared, with the hints of their resource. */
  tables: Record<string, TableHints>;
  /** Extracted files per table (names inside `extracted/`). */
  files: Record<string, string[]>;
  /** Typed CSV files per table (inside `extracted/`), handed over whole by resources. */
  typedCsv?: Record<string, TypedCsvEntry[]>;
  items: Record<string, number>;
  warnings: string[];
}

/** A typed CSV file of a package: its name inside `extracted/`, its columns and how many records it holds. */
export interface TypedCsvEntry {
  file: string;
  columns: CsvColumn[];
  rows: number;
}

/** Written by normalize next to the jobs. */
export interface NormalizeManifest {
  index: LoadFileIndex;
  /** The package's root tables as named in the schema (shortened to the destination's limit where needed). */
  roots?: string[];
  schemaChanges: SchemaChange[];
  warnings: string[];
  rows: Record<string, number>;
}

export type PackageStage = "extracting" | "extracted" | "normalized";
export const JOB_STATES = ["new", "started", "completed", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * A load package on disk under `<pipeline dir>/packages/<load id>/`:
 * ```
 * manifest.json   extraction finished (tables, hints, files)
 * state.json      pipeline state to commit with this package
 * extracted/      items as JSON lines, per table
 * normalizing/    normalize output in progress (discarded after a crash)
 * jobs/           normalized: schema.json, normalize.json, new/ started/ completed/ failed/ load files
 * ```
 * Each stage ends with an atomic rename or write, so a crash leaves a package in exactly one stage.
 */
export class LoadPackage {
  readonly dir: string;
  readonly loadId: string;

  constructor(dir: string, loadId: string) {
    this.dir = dir;
    this.loadId = loadId;
  }

  get extractedDir(): string {
    return join(this.dir, "extracted");
  }
  get normalizingDir(): string {
    return join(this.dir, "normalizing");
  }
  get jobsDir(): string {
    return join(this.dir, "jobs");
  }
  jobDir(state: JobState): string {
    return join(this.jobsDir, state);
  }

  async stage(): Promise<PackageStage> {
    if (await exists(join(this.jobsDir, "normalize.json"))) return "normalized";
    if (await exists(join(this.dir, "manifest.json"))) return "extracted";
    return "extracting";
  }

  manifest(): Promise<PackageManifest | undefined> {
    return readJsonFile<PackageManifest>(join(this.dir, "manifest.json"));
  }
  async writeManifest(m: PackageManifest): Promise<void> {
    await writeFileAtomic(join(this.dir, "manifest.json"), JSON.stringify(m, null, 1));
  }
  state(): Promise<Record<string, unknown> | undefined> {
    return readJsonFile(join(this.dir, "state.json"));
  }
  async writeState(state: unknown): Promise<void> {
    await writeFileAtomic(join(this.dir, "state.json"), JSON.stringify(state));
  }
  schema(): Promise<StoredSchema | undefined> {
    return readJsonFile(join(this.jobsDir, "schema.json"));
  }
  normalizeManifest(): Promise<NormalizeManifest | undefined> {
    return readJsonFile(join(this.jobsDir, "normalize.json"));
  }

  /** Starts normalize from scratch (drops output of an interrupted attempt). */
  async resetNormalizing(): Promise<string> {
    await removeDir(this.normalizingDir);
    await mkdir(this.normalizeOutDir, { recursive: true });
    return this.normalizeOutDir;
  }

  /** Where normalize writes load files (inside `normalizingDir`). */
  get normalizeOutDir(): string {
    return join(this.normalizingDir, "new");
  }

  /** Publishes normalize output: schema and index are written, then one rename makes the package loadable. */
  async commitNormalized(schema: StoredSchema, manifest: NormalizeManifest): Promise<void> {
    await writeFileAtomic(join(this.normalizingDir, "schema.json"), JSON.stringify(schema));
    await writeFileAtomic(join(this.normalizingDir, "normalize.json"), JSON.stringify(manifest));
    await removeDir(this.jobsDir);
    await renameDurable(this.normalizingDir, this.jobsDir);
    // Extracted items are no longer needed once the load files exist.
    await removeDir(this.extractedDir);
  }

  /** Lists job file names in a lifecycle state. */
  async jobs(state: JobState): Promise<string[]> {
    try {
      return (await readdir(this.jobDir(state))).filter((f) => f.endsWith(".jsonl")).sort();
    } catch {
      return [];
    }
  }

  async moveJob(file: string, from: JobState, to: JobState): Promise<void> {
    await renameDurable(join(this.jobDir(from), file), join(this.jobDir(to), file));
  }

  /** After a crash or a rolled-back attempt: every job goes back to `new` (nothing of them was committed). */
  async resetJobs(): Promise<void> {
    for (const state of ["started", "completed", "failed"] as const) {
      for (const f of await this.jobs(state)) await this.moveJob(f, state, "new");
    }
  }

  /**
   * Leaves the package list in one atomic rename (to a hidden `.<id>.removing` the list skips), then deletes:
   * a crash in the middle of the recursive delete must not leave a half-deleted package that looks pending.
   */
  async remove(): Promise<void> {
    const trash = join(dirname(this.dir), `.${basename(this.dir)}.removing`);
    await rm(trash, { recursive: true, force: true });
    try {
      await rename(this.dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
  }
}

/** The packages of one pipeline, oldest first. */
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
  async markCompleted(pkg: LoadPackage, record: unknown, keep = 100): Promise<void> {
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

/** Load ids are `<epoch ms>.<random>`: compare numerically by time first. */
export function compareLoadIds(a: string, b: string): number {
  const ta = Number(a.split(".")[0]);
  const tb = Number(b.split(".")[0]);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}
