// The real `ferry serve` as a child process for the crash tests: start it on a chosen port and dir, wait for
// readiness, kill it with SIGKILL (or stop it with SIGTERM), and look at what it left on disk.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { recordSizeAt, recordUuidAt } from "../../src/events/log/record-codec.js";
import type { PausePoint } from "../fixtures/serve-faults.js";
import { CLI, REPO } from "./cli.js";

const FAULTS_HOOK = pathToFileURL(join(REPO, "test/fixtures/serve-faults.ts")).href;
/** tsx by location: the server runs in its temp dir, where `--import tsx` would not be found. */
const TSX = import.meta.resolve("tsx");

/** A port nobody listens on right now (the server is restarted on it after each kill). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ServeProject {
  token: string;
  dataset: string;
}

/** A temp working dir, a destination (a DuckDB file, or a Postgres database) and a ferry.yaml for one scenario. */
export interface ServeEnv {
  tmp: string;
  /** `--dir`: the event log is in `<dir>/_serve/log`, the pipelines in `<dir>/events_<dataset>`. */
  dir: string;
  /** Where the events land, read while no server runs (DuckDB) or any time (Postgres). */
  store: EventStore;
  config: string;
  port: number;
  projects: ServeProject[];
  url: string;
  cleanup(): void;
}

export async function newServeEnv(opts: {
  projects: ServeProject[];
  /** `serve.batch_interval` (default: the server's, 500 ms). */
  batchInterval?: string;
  /** `serve.batch_events` (default: the server's, 10,000). */
  batchEvents?: number;
  /** `serve.partitions` of the event log (default: the server's, 4). */
  partitions?: number;
  /** `serve.dedup_window` (default: the server's, 1,000,000). */
  dedupWindow?: number;
  /** A Postgres URL to load into instead of a DuckDB file in the temp dir. */
  postgres?: string;
  /** `serve.persons: false` (default: the server's, on). */
  noPersons?: boolean;
}): Promise<ServeEnv> {
  const tmp = mkdtempSync(join(tmpdir(), "ferry-serve-crash-"));
  const port = await freePort();
  const store = opts.postgres ? postgresStore(opts.postgres) : duckDbStore(join(tmp, "events.duckdb"));
  const lines = ["serve:", `  destination: ${JSON.stringify(store.destination)}`];
  if (opts.batchInterval !== undefined) lines.push(`  batch_interval: ${opts.batchInterval}`);
  if (opts.batchEvents !== undefined) lines.push(`  batch_events: ${opts.batchEvents}`);
  if (opts.partitions !== undefined) lines.push(`  partitions: ${opts.partitions}`);
  if (opts.dedupWindow !== undefined) lines.push(`  dedup_window: ${opts.dedupWindow}`);
  if (opts.noPersons) lines.push("  persons: false");
  lines.push("  projects:");
  for (const p of opts.projects) lines.push(`    - token: ${p.token}`, `      dataset: ${p.dataset}`);
  const config = join(tmp, "ferry.yaml");
  writeFileSync(config, `${lines.join("\n")}\n`);
  return {
    tmp,
    dir: join(tmp, ".ferry"),
    store,
    config,
    port,
    projects: opts.projects,
    url: `http://127.0.0.1:${port}`,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** Polls `check` until it returns something other than undefined/false; fails with `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What test/fixtures/serve-faults.ts does in the server process (see there). */
export interface Faults {
  /** Stop for good at this point (after `skip` earlier matches). */
  point?: PausePoint;
  skip?: number;
  /** The first write to a file whose path matches this regexp fails with EIO. */
  failWrite?: string;
}

/** One run of `ferry serve` (a child process), from start to SIGKILL or SIGTERM. */
export class ServeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = "";
  stderr = "";

  private constructor(child: ChildProcess) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.stdout?.on("data", (b: Buffer) => {
      this.stdout += b.toString();
    });
    child.stderr?.on("data", (b: Buffer) => {
      this.stderr += b.toString();
    });
  }

  /**
   * Starts `node dist/cli/main.js serve --config <env.config> --port <env.port> --dir <env.dir>` and waits until
   * `GET /_readiness` answers 200. With `faults`, the process is preloaded with test/fixtures/serve-faults.ts.
   */
  static async start(env: ServeEnv, faults?: Faults): Promise<ServeProcess> {
    const p = ServeProcess.spawn(env, faults);
    try {
      await waitFor("GET /_readiness to answer 200", () => p.isReady(env), 90_000, 25);
    } catch (err) {
      await p.kill();
      throw err;
    }
    return p;
  }

  /** Starts the server without waiting for it (it recovers what a crash left before it listens). */
  static spawn(env: ServeEnv, faults?: Faults): ServeProcess {
    const preload = faults ? ["--import", TSX, "--import", FAULTS_HOOK] : [];
    const hookEnv: Record<string, string> = {};
    if (faults?.point) hookEnv.FERRY_TEST_PAUSE = faults.point;
    if (faults?.skip !== undefined) hookEnv.FERRY_TEST_PAUSE_SKIP = String(faults.skip);
    if (faults?.failWrite) hookEnv.FERRY_TEST_FAIL_WRITE = faults.failWrite;
    const base = { ...process.env };
    delete base.FERRY_PIPELINES_DIR;
    const child = spawn(
      process.execPath,
      [...preload, CLI, "serve", "--config", env.config, "--port", String(env.port), "--dir", env.dir],
      {
        cwd: env.tmp,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...base, FERRY_LOG_LEVEL: "info", ...hookEnv },
      },
    );
    return new ServeProcess(child);
  }

  get gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Whether `GET /_readiness` answers 200 now; throws when the process exited. */
  async isReady(env: ServeEnv): Promise<boolean> {
    if (this.gone) throw new Error(`ferry serve exited before it was ready:\n${this.stderr}`);
    const r = await fetch(`${env.url}/_readiness`).catch(() => undefined);
    await r?.arrayBuffer();
    return r?.status === 200;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** SIGKILL; resolves once the process is gone (reaped). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM: the server stops accepting, loads what the log holds and exits; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    const { code } = await this.exited;
    return code;
  }

  /** Resolves when the fault-injection hook printed `PAUSED <point>` (the process is blocked from then on). */
  paused(point: PausePoint, ms = 60_000): Promise<true> {
    return waitFor(
      `the server to pause at ${point}`,
      () => {
        if (this.gone) throw new Error(`ferry serve exited before pausing at ${point}:\n${this.stderr}`);
        return this.stdout.includes(`PAUSED ${point}\n`);
      },
      ms,
    );
  }
}

/** The load packages pending in a project's pipeline dir (hidden `.<id>.removing` dirs are being deleted). */
export function pendingPackages(env: ServeEnv, dataset: string): string[] {
  const dir = join(env.dir, `events_${dataset}`, "packages");
  try {
    return readdirSync(dir).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
}

/** Job files of a pending package in a job state folder. */
export function packageJobs(env: ServeEnv, dataset: string, loadId: string, state: string): string[] {
  try {
    return readdirSync(join(env.dir, `events_${dataset}`, "packages", loadId, "jobs", state));
  } catch {
    return [];
  }
}

/** True while a project's load is inside the destination's transaction: a job of a pending package is started. */
export function loadInProgress(env: ServeEnv, dataset: string): boolean {
  return pendingPackages(env, dataset).some((id) => packageJobs(env, dataset, id, "started").length > 0);
}

/**
 * The newest ctime (ms) of a job file in `jobs/started/` of a pending package (0: none). A rename sets the ctime, so
 * a job moved to `started/` again (a restarted server loading the package anew) is told from one a kill left there.
 */
export function startedJobsCtime(env: ServeEnv, dataset: string): number {
  let newest = 0;
  for (const id of pendingPackages(env, dataset)) {
    for (const f of packageJobs(env, dataset, id, "started")) {
      const path = join(env.dir, `events_${dataset}`, "packages", id, "jobs", "started", f);
      newest = Math.max(newest, statSync(path, { throwIfNoEntry: false })?.ctimeMs ?? 0);
    }
  }
  return newest;
}

/**
 * Where a kill left a project's pipeline: no package pending, or the stage of the pending one (read after the
 * process is gone, so it is the state of the moment of the kill).
 */
export function pipelineStage(env: ServeEnv, dataset: string): string {
  const ids = pendingPackages(env, dataset);
  if (ids.length === 0) return "no package pending";
  return ids
    .map((id) => {
      const pkg = join(env.dir, `events_${dataset}`, "packages", id);
      const jobs = (s: string) => packageJobs(env, dataset, id, s).length;
      if (existsSync(join(pkg, "jobs", "normalize.json"))) {
        if (jobs("started") > 0) return "loading: a job inside the open transaction";
        if (jobs("completed") > 0) return "loading: rows inserted, commit or local commit pending";
        return "normalized, load not begun";
      }
      if (existsSync(join(pkg, "manifest.json"))) return "extracted";
      return existsSync(join(pkg, "normalizing")) ? "normalizing" : "extracting";
    })
    .join("; ");
}

/** Uuids of every intact record in the event log's segment files (read while no server runs). */
export function logUuids(env: ServeEnv): Set<string> {
  const out = new Set<string>();
  const root = join(env.dir, "_serve", "log");
  for (const p of readdirSync(root).filter((n) => /^p\d+$/.test(n))) {
    for (const seg of readdirSync(join(root, p)).filter((n) => n.endsWith(".seg"))) {
      const buf = readFileSync(join(root, p, seg));
      for (let pos = 0; ; ) {
        const size = recordSizeAt(buf, pos);
        if (size === undefined) break;
        out.add(recordUuidAt(buf, pos, size));
        pos += size;
      }
    }
  }
  return out;
}

/** The destination's side of a scenario: its URL for ferry.yaml and SQL on it. */
export interface EventStore {
  readonly destination: string;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** SQL for an integer field of a json column. */
  jsonInt(column: string, field: string): string;
}

/** A DuckDB file, opened read only for each query (the server is stopped or killed by then). */
export function duckDbStore(db: string): EventStore {
  return {
    destination: `duckdb:${db}`,
    async query<T>(sql: string): Promise<T[]> {
      const instance = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
      try {
        const conn = await instance.connect();
        try {
          return (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[];
        } finally {
          conn.closeSync();
        }
      } finally {
        instance.closeSync();
      }
    },
    jsonInt: (column, field) => `CAST(json_extract(${column}, '$.${field}') AS INTEGER)`,
  };
}

/** A Postgres database (the shared test server). */
export function postgresStore(url: string): EventStore {
  return {
    destination: url,
    async query<T>(sql: string): Promise<T[]> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql)).rows as T[];
      } finally {
        await client.end();
      }
    },
    jsonInt: (column, field) => `(${column}->>'${field}')::int`,
  };
}
