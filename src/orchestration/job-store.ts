import { mkdir, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { FerryError } from "../util/errors.js";
import { readJsonFile, writeFileAtomic } from "../util/fs.js";
import { isProcessAlive } from "../util/process.js";
import { type JobRecord, type PauseRecord, pipelineOfRunId } from "./job-record.js";

/**
 * The job history and the schedules' pauses, in plain files under `<pipelines dir>/_jobs/`:
 *
 * - `runs/<pipeline>/<run id>.json`: one record per run, replaced whole (write, fsync, rename) when it changes, so a
 *   kill -9 leaves the old or the new record, never a torn one; only the newest `keep` records are kept;
 * - `paused/<pipeline>.json`: present while the pipeline's schedule is paused (why, since when, by whom);
 * - `scheduler.lock`: the process running the schedules of this dir (one at a time).
 *
 * Several processes share it safely: a run record is written only by the process running it (one run of a pipeline
 * at a time, under the pipeline's lock), and pausing or resuming creates or deletes one file.
 *
 * @example
 * const store = new JobStore(".ferry");
 * const recent = await store.list({ limit: 20 });
 */
export class JobStore {
  readonly dir: string;

  constructor(pipelinesDir: string) {
    this.dir = join(pipelinesDir, "_jobs");
  }

  #runsDir(pipeline: string): string {
    return join(this.dir, "runs", pipeline);
  }

  /** Writes (or replaces) a run's record. */
  async save(record: JobRecord): Promise<void> {
    await writeFileAtomic(
      join(this.#runsDir(record.pipeline), `${record.id}.json`),
      JSON.stringify(record, null, 1),
    );
  }

  /** A run's record by id. */
  async get(id: string): Promise<JobRecord | undefined> {
    const pipeline = pipelineOfRunId(id);
    if (pipeline === undefined) return undefined;
    return readJsonFile<JobRecord>(join(this.#runsDir(pipeline), `${id}.json`)).catch(() => undefined);
  }

  /** Run ids of a pipeline, oldest first. */
  async runIds(pipeline: string): Promise<string[]> {
    const files = await readdir(this.#runsDir(pipeline)).catch(() => [] as string[]);
    return files
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -5))
      .sort();
  }

  /** The pipelines that have a history. */
  async pipelines(): Promise<string[]> {
    return (await readdir(join(this.dir, "runs")).catch(() => [] as string[])).sort();
  }

  /** The newest records (of one pipeline, or of all), newest first. */
  async list(options: { pipeline?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const limit = options.limit ?? 50;
    const pipelines = options.pipeline !== undefined ? [options.pipeline] : await this.pipelines();
    const ids: string[] = [];
    for (const p of pipelines) ids.push(...(await this.runIds(p)).slice(-limit));
    // Ids embed their UTC start time after the pipeline name: compare on that part.
    const at = (id: string) => id.slice(id.length - 24);
    ids.sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
    const out: JobRecord[] = [];
    for (const id of ids.slice(0, limit)) {
      const r = await this.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  /** The newest record of a pipeline that matches, looking back at most `depth` records. */
  async latest(
    pipeline: string,
    match: (r: JobRecord) => boolean = () => true,
    depth = 50,
  ): Promise<JobRecord | undefined> {
    const ids = await this.runIds(pipeline);
    for (let i = ids.length - 1; i >= 0 && i >= ids.length - depth; i--) {
      const r = await this.get(ids[i] as string);
      if (r && match(r)) return r;
    }
    return undefined;
  }

  /** Deletes the oldest records of a pipeline beyond the newest `keep`. */
  async prune(pipeline: string, keep: number): Promise<void> {
    const ids = await this.runIds(pipeline);
    for (const id of ids.slice(0, Math.max(0, ids.length - keep)))
      await rm(join(this.#runsDir(pipeline), `${id}.json`), { force: true });
  }

  /** Pauses a pipeline's schedule (replacing an earlier pause). */
  async pause(record: PauseRecord): Promise<void> {
    await writeFileAtomic(
      join(this.dir, "paused", `${record.pipeline}.json`),
      JSON.stringify(record, null, 1),
    );
  }

  /** Resumes it; false when it was not paused. */
  async resume(pipeline: string): Promise<boolean> {
    const path = join(this.dir, "paused", `${pipeline}.json`);
    const was = await stat(path).then(
      () => true,
      () => false,
    );
    await rm(path, { force: true });
    return was;
  }

  async paused(pipeline: string): Promise<PauseRecord | undefined> {
    return readJsonFile<PauseRecord>(join(this.dir, "paused", `${pipeline}.json`)).catch(() => undefined);
  }

  /** Every pause, by pipeline. */
  async pauses(): Promise<Map<string, PauseRecord>> {
    const out = new Map<string, PauseRecord>();
    for (const f of await readdir(join(this.dir, "paused")).catch(() => [] as string[])) {
      if (!f.endsWith(".json")) continue;
      const r = await readJsonFile<PauseRecord>(join(this.dir, "paused", f)).catch(() => undefined);
      if (r) out.set(f.slice(0, -5), r);
    }
    return out;
  }

  /** A cheap fingerprint of the pauses folder: it changes whenever a pause is made or lifted. */
  async pausesVersion(): Promise<string> {
    const s = await stat(join(this.dir, "paused")).catch(() => undefined);
    return s ? `${s.mtimeMs}:${s.ino}` : "none";
  }

  /**
   * Takes the right to run this dir's schedules: refused while another live process holds it; a lock left by a
   * killed process is taken over. Returns the release function.
   */
  async lockScheduler(): Promise<() => Promise<void>> {
    const path = join(this.dir, "scheduler.lock");
    await mkdir(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(path, "wx");
        await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
        await fh.close();
        return () => rm(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const owner = JSON.parse(await readFile(path, "utf8").catch(() => "{}")) as {
          pid?: number;
          host?: string;
        };
        const alive = owner.host === hostname() && typeof owner.pid === "number" && isProcessAlive(owner.pid);
        if (alive || (owner.host !== undefined && owner.host !== hostname()))
          throw new FerryError(
            `the schedules of ${this.dir} are already run by process ${owner.pid} on ${owner.host}`,
            {
              hint: `run one ferry serve with schedules per pipelines dir; if that process is gone, delete ${path}`,
            },
          );
        await rm(path, { force: true });
      }
    }
    throw new FerryError(`could not take ${path}`, { hint: `delete ${path} and start again` });
  }
}

/**
 * True when the process that owned a record is known to be gone: same host, and its pid is not alive or is this
 * process's own (a restarted container reuses its pid; callers ask only about records they do not hold).
 */
export function ownerGone(record: Pick<JobRecord, "owner">): boolean {
  if (record.owner.host !== hostname()) return false;
  return record.owner.pid === process.pid || !isProcessAlive(record.owner.pid);
}
