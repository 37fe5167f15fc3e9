import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type StoreTarget, storeTargets } from "./object-store-targets.js";

// Upload and download throughput of a 100 MB file per store, and the peak RSS growth of the process doing it
// (streaming: memory must not grow with the file). Each store runs in a fresh child process. Opt-in, as it
// moves 200 MB per store: FERRY_STORE_THROUGHPUT=1 (or =<size in MB>).

const env = process.env.FERRY_STORE_THROUGHPUT;
const mb = env === undefined ? 0 : env === "1" ? 100 : Number(env);
const skip = mb > 0 ? false : "throughput runs on request: FERRY_STORE_THROUGHPUT=1";
const targets: StoreTarget[] = mb > 0 ? await storeTargets() : [];
const work = mkdtempSync(join(tmpdir(), "ferry-store-tp-"));
const worker = fileURLToPath(new URL("./object-store-throughput-worker.ts", import.meta.url));

after(async () => {
  for (const t of targets) await t.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** Writes `size` MiB of random data in 1 MiB pieces (never holding the file in memory); returns its sha256. */
function writeRandom(path: string, size: number): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "w");
  for (let i = 0; i < size; i++) {
    const piece = randomBytes(1024 * 1024);
    hash.update(piece);
    writeSync(fd, piece);
  }
  closeSync(fd);
  return hash.digest("hex");
}

interface Measure {
  seconds: number;
  rssGrowth: number;
}

describe("object store throughput", { skip }, () => {
  const file = join(work, "data.bin");
  let digest = "";

  for (const target of targets) {
    test(`${target.name}: ${mb} MB up and down`, { skip: target.skip }, (t) => {
      digest ||= writeRandom(file, mb);
      const out = join(work, `${target.name}.out`);
      const json = execFileSync(
        process.execPath,
        [
          "--expose-gc",
          "--import",
          "tsx",
          worker,
          target.url("throughput"),
          JSON.stringify(target.options),
          file,
          out,
        ],
        { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } },
      );
      const result = JSON.parse(json.trim().split("\n").pop()!) as {
        up: Measure;
        down: Measure;
        sha256: string;
      };
      const { up, down } = result;
      assert.equal(result.sha256, digest, "the downloaded file is the uploaded one");
      const fmt = (m: Measure) =>
        `${(mb / m.seconds).toFixed(0)} MB/s (${m.seconds.toFixed(2)} s, peak RSS +${(m.rssGrowth / 1e6).toFixed(0)} MB)`;
      const line = `${target.name}: upload ${fmt(up)}, download ${fmt(down)}`;
      t.diagnostic(line);
      process.stderr.write(`${line}\n`);
      // Streaming: memory grows by the part buffers (4 x 8 MiB) and SDK overhead, not with the file (with
      // FERRY_STORE_THROUGHPUT=300 the growth is the same as with 100).
      assert.ok(up.rssGrowth < 128e6, `upload grew RSS by ${(up.rssGrowth / 1e6).toFixed(0)} MB`);
      assert.ok(down.rssGrowth < 128e6, `download grew RSS by ${(down.rssGrowth / 1e6).toFixed(0)} MB`);
    });
  }
});
