import { type ChildProcess, fork } from "node:child_process";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { untrustedChildEnvironment } from "../../config/environment.js";
import { errorMessage, FerryError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { preludeCode } from "./compile.js";
import type {
  CallResult,
  ChainLink,
  ChainResult,
  HostReply,
  HostRequest,
  InstanceSpec,
  LoadResult,
  Outcome,
} from "./sandbox/protocol.js";

/** The host process stopped while a request was in it (a plugin may have brought it down). */
export class PluginHostCrash extends Error {}

const OWN_EXT = extname(fileURLToPath(import.meta.url));
const HOST_MAIN = fileURLToPath(new URL(`./sandbox/host-main${OWN_EXT}`, import.meta.url));

type Pending = { child: ChildProcess; resolve(v: unknown): void; reject(e: unknown): void };
type RequestBody = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface PluginHostOptions {
  /** The SQLite file of `meta.storage` (":memory:" keeps nothing). */
  storagePath: string;
  logger: Logger;
  /** Names plugin log lines (`key` -> what the log line starts with). */
  logPrefix?: (key: string) => string;
}

/**
 * ferry's side of the plugin host process (sandbox/host-main.ts): starts it, sends it requests, and when it dies (a
 * plugin brought it down) fails what was in flight with `PluginHostCrash` and starts a new one with every plugin
 * loaded again, waiting longer after each crash in a row.
 *
 * @example
 * const host = await PluginHost.start({ storagePath, logger });
 * await host.load(spec);
 * const { events, errors } = await host.chain([{ key: spec.key, onError: "pass" }], json, n);
 */
export class PluginHost {
  readonly #o: PluginHostOptions;
  readonly #specs = new Map<string, InstanceSpec>();
  readonly #pending = new Map<number, Pending>();
  /** Resolves when a host process has exited (and its requests have failed). */
  readonly #exits = new WeakMap<ChildProcess, Promise<void>>();
  #child: ChildProcess | undefined;
  #starting: Promise<ChildProcess> | undefined;
  #seq = 0;
  #stopped = false;
  /** Crashes in a row (reset by a request that completes), for the restart delay. */
  #crashes = 0;
  /** The host process's last lines of output (why it did not start). */
  readonly #stderr: string[] = [];
  /** How many times the host process was started (1 when it never crashed). */
  starts = 0;

  private constructor(o: PluginHostOptions) {
    this.#o = o;
  }

  static async start(options: PluginHostOptions): Promise<PluginHost> {
    const host = new PluginHost(options);
    try {
      await host.#ensure();
    } catch (err) {
      // The lines it wrote as it died may come after its exit.
      await new Promise((r) => setTimeout(r, 100));
      const said = host.#stderr.join("\n");
      const addon = /isolated.vm|better.sqlite3|\.node\b|NODE_MODULE_VERSION/i.test(said);
      throw new FerryError(
        `the plugin host process did not start: ${errorMessage(err)}${said ? `\n${said}` : ""}`,
        {
          hint: addon
            ? "plugins need native addons built for this Node.js (isolated-vm, better-sqlite3): run npm rebuild isolated-vm better-sqlite3 (it needs python3, make and a C++ compiler)"
            : "run with --verbose and see the lines above",
          cause: err,
        },
      );
    }
    return host;
  }

  /** The host process's pid (undefined while none runs). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Loads (or loads again) a plugin instance: its module runs and its setupPlugin is called. */
  async load(spec: InstanceSpec): Promise<LoadResult> {
    const r = (await this.#request({ t: "load", spec })) as LoadResult;
    this.#specs.set(spec.key, spec);
    return r;
  }

  /** Runs the processEvent chain over a page (`events`: a JSON array of `count` events). */
  async chain(links: ChainLink[], events: string, count: number): Promise<ChainResult> {
    return (await this.#request({ t: "chain", links, events, count })) as ChainResult;
  }

  /** onEvent or composeWebhook over a page, in order, stopping after the first failure. */
  async events(
    key: string,
    hook: "onEvent" | "composeWebhook",
    events: string,
    count: number,
  ): Promise<Outcome[]> {
    return (await this.#request({ t: "events", key, hook, events, count })) as Outcome[];
  }

  /** setupPlugin, teardownPlugin or a scheduled hook. */
  async call(key: string, hook: string, limitMs: number): Promise<CallResult> {
    return (await this.#request({ t: "call", key, hook, limitMs })) as CallResult;
  }

  /** Runs every plugin's teardownPlugin, then ends the host process. Resolves with the teardown failures. */
  async stop(): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    if (this.#child && !this.#stopped) {
      for (const key of this.#specs.keys()) {
        try {
          const r = (await this.#request({ t: "unload", key })) as CallResult;
          if (r.error) failures.set(key, r.error);
        } catch (err) {
          failures.set(key, errorMessage(err));
        }
      }
    }
    this.#stopped = true;
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    return failures;
  }

  async #request(body: RequestBody): Promise<unknown> {
    if (this.#stopped) throw new Error("the plugin host is stopped");
    const child = await this.#ensure();
    const id = ++this.#seq;
    const value = await new Promise((resolve, reject) => {
      this.#pending.set(id, { child, resolve, reject });
      child.send({ ...body, id } as HostRequest, (err) => {
        if (!err) return;
        // The channel is gone: the process died and its exit is on its way (it fails this request with the
        // reason); the kill makes sure of it when the channel broke on its own.
        this.#o.logger.debug(`plugin host: a request could not be sent (${err.message})`);
        child.kill("SIGKILL");
      });
    });
    this.#crashes = 0;
    return value;
  }

  /**
   * The running host process; starts one (and loads every plugin into it) when there is none. A process whose
   * channel closed is dead even before its exit event comes: its exit is awaited (which fails its requests), then a
   * new one starts.
   */
  #ensure(): Promise<ChildProcess> {
    const current = this.#child;
    if (current?.connected) return Promise.resolve(current);
    this.#starting ??= (async () => {
      if (current) await this.#exits.get(current);
      return this.#spawn();
    })().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #spawn(): Promise<ChildProcess> {
    if (this.#crashes > 1) {
      const delay = Math.min(30_000, 500 * 2 ** (this.#crashes - 2));
      this.#o.logger.warn(`plugin host: starting again in ${delay} ms (${this.#crashes} crashes in a row)`);
      await new Promise((r) => setTimeout(r, delay));
    }
    const execArgv = ["--no-node-snapshot", ...(OWN_EXT === ".ts" ? ["--import", "tsx"] : [])];
    const child = fork(HOST_MAIN, [], {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: untrustedChildEnvironment(),
    });
    this.starts++;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        if (!line.trim()) return;
        this.#stderr.push(line);
        if (this.#stderr.length > 5) this.#stderr.shift();
        this.#o.logger.warn(`plugin host: ${line}`);
      });
    }
    child.on("message", (m: HostReply) => this.#onMessage(m));
    this.#exits.set(
      child,
      new Promise((done) =>
        child.once("exit", (code, signal) => {
          this.#onExit(child, code, signal);
          done();
        }),
      ),
    );
    child.on("error", (err) => this.#o.logger.error(`plugin host: ${err.message}`));
    const prelude = await preludeCode();
    await this.#direct(child, { t: "init", storagePath: this.#o.storagePath, prelude });
    for (const spec of this.#specs.values()) {
      try {
        const r = (await this.#direct(child, { t: "load", spec })) as LoadResult;
        if (r.setupError)
          this.#o.logger.error(`${this.#prefix(spec.key)}: setupPlugin failed: ${r.setupError}`);
      } catch (err) {
        if (err instanceof PluginHostCrash) throw err;
        // It loaded before; its requests fail (and follow on_error) until it loads again.
        this.#o.logger.error(`${this.#prefix(spec.key)}: ${errorMessage(err)}`);
      }
    }
    if (child.exitCode !== null || child.signalCode !== null)
      throw new PluginHostCrash("the plugin host process stopped while starting");
    this.#child = child;
    return child;
  }

  /** A request to a host being started (before `#ensure` hands it out). */
  #direct(child: ChildProcess, body: RequestBody): Promise<unknown> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { child, resolve, reject });
      child.send({ ...body, id } as HostRequest);
    });
  }

  #onMessage(m: HostReply): void {
    if (m.t === "log") {
      this.#o.logger[m.level](`${this.#prefix(m.key)}: ${m.message}`);
      return;
    }
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child === child) this.#child = undefined;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const crash = new PluginHostCrash(`the plugin host process stopped (${how})`);
    for (const [id, p] of this.#pending) {
      if (p.child !== child) continue;
      this.#pending.delete(id);
      p.reject(crash);
    }
    if (this.#stopped) return;
    this.#crashes++;
    this.#o.logger.error(`${crash.message}; a new one is started for the next request`);
  }

  #prefix(key: string): string {
    return this.#o.logPrefix?.(key) ?? `plugin ${key}`;
  }
}
