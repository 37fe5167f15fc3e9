import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { setting } from "../config/settings.js";
import type { TargetLoader } from "../orchestration/job-runner.js";
import { type JobsConfig, parseJobsConfig, projectBaseDir } from "../orchestration/jobs-config.js";
import { childLogger } from "../util/log.js";
import { loadRunTarget } from "./load-target.js";
import { readProjectFile } from "./serve-command.js";

/** The pipelines part of a project file, with where things live. */
export interface JobsProject {
  config: JobsConfig;
  /** The pipelines dir: `--dir`, else `serve.dir` of the project file, else FERRY_PIPELINES_DIR or `.ferry`. */
  dir: string;
  /** Whether `--dir`/`serve.dir` chose it (then every pipeline's working dir is there too). */
  dirGiven: boolean;
  /** The whole file, parsed. */
  raw: unknown;
}

/** Reads the project file (`--config`, else ./ferry.yaml) for its `pipelines:`, `alerts:` and `scheduler:`. */
export async function readJobsProject(flags: { config?: string; dir?: string }): Promise<JobsProject> {
  return jobsProjectOf(await readProjectFile(flags.config), flags);
}

/** The pipelines part of a project file already read (`raw`, from `--config` or ./ferry.yaml). */
export function jobsProjectOf(raw: unknown, flags: { config?: string; dir?: string }): JobsProject {
  const file = flags.config ?? (existsSync("ferry.yaml") ? "ferry.yaml" : undefined);
  const config = parseJobsConfig(raw, projectBaseDir(file));
  const serveDir = (raw as { serve?: { dir?: unknown } } | undefined)?.serve?.dir;
  const given = flags.dir ?? (typeof serveDir === "string" ? serveDir : undefined);
  return { config, dir: resolve(given ?? setting("pipelinesDir")), dirGiven: given !== undefined, raw };
}

/**
 * Builds a job's pipeline as `ferry run` would from its spec or module, named after the job, with the job's
 * destination/dataset overrides, and the pipelines dir when one was given.
 */
export function projectTargetLoader(project: Pick<JobsProject, "dir" | "dirGiven">): TargetLoader {
  return async (job, options) => {
    const file = (job.spec ?? job.module) as string;
    return loadRunTarget(
      file,
      {
        pipeline: job.name,
        ...(job.destination ? { destination: job.destination } : {}),
        ...(job.dataset ? { dataset: job.dataset } : {}),
        ...(project.dirGiven ? { dir: project.dir } : {}),
      },
      {
        logger: childLogger(options.logger, job.name),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
  };
}
