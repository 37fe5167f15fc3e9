// A long-running ferry command (`ferry worker`, `ferry serve --no-capture`) as a child process: its output kept,
// optionally preloaded with the fault injection of test/fixtures/load-faults.mjs, killed by its own pid.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, ensureBuilt, REPO } from "./cli.js";
import { waitFor } from "./serve.js";

/** Plain JS (test/fixtures/load-faults.mjs): the Temporal worker's threads inherit --import and cannot load TS. */
const FAULTS_HOOK = pathToFileURL(join(REPO, "test/fixtures/load-faults.mjs")).href;

export class FerryProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = "";
  stderr = "";

  constructor(
    args: string[],
    cwd: string,
    env: Record<string, string> = {},
    faults?: { point: string; skip?: number },
  ) {
    ensureBuilt();
    const base = { ...process.env };
    delete base.FERRY_LOG_LEVEL;
    delete base.FERRY_PIPELINES_DIR;
    const pre = faults ? ["--import", FAULTS_HOOK] : [];
    this.child = spawn(process.execPath, [...pre, CLI, ...args], {
      cwd,
      env: {
        ...base,
        ...env,
        ...(faults
          ? { FERRY_TEST_PAUSE: faults.point, FERRY_TEST_PAUSE_SKIP: String(faults.skip ?? 0) }
          : {}),
      },
    });
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    this.child.stdout?.on("data", (b: Buffer) => {
      this.stdout += b.toString();
    });
    this.child.stderr?.on("data", (b: Buffer) => {
      this.stderr += b.toString();
    });
  }

  /** Waits for output (stdout or stderr) matching `re`; fails early, with the output, when the process exits. */
  async waitFor(re: RegExp, timeoutMs = 120_000): Promise<void> {
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    const seen = await waitFor(
      `output matching ${re}`,
      () => (re.test(this.stdout) || re.test(this.stderr) ? true : gone ? "exited" : undefined),
      timeoutMs,
      () => this.stderr.slice(-2000),
    );
    if (seen === "exited") throw new Error(`the process exited before printing ${re}:\n${this.stderr}`);
  }

  /** SIGKILL (no cleanup in the process), then waits for it to be gone. */
  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  async stop(graceMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
