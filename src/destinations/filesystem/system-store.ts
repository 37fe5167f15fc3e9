import type { PackageLoadRequest, StoredStateRecord } from "../../load/load-client.js";
import { compareLoadIds } from "../../package/load-id.js";
import type { StoredSchema } from "../../schema/types.js";
import type { ObjectStore } from "../../storage/object-store.js";
import {
  idOfKey,
  type LoadMarker,
  type StateRecord,
  systemKeys,
  type TableLoadRecord,
  type VersionRecord,
} from "./system-files.js";

const parse = <T>(body: Buffer): T => JSON.parse(body.toString("utf8")) as T;

/**
 * ferry's own files of a dataset in a store: writes a load's schema version, state and marker, and reads back the
 * newest state and schema of completed loads (what a pipeline restores from on a new machine).
 *
 * @example
 * const system = new SystemStore(store, "github");
 * if (!(await system.isLoadCompleted(loadId))) { ...; await system.writeMarker(req, tables); }
 */
export class SystemStore {
  readonly #store: ObjectStore;
  readonly keys: ReturnType<typeof systemKeys>;

  constructor(store: ObjectStore, dataset: string) {
    this.#store = store;
    this.keys = systemKeys(dataset);
  }

  async isLoadCompleted(loadId: string): Promise<boolean> {
    return (await this.#store.get(this.keys.marker(loadId))) !== undefined;
  }

  /** Writes the schema version unless a completed load (or this one) already stored it. */
  async writeSchemaVersion(schema: StoredSchema, loadId: string): Promise<void> {
    const key = this.keys.version(schema.name, schema.version, schema.versionHash);
    const existing = await this.#store.get(key);
    if (existing) {
      const rec = parse<VersionRecord>(existing);
      if (rec.load_id === loadId || (await this.isLoadCompleted(rec.load_id))) return;
    }
    const rec: VersionRecord = {
      version: schema.version,
      engine_version: schema.engineVersion,
      inserted_at: new Date().toISOString(),
      schema_name: schema.name,
      version_hash: schema.versionHash,
      schema,
      load_id: loadId,
    };
    await this.#store.put(key, JSON.stringify(rec));
  }

  async writeState(req: PackageLoadRequest, now: string): Promise<void> {
    const state: StateRecord = {
      version: req.state.version,
      engine_version: 1,
      pipeline_name: req.pipelineName,
      state: JSON.parse(req.state.json),
      created_at: now,
      version_hash: req.state.hash,
      _ferry_load_id: req.loadId,
    };
    await this.#store.put(this.keys.state(req.pipelineName, req.loadId), JSON.stringify(state));
  }

  /** The marker: written last, it makes the load complete for every reader. */
  async writeMarker(
    req: PackageLoadRequest,
    tables: Record<string, TableLoadRecord>,
    now: string,
  ): Promise<void> {
    const marker: LoadMarker = {
      load_id: req.loadId,
      schema_name: req.schema.name,
      status: 0,
      inserted_at: now,
      schema_version_hash: req.schema.versionHash,
      pipeline_name: req.pipelineName,
      tables,
    };
    await this.#store.put(this.keys.marker(req.loadId), JSON.stringify(marker));
  }

  async #completedIds(): Promise<Set<string>> {
    return new Set((await this.#store.list(this.keys.loadsPrefix)).map((o) => idOfKey(o.key)));
  }

  /** The state of the pipeline's newest completed load. */
  async storedState(pipelineName: string): Promise<StoredStateRecord | undefined> {
    const listed = await this.#store.list(this.keys.statePrefix(pipelineName));
    if (listed.length === 0) return undefined;
    const completed = await this.#completedIds();
    const ids = listed.map((o) => idOfKey(o.key)).sort((a, b) => compareLoadIds(b, a));
    for (const id of ids) {
      if (!completed.has(id)) continue;
      const body = await this.#store.get(this.keys.state(pipelineName, id));
      if (!body) continue;
      const r = parse<StateRecord>(body);
      if (r.pipeline_name !== pipelineName) continue;
      return { state: JSON.stringify(r.state), version: r.version, loadId: id, createdAt: r.created_at };
    }
    return undefined;
  }

  /** The newest schema version a completed load stored. */
  async storedSchema(schemaName: string): Promise<StoredSchema | undefined> {
    const listed = await this.#store.list(this.keys.versionPrefix(schemaName));
    if (listed.length === 0) return undefined;
    const completed = await this.#completedIds();
    // Keys start with the zero-padded version: newest first.
    for (const o of [...listed].sort((a, b) => (a.key < b.key ? 1 : -1))) {
      const body = await this.#store.get(o.key);
      if (!body) continue;
      const r = parse<VersionRecord>(body);
      if (r.schema_name === schemaName && completed.has(r.load_id)) return r.schema;
    }
    return undefined;
  }
}
