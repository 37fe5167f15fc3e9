import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
export const CLI = join(REPO, "dist/cli/main.js");
/** The built package, for modules written by tests (`import { ... } from "<DIST_INDEX>"`). */
export const DIST_INDEX = join(REPO, "dist/index.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (tsc -p tsconfig.build.json) when dist/cli/main.js is missing or older than a src file. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(join(REPO, "src"))) return;
  execFileSync(
    process.execPath,
    [join(REPO, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: REPO,
      stdio: "pipe",
    },
  );
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js ...args` in `cwd` (stdio piped: not a TTY). */
export function ferry(args: string[], cwd: string, env: Record<string, string | undefined> = {}): CliResult {
  const base = { ...process.env };
  delete base.FERRY_LOG_LEVEL;
  delete base.FERRY_PIPELINES_DIR;
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...base, ...env },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lines that look like a JS stack frame. */
export const stackLines = (text: string) => text.split("\n").filter((l) => l.startsWith("    at "));

/**
 * `ferry ...args` without blocking this process (a FakeApi served from this process must answer while it runs).
 */
export function ferryAsync(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const base = { ...process.env };
  delete base.FERRY_LOG_LEVEL;
  delete base.FERRY_PIPELINES_DIR;
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += c;
  });
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill(), 60_000);
  return new Promise((resolve) =>
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}
