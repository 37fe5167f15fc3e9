/**
 * `ferry serve` as users run it: `node dist/cli/main.js serve ...` in its own process, its stderr kept line by line,
 * its address read from the line it logs when it listens, stopped by a signal.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { CLI, ensureBuilt } from "./cli.js";
import { waitFor } from "./serve.js";

/** What `ferry serve` logs once it listens (plain or in the `msg` of a JSON line). */
const LISTENING = /capture listening on (http:\/\/[^\s"]+)/;

export class ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stderr line so far. */
  readonly lines: string[] = [];
  stdout = "";
  #partial = "";
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(args: string[], cwd: string, env: Record<string, string | undefined>) {
    const base = { ...process.env };
    delete base.FERRY_LOG_LEVEL;
    delete base.FERRY_PIPELINES_DIR;
    this.child = spawn(process.execPath, [CLI, "serve", ...args], { cwd, env: { ...base, ...env } });
    this.#exit = once(this.child, "exit").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    this.child.stdout.on("data", (d: Buffer) => {
      this.stdout += d;
    });
    this.child.stderr.on("data", (d: Buffer) => {
      const text = this.#partial + d.toString("utf8");
      const parts = text.split("\n");
      this.#partial = parts.pop() ?? "";
      this.lines.push(...parts);
    });
  }

  /**
   * Starts `ferry serve <args>` in `cwd` and waits until it listens (or exits). Builds dist/ first when src/ is
   * newer.
   */
  static async start(
    args: string[],
    cwd: string,
    env: Record<string, string | undefined> = {},
  ): Promise<ServeProcess> {
    ensureBuilt();
    const p = new ServeProcess(args, cwd, env);
    await p.waitForLine(LISTENING);
    return p;
  }

  /** The server's URL (the clients' api_host), from its "capture listening on" line. */
  get url(): string {
    for (const l of this.lines) {
      const m = LISTENING.exec(l);
      if (m) return m[1] as string;
    }
    throw new Error(`the server has not said where it listens:\n${this.lines.join("\n")}`);
  }

  /** Waits for a stderr line matching `re`; fails early (with the output) when the process exits first. */
  async waitForLine(re: RegExp, timeoutMs = 60_000): Promise<string> {
    let exited = false;
    void this.#exit.then(() => {
      exited = true;
    });
    const line = await waitFor(
      `a line matching ${re}`,
      () => this.lines.find((l) => re.test(l)) ?? (exited ? null : undefined),
      timeoutMs,
      () => this.lines,
    );
    if (line === null) throw new Error(`ferry serve exited before logging ${re}:\n${this.lines.join("\n")}`);
    return line;
  }

  /** Sends `signal` and resolves with how the process ended. */
  async stop(
    signal: NodeJS.Signals,
    timeoutMs = 120_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited(timeoutMs);
  }

  /** How the process ended (waits for it). */
  async exited(timeoutMs = 120_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`ferry serve did not exit:\n${this.lines.join("\n")}`)),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([this.#exit, timeout]);
      if (this.#partial) this.lines.push(this.#partial);
      this.#partial = "";
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process if it still runs (test cleanup). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await this.#exit;
  }
}

/** A `--json` line: `{time, level, msg}`; throws when the line is not that. */
export function jsonLine(line: string): { time: string; level: string; msg: string } {
  const v = JSON.parse(line) as Record<string, unknown>;
  if (typeof v.time !== "string" || typeof v.level !== "string" || typeof v.msg !== "string") {
    throw new Error(`not a {time, level, msg} line: ${line}`);
  }
  return v as { time: string; level: string; msg: string };
}
