import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FILE_FORMATS, type FileFormat } from "../formats/file-format.js";
import type { StoredSchema } from "../schema/types.js";
import { exists, readJsonFile, removeDir, renameDurable, writeFileAtomic } from "../util/fs.js";
import { readLoadFileIndex } from "./load-files.js";
import { type NormalizeManifest, type PackageManifest, readPackageManifest } from "./manifest.js";
import type { PipelineState } from "./state.js";

export type PackageStage = "extracting" | "extracted" | "normalized";
export const JOB_STATES = ["new", "started", "completed", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Extensions of load files (every load-file format's): job folders hold these and the failed jobs' `.exception`s. */
const JOB_EXTENSIONS = (Object.values(FILE_FORMATS) as FileFormat[])
  .filter((f) => f.loadFile !== undefined)
  .map((f) => `.${f.extension}`);

/**
 * A load package on disk under `<pipeline dir>/packages/<load id>/`:
 * ```
 * manifest.json   extraction finished (tables, hints, files)
 * state.json      pipeline state to commit with this package
 * extracted/      items as JSON lines per table, and files sources handed over whole
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

  async manifest(): Promise<PackageManifest | undefined> {
    const stored = await readJsonFile<Parameters<typeof readPackageManifest>[0]>(
      join(this.dir, "manifest.json"),
    );
    return stored && readPackageManifest(stored);
  }
  async writeManifest(m: PackageManifest): Promise<void> {
    await writeFileAtomic(join(this.dir, "manifest.json"), JSON.stringify(m, null, 1));
  }
  /** The pipeline state to commit with this package. */
  state(): Promise<PipelineState | undefined> {
    return readJsonFile<PipelineState>(join(this.dir, "state.json"));
  }
  async writeState(state: PipelineState): Promise<void> {
    await writeFileAtomic(join(this.dir, "state.json"), JSON.stringify(state));
  }
  schema(): Promise<StoredSchema | undefined> {
    return readJsonFile(join(this.jobsDir, "schema.json"));
  }
  async normalizeManifest(): Promise<NormalizeManifest | undefined> {
    const stored = await readJsonFile<NormalizeManifest>(join(this.jobsDir, "normalize.json"));
    return stored && { ...stored, index: readLoadFileIndex(stored.index) };
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
      return (await readdir(this.jobDir(state)))
        .filter((f) => JOB_EXTENSIONS.some((e) => f.endsWith(e)))
        .sort();
    } catch {
      return [];
    }
  }

  async moveJob(file: string, from: JobState, to: JobState): Promise<void> {
    await renameDurable(join(this.jobDir(from), file), join(this.jobDir(to), file));
  }

  /**
   * After a crash or a rolled-back attempt: every job goes back to `new` (nothing of them was committed). Returns
   * whether any job had started: an earlier attempt may have sent some of the package's rows.
   */
  async resetJobs(): Promise<boolean> {
    let started = false;
    for (const state of ["started", "completed", "failed"] as const) {
      for (const f of await this.jobs(state)) {
        await this.moveJob(f, state, "new");
        started = true;
      }
    }
    return started;
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
