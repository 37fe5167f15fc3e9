import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { ObjectStore } from "../storage/object-store.js";
import { readJsonFile, writeFileAtomic } from "../util/fs.js";

/**
 * Where a pipeline's working dir (state, schemas, load packages) lives between the steps of a run. Workers that
 * share a disk need nothing (`sharedDisk`); workers that do not share one keep it in object storage: each step
 * pulls the pipeline's working dir before it runs and pushes it when it is done, so the next step may run on another
 * worker.
 */
export interface WorkingStore {
  readonly description: string;
  /** Makes the local working dir the shared copy (nothing to do when it already is). */
  pull(pipeline: string, dir: string): Promise<void>;
  /** Publishes the local working dir as the shared copy. */
  push(pipeline: string, dir: string): Promise<void>;
  close(): Promise<void>;
}

/** Workers share the pipelines dir (one machine, or a network file system). */
export const sharedDisk: WorkingStore = {
  description: "the local pipelines dir (shared disk)",
  pull: async () => undefined,
  push: async () => undefined,
  close: async () => undefined,
};

/** A snapshot of a working dir: its files by path, each by content hash. */
interface Snapshot {
  generation: number;
  files: Record<string, { size: number; hash: string }>;
  /** Every folder, empty ones included (a package's stage shows in its folders). */
  dirs: string[];
}

const SNAPSHOT = "snapshot.json";
/** The copy of the snapshot the local dir was last synced to. */
const LOCAL_MARK = ".working-store.json";
/** Files that belong to one process and never travel. */
const LOCAL_ONLY = new Set([LOCAL_MARK, ".lock", "trace.json"]);

/**
 * A working store in object storage (`s3://bucket/prefix`, `gs://...`, `az://...`, `file:///...`): per pipeline a
 * `snapshot.json` naming every file of the working dir by content hash, the contents under `blobs/<sha256>`.
 * A push uploads the blobs it lacks, then replaces the snapshot (the one write that makes it visible), then deletes
 * the blobs no snapshot names any more; a worker killed during a push leaves the previous snapshot whole, so the step
 * that was pushing runs again from it. One run of a pipeline at a time (the workflow id and the schedule's overlap
 * policy see to that), so snapshots are never written by two workers at once.
 *
 * @example
 * const working = new ObjectWorkingStore(await openObjectStore("s3://ferry-state/prod"));
 * await working.pull("crm", ".ferry/crm"); ... await working.push("crm", ".ferry/crm");
 */
export class ObjectWorkingStore implements WorkingStore {
  readonly #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  get description(): string {
    return this.#store.description;
  }

  async pull(pipeline: string, dir: string): Promise<void> {
    const remote = await this.#snapshot(pipeline);
    const local = await readJsonFile<Snapshot>(join(dir, LOCAL_MARK)).catch(() => undefined);
    if (remote === undefined) {
      // Nothing shared yet: the first step of a pipeline's first run starts from an empty dir (state comes back
      // from the destination when there is some).
      if (local !== undefined) await rm(dir, { recursive: true, force: true });
      return;
    }
    if (local?.generation === remote.generation) return;
    const { files: present, dirs } = await listTree(dir);
    for (const [path, entry] of Object.entries(remote.files)) {
      const have = present.get(path);
      if (have !== undefined && have === entry.size && local?.files[path]?.hash === entry.hash) continue;
      const target = join(dir, ...path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      if (!(await this.#store.getFile(this.#blob(pipeline, entry.hash), target)))
        throw new Error(`the working store lost ${path} of pipeline ${pipeline} (blob ${entry.hash})`);
    }
    for (const path of present.keys())
      if (!(path in remote.files)) await rm(join(dir, ...path.split("/")), { force: true });
    const wanted = new Set(remote.dirs);
    for (const d of remote.dirs) await mkdir(join(dir, ...d.split("/")), { recursive: true });
    // Deepest first, so a folder is empty of unwanted folders when it is looked at.
    for (const d of [...dirs].sort((a, b) => b.length - a.length))
      if (!wanted.has(d)) await rm(join(dir, ...d.split("/")), { recursive: true, force: true });
    await writeFileAtomic(join(dir, LOCAL_MARK), JSON.stringify(remote));
  }

  async push(pipeline: string, dir: string): Promise<void> {
    const before = await this.#snapshot(pipeline);
    const known = new Set(Object.values(before?.files ?? {}).map((f) => f.hash));
    const files: Snapshot["files"] = {};
    const tree = await listTree(dir);
    for (const [path, size] of tree.files) {
      const full = join(dir, ...path.split("/"));
      const hash = await sha256(full);
      files[path] = { size, hash };
      if (!known.has(hash)) {
        await this.#store.putFile(this.#blob(pipeline, hash), full);
        known.add(hash);
      }
    }
    const next: Snapshot = { generation: (before?.generation ?? 0) + 1, files, dirs: tree.dirs };
    await this.#store.put(`${pipeline}/${SNAPSHOT}`, JSON.stringify(next));
    await writeFileAtomic(join(dir, LOCAL_MARK), JSON.stringify(next));
    const used = new Set(Object.values(files).map((f) => f.hash));
    const unused = Object.values(before?.files ?? {})
      .map((f) => f.hash)
      .filter((h) => !used.has(h));
    if (unused.length > 0) await this.#store.delete([...new Set(unused)].map((h) => this.#blob(pipeline, h)));
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #blob(pipeline: string, hash: string): string {
    return `${pipeline}/blobs/${hash}`;
  }

  async #snapshot(pipeline: string): Promise<Snapshot | undefined> {
    const body = await this.#store.get(`${pipeline}/${SNAPSHOT}`);
    return body === undefined ? undefined : (JSON.parse(body.toString("utf8")) as Snapshot);
  }
}

/**
 * Every file under `dir` (paths relative, with `/`) and its size, and every folder; files that never travel are
 * left out.
 */
async function listTree(dir: string): Promise<{ files: Map<string, number>; dirs: string[] }> {
  const out = new Map<string, number>();
  const dirs: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        dirs.push(relative(dir, p).split(sep).join("/"));
        await walk(p);
      } else if (e.isFile()) {
        const rel = relative(dir, p).split(sep).join("/");
        if (LOCAL_ONLY.has(rel) || e.name.endsWith(".tmp")) continue;
        out.set(rel, (await stat(p)).size);
      }
    }
  };
  await walk(dir);
  return { files: out, dirs };
}

function sha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}
