import { join } from "node:path";
import type { PipelineState } from "../package/state.js";
import type { StoredSchema } from "../schema/types.js";
import { readJsonFile, writeFileAtomic } from "../util/fs.js";

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
