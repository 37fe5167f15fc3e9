import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { DeltaChildArgs } from "../fixtures/delta-child.js";
import type { BackendRoot } from "./filesystem-backends.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../fixtures/delta-child.ts", import.meta.url));

/**
 * Runs the fixture with `args`; with a pause, waits for `PAUSED <point>` and kills it with SIGKILL, else waits for
 * `DONE <load ids>` and returns them.
 */
export async function runChild(root: BackendRoot, args: Omit<DeltaChildArgs, "url">): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CHILD, JSON.stringify({ ...args, url: root.childUrl })],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...root.env, FERRY_LOG_LEVEL: "silent" },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
  });
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child did not finish or pause: ${out} ${err}`)),
        150_000,
      );
      child.stdout?.on("data", (b: Buffer) => {
        out += b.toString();
        const done = /^DONE (.*)$/m.exec(out);
        if (args.pause ? out.includes(`PAUSED ${args.pause}\n`) : done) {
          clearTimeout(timer);
          resolve(done ? (JSON.parse(done[1]!) as string[]) : []);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        if (!args.pause && /^DONE /m.test(out)) return;
        reject(
          new Error(`child exited (${child.exitCode}) before ${args.pause ?? "finishing"}: ${out} ${err}`),
        );
      });
    });
  } finally {
    if (args.pause && child.exitCode === null) child.kill("SIGKILL");
    await exited;
    if (args.pause) assert.equal(child.signalCode, "SIGKILL");
  }
}
