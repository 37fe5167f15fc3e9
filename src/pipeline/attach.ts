import type { PipelineState } from "../package/state.js";
import { FerryError } from "../util/errors.js";
import { Pipeline, type PipelineOptions } from "./pipeline.js";

/** Opens an existing pipeline from its working dir (destination and dataset come from its state). */
export async function attachPipeline(
  name: string,
  options: Omit<PipelineOptions, "name"> = {},
): Promise<Pipeline> {
  const probe = new Pipeline({ name, ...options });
  await probe.refresh();
  let state: Partial<PipelineState> | undefined = probe.state;
  if (!state) {
    // No committed state yet (the first load failed or is pending): the packages know destination and dataset.
    const { pending, failed } = await probe.packages();
    for (const pkg of [...pending, ...failed].reverse()) {
      state = await pkg.state();
      if (state) break;
    }
  }
  // A first run that failed before any package was written still leaves its trace to inspect.
  if (!state && !options.destination && !(await probe.readTrace())) {
    throw new FerryError(`pipeline "${name}" has no working dir in ${probe.dir}`, {
      fields: { pipeline: name },
      hint: "check --dir (or FERRY_PIPELINES_DIR), or pass --destination and --dataset to restore it from the destination",
    });
  }
  const p = new Pipeline({
    name,
    ...options,
    ...(options.destination ? {} : state?.destination ? { destination: state.destination } : {}),
    ...(options.dataset ? {} : state?.dataset ? { dataset: state.dataset } : {}),
  });
  await p.refresh();
  return p;
}
