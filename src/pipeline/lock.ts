import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { FerryError, PipelineBusyError } from "../util/errors.js";
import { isProcessAlive } from "../util/process.js";

/**
 * One process at a time works on a pipeline dir. A lock left by a killed process (its pid is gone) is taken over,
 * so a crash never blocks the next run.
 */
export async function acquirePipelineLock(
  pipelineDir: string,
  pipelineName: string,
): Promise<() => Promise<void>> {
  const path = join(pipelineDir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && isProcessAlive(pid))) {
        throw new PipelineBusyError(`pipeline "${pipelineName}" is being run by process ${pid}`, {
          fields: { pipeline: pipelineName },
          hint: `wait for it to finish; if no such process runs, delete ${path}`,
        });
      }
      await rm(path, { force: true });
    }
  }
  throw new FerryError(`could not lock pipeline "${pipelineName}"`, { hint: `delete ${path} and run again` });
}
