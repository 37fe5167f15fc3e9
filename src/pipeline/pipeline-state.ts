import { join } from "node:path";
import type { ResourceState } from "../extract/extractor.js";
import type { StoredSchema } from "../schema/types.js";
import { readJsonFile, writeFileAtomic } from "../util/fs.js";

/** The committed pipeline state: what `_ferry_pipeline_state` stores and `ctx.state` persists into. */
export interface PipelineState {
  pipelineName: string;
  /** Increments with every committed load. */
  version: number;
  destination?: string;
  dataset?: string;
  defaultSchema?: string;
  schemaNames: string[];
  sources: Record<string, { resources: Record<string, ResourceState> }>;
  lastLoadId?: string;
}

export function emptyState(pipelineName: string): PipelineState {
  return { pipelineName, version: 0, schemaNames: [], sources: {} };
}

/** Local, committed state and schemas of a pipeline (`<dir>/<name>/state.json`, `schemas/<name>.json`). */
export class LocalStateStore {
  readonly #dir: string;

  constructor(pipelineDir: string) {
    this.#dir = pipelineDir;
  }

  get statePath(): string {
    return join(this.#dir, "state.json");
  }

  schemaPath(name: string): string {
    return join(this.#dir, "schemas", `${encodeURIComponent(name)}.json`);
  }

  readState(): Promise<PipelineState | undefined> {
    return readJsonFile<PipelineState>(this.statePath);
  }

  async writeState(state: PipelineState): Promise<void> {
    await writeFileAtomic(this.statePath, JSON.stringify(state, null, 1));
  }

  readSchema(name: string): Promise<StoredSchema | undefined> {
    return readJsonFile<StoredSchema>(this.schemaPath(name));
  }

  async writeSchema(schema: StoredSchema): Promise<void> {
    await writeFileAtomic(this.schemaPath(schema.name), JSON.stringify(schema, null, 1));
  }
}
