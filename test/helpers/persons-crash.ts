// The real `ferry serve` CLI as a child process for the person crash tests, and clients that keep sending (the same
// uuids again after a failure) until every event is acknowledged.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { PersonsPausePoint } from "../fixtures/persons-faults.js";
import { CLI, REPO } from "./cli.js";
import { type TestEvent, waitFor } from "./persons.js";

const FAULTS = pathToFileURL(join(REPO, "test/fixtures/persons-faults.ts")).href;
const TSX = import.meta.resolve("tsx");

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

export interface CrashEnv {
  tmp: string;
  dir: string;
  db: string;
  config: string;
  port: number;
  url: string;
  cleanup(): void;
}

/** A temp dir with a ferry.yaml for one project (`token` -> `dataset`). */
export async function crashEnv(token: string, dataset: string): Promise<CrashEnv> {
  const tmp = mkdtempSync(join(tmpdir(), "ferry-persons-crash-"));
  const port = await freePort();
  const db = join(tmp, "events.duckdb");
  const config = join(tmp, "ferry.yaml");
  writeFileSync(
    config,
    [
      "serve:",
      `  destination: duckdb:${db}`,
      "  batch_interval: 100ms",
      "  batch_events: 200",
      "  partitions: 2",
      "  projects:",
      `    - token: ${token}`,
      `      dataset: ${dataset}`,
      "",
    ].join("\n"),
  );
  return {
    tmp,
    dir: join(tmp, ".ferry"),
    db,
    config,
    port,
    url: `http://127.0.0.1:${port}`,
    cleanup: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

/** One run of `ferry serve`, from start to SIGKILL or SIGTERM. */
export class ServeChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout = "";
  stderr = "";

  constructor(env: CrashEnv, fault?: { point: PersonsPausePoint; skip?: number }) {
    const preload = fault ? ["--import", TSX, "--import", FAULTS] : [];
    const base = { ...process.env };
    delete base.FERRY_PIPELINES_DIR;
    this.child = spawn(
      process.execPath,
      [...preload, CLI, "serve", "--config", env.config, "--port", String(env.port), "--dir", env.dir],
      {
        cwd: env.tmp,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...base,
          FERRY_LOG_LEVEL: "info",
          ...(fault
            ? {
                FERRY_TEST_PERSONS_PAUSE: fault.point,
                FERRY_TEST_PERSONS_PAUSE_SKIP: String(fault.skip ?? 0),
              }
            : {}),
        },
      },
    );
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

  get gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async ready(env: CrashEnv): Promise<void> {
    await waitFor("GET /_readiness to answer 200", async () => {
      if (this.gone) throw new Error(`ferry serve exited before it was ready:\n${this.stderr}`);
      const r = await fetch(`${env.url}/_readiness`).catch(() => undefined);
      await r?.arrayBuffer();
      return r?.status === 200;
    });
  }

  paused(point: PersonsPausePoint): Promise<true> {
    return waitFor(`the server to pause at ${point}`, () => {
      if (this.gone) throw new Error(`ferry serve exited before pausing at ${point}:\n${this.stderr}`);
      return this.stdout.includes(`PAUSED ${point}\n`);
    });
  }

  async kill(): Promise<void> {
    if (!this.gone) this.child.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    return (await this.exited).code;
  }
}

/**
 * Clients that each send their events one request at a time, in order, resending the same event (same uuid) after a
 * refused or timed-out request until it is acknowledged: one person's events reach the log in the client's order.
 */
export class Clients {
  readonly events: TestEvent[][];
  readonly acked: number[];
  #stop = false;

  constructor(events: TestEvent[][]) {
    this.events = events;
    this.acked = events.map(() => 0);
  }

  get total(): number {
    return this.acked.reduce((a, b) => a + b, 0);
  }

  /** Runs every client until all its events are acknowledged (or `stop`). */
  run(url: string, token: string): Promise<void> {
    return Promise.all(this.events.map((_, c) => this.#client(c, url, token))).then(() => undefined);
  }

  stop(): void {
    this.#stop = true;
  }

  async #client(c: number, url: string, token: string): Promise<void> {
    const mine = this.events[c] as TestEvent[];
    while (!this.#stop && (this.acked[c] as number) < mine.length) {
      const e = mine[this.acked[c] as number] as TestEvent;
      const ok = await fetch(`${url}/batch/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ api_key: token, batch: [e] }),
        signal: AbortSignal.timeout(3_000),
      })
        .then(async (r) => {
          await r.arrayBuffer();
          return r.status === 200;
        })
        .catch(() => false);
      if (ok) this.acked[c] = (this.acked[c] as number) + 1;
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** An event with a fresh uuid and the given time. */
export function testEvent(
  event: string,
  distinctId: string,
  at: number,
  properties: Record<string, unknown>,
): TestEvent {
  return {
    event,
    distinct_id: distinctId,
    uuid: randomUUID(),
    timestamp: new Date(at).toISOString(),
    properties,
  };
}
