/**
 * Helpers for plugin tests: plugin modules written to a temp dir, a plugin host with them loaded, `ferry serve` with
 * plugins started in this process, a sender of /batch requests, and reading a DuckDB file back when no load runs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { compilePlugin } from "../../src/events/plugins/compile.js";
import { PluginHost } from "../../src/events/plugins/plugin-host.js";
import type { InstanceSpec, LoadResult } from "../../src/events/plugins/sandbox/protocol.js";
import type { ServeOptions } from "../../src/events/serve.js";
import { type RunningServe, startServe } from "../../src/events/serve.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";
import type { Logger } from "../../src/util/log.js";
import { memoryLogger } from "./memory-logger.js";
import { waitFor } from "./serve.js";

export const TOKEN = "phc_plugins_test";

/** A temp dir that `cleanup` removes. */
export function tempDir(prefix = "ferry-plugins-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a plugin module (TS source) into `dir` and returns its path. */
export function writePlugin(dir: string, name: string, source: string): string {
  const path = join(dir, `${name}.ts`);
  writeFileSync(path, source);
  return path;
}

/** A plugin host with its storage in `dir`, and a way to load TS sources into it. */
export async function startHost(dir: string, logger: Logger = memoryLogger()) {
  const host = await PluginHost.start({ storagePath: join(dir, "storage.sqlite"), logger });
  let n = 0;
  return {
    host,
    /** Compiles `source` and loads it as plugin `name` (key `test/<name>`). */
    async load(
      name: string,
      source: string,
      opts: Partial<Pick<InstanceSpec, "config" | "timeoutMs" | "memoryMb" | "allowedHosts">> = {},
    ): Promise<LoadResult & { key: string }> {
      const path = writePlugin(dir, `${name}-${++n}`, source);
      const { code } = await compilePlugin(path, dir);
      const key = `test/${name}`;
      const r = await host.load({
        key,
        name,
        code,
        config: opts.config ?? {},
        timeoutMs: opts.timeoutMs ?? 1000,
        memoryMb: opts.memoryMb ?? 64,
        allowedHosts: opts.allowedHosts ?? [],
      });
      return { ...r, key };
    },
  };
}

/** A minimal event as plugins get it. */
export function pluginEvent(uuid: string, properties: Record<string, unknown> = {}, event = "test event") {
  return {
    uuid,
    event,
    distinct_id: "user-1",
    ip: null,
    site_url: "",
    team_id: 0,
    token: TOKEN,
    now: "2026-01-01T00:00:00.000Z",
    sent_at: null,
    timestamp: "2026-01-01T00:00:00.000Z",
    properties,
  };
}

export interface PluginServe {
  running: RunningServe;
  url: string;
  dir: string;
  dbPath: string;
  log: ReturnType<typeof memoryLogger>;
  stop(): Promise<void>;
}

/**
 * `ferry serve` in this process on a free port with `serve` as the project file's `serve:` section; module paths are
 * relative to `baseDir`. A restart passes the `dir` of the first server.
 */
export async function startPluginServe(
  serve: Record<string, unknown>,
  opts: { dir: string; baseDir?: string; options?: Partial<ServeOptions> },
): Promise<PluginServe> {
  const dbPath = join(opts.dir, "events.duckdb");
  const config = resolveServeConfig(
    { serve: { batch_interval: "100ms", ...serve } },
    { port: 0, destination: `duckdb:${dbPath}`, dir: join(opts.dir, ".ferry") },
    join(opts.dir, ".ferry"),
  );
  config.baseDir = opts.baseDir ?? opts.dir;
  const log = memoryLogger();
  const running = await startServe(config, { logger: log, statusIntervalMs: 0, ...opts.options });
  return {
    running,
    url: running.address?.url ?? "",
    dir: opts.dir,
    dbPath,
    log,
    async stop() {
      await running.stop();
    },
  };
}

/** Posts a /batch/ body with `events` for the test token; asserts 200. */
export async function sendBatch(
  url: string,
  events: Record<string, unknown>[],
  token = TOKEN,
): Promise<void> {
  const res = await fetch(`${url}/batch/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ api_key: token, batch: events }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Waits until the server loaded `n` events and its log is empty (then no load runs: the file may be read). */
export function waitForLoaded(s: PluginServe, n: number): Promise<true> {
  const stats = s.running.consumer.stats;
  return waitFor(
    `${n} loaded events`,
    () => stats.loaded >= n && stats.lag === 0,
    90_000,
    () => ({
      ...stats,
      errors: s.log.lines.filter((l) => l.level === "error").map((l) => l.msg),
    }),
  );
}

/** Runs a query on a DuckDB file (only while no load can run: a stopped server, or an idle one). */
export async function queryDuckDb(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  try {
    const conn = await instance.connect();
    try {
      await conn.run("SET TimeZone = 'UTC'");
      return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** `plugin_errors` rows of a dataset, without ferry's columns and times, ordered by plugin, hook and event. */
export async function pluginErrors(dbPath: string, dataset = "posthog"): Promise<Record<string, unknown>[]> {
  const rows = await queryDuckDb(
    dbPath,
    `SELECT plugin, hook, event_uuid, error, action, attempts, event::VARCHAR AS event FROM "${dataset}".plugin_errors ORDER BY plugin, hook, event_uuid, error`,
  );
  return rows.map((r) => ({
    ...r,
    attempts: r.attempts === null ? null : Number(r.attempts),
    event: r.event === null ? null : JSON.parse(String(r.event)),
  }));
}

/** A request a test HTTP server got. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When it came (performance.now()). */
  at: number;
}

/**
 * A local HTTP server that records each request and answers with `respond` (status, headers, body, after `delayMs`;
 * `"hang"` never answers).
 * Bound to 127.0.0.1 on a free port.
 */
export async function receiver(
  respond: (
    r: Received,
    n: number,
  ) =>
    | { status: number; body?: string; delayMs?: number; headers?: Record<string, string> }
    | "hang" = () => ({
    status: 200,
  }),
) {
  const requests: Received[] = [];
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: performance.now(),
      };
      requests.push(r);
      const answer = respond(r, requests.length);
      if (answer === "hang") {
        hung.push(res);
        return;
      }
      const send = () => {
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body ?? "{}");
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export { memoryLogger, waitFor };
