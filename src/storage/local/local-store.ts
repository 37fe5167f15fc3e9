import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { uniqueId } from "../../util/hash.js";
import { checkKey, checkPrefix } from "../location.js";
import type { ObjectInfo, ObjectStore } from "../object-store.js";

/** Rejects keys that would leave the root (`..`, absolute paths): keys may come from table names. */
function safeKey(key: string): string {
  checkKey(key);
  return key.split("/").join(sep);
}

/**
 * A folder on local disk as an object store. Writes go to a temporary name first and are renamed into place,
 * so a reader (or a crash) never sees half a file.
 *
 * @example
 * const store = new LocalStore("/data/lake");
 */
export class LocalStore implements ObjectStore {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = root;
    this.description = `file://${root}`;
  }

  #path(key: string): string {
    return join(this.root, safeKey(key));
  }

  async #atomic(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.#path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${uniqueId()}.tmp`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  putFile(key: string, localPath: string): Promise<void> {
    return this.#atomic(key, (tmp) => copyFile(localPath, tmp));
  }

  put(key: string, body: Uint8Array | string): Promise<void> {
    return this.#atomic(key, async (tmp) => {
      const out = createWriteStream(tmp);
      await pipeline([typeof body === "string" ? Buffer.from(body) : body], out);
    });
  }

  /**
   * The object is written whole under a temporary name and hard-linked into place: `link` fails when the target
   * exists, atomically, so of racing writers exactly one wins and readers never see half an object. Where the disk
   * has no hard links, an exclusive create (`wx`) keeps the one-winner guarantee.
   */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const target = this.#path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${uniqueId()}.tmp`;
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const existing = async () => (await readFile(target)).equals(bytes);
    try {
      await writeFile(tmp, bytes);
      await link(tmp, target);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return existing();
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw err;
      try {
        await writeFile(target, bytes, { flag: "wx" });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return existing();
        throw e;
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    try {
      await stat(this.#path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    await mkdir(dirname(localPath), { recursive: true });
    await pipeline(createReadStream(this.#path(key)), createWriteStream(localPath));
    return true;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.endsWith(".tmp")) {
          const key = relative(this.root, full).split(sep).join("/");
          if (key.startsWith(prefix)) {
            const st = await stat(full);
            out.push({ key, size: st.size, modifiedAt: Math.floor(st.mtimeMs) });
          }
        }
      }
    };
    // Only the folders the prefix can be in are walked.
    const slash = prefix.lastIndexOf("/");
    await walk(slash >= 0 ? join(this.root, safeKey(prefix.slice(0, slash))) : this.root);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    for (const k of keys) await rm(this.#path(k), { force: true });
  }

  async close(): Promise<void> {}
}
