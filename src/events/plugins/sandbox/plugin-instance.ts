import { errorMessage } from "../../../util/errors.js";
import type { InstanceSpec, Outcome } from "./protocol.js";
import { Sandbox, SandboxLost, type SandboxServices } from "./sandbox.js";

/** setupPlugin and teardownPlugin may take this long (they often fetch something once). */
export const SETUP_LIMIT_MS = 30_000;
/** A plugin whose setup failed is tried again after this long. */
const SETUP_RETRY_MS = 30_000;

/**
 * A plugin of a project in the host: its sandbox, made again (and set up again) whenever the old one had to go. Calls
 * run one at a time, in the order they come. Nothing a plugin does throws out of here except a broken host:
 * failures come back as outcomes and messages.
 *
 * @example
 * const p = await PluginInstance.load(spec, prelude, services);
 * const outcomes = await p.runEvents("processEvent", json, n, false);
 */
export class PluginInstance {
  readonly spec: InstanceSpec;
  readonly hooks: string[];
  readonly #prelude: string;
  readonly #services: SandboxServices;
  #sandbox: Sandbox | undefined;
  /** Why the last setup failed, and when it is tried again. */
  #setupError: { message: string; retryAt: number } | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(spec: InstanceSpec, prelude: string, services: SandboxServices, hooks: string[]) {
    this.spec = spec;
    this.#prelude = prelude;
    this.#services = services;
    this.hooks = hooks;
  }

  /** Loads the module and runs setupPlugin. A module that does not load rejects; a failed setup is kept and retried. */
  static async load(spec: InstanceSpec, prelude: string, services: SandboxServices): Promise<PluginInstance> {
    const { sandbox, hooks } = await Sandbox.open(PluginInstance.#options(spec, prelude), services);
    const p = new PluginInstance(spec, prelude, services, hooks);
    p.#sandbox = sandbox;
    await p.#setup(sandbox);
    return p;
  }

  static #options(spec: InstanceSpec, prelude: string) {
    return {
      name: spec.name,
      prelude,
      code: spec.code,
      configJson: JSON.stringify(spec.config),
      timeoutMs: spec.timeoutMs,
      memoryMb: spec.memoryMb,
    };
  }

  /** Why setupPlugin failed last (undefined once it ran). */
  get setupError(): string | undefined {
    return this.#setupError?.message;
  }

  /**
   * Runs `hook` over the events of `json`: one outcome per event (fewer with `stopOnError`, which stops after the
   * first failure). A plugin whose setup failed fails every event with that message. The events run a slice at a
   * time, each slice a turn of its own: other calls to the plugin (a page of processEvent while onEvent waits on
   * the network) get theirs in between.
   */
  async runEvents(hook: string, json: string, count: number, stopOnError: boolean): Promise<Outcome[]> {
    const out: Outcome[] = [];
    let singleStepUntil = -1;
    while (out.length < count) {
      const step = await this.#serial(async () => {
        const sandbox = await this.#ready();
        if (!sandbox) return { setupFailed: `setupPlugin failed: ${this.#setupError?.message}` };
        const single = out.length <= singleStepUntil;
        try {
          return { slice: await sandbox.runSlice(hook, json, count, out.length, stopOnError, single) };
        } catch (err) {
          if (!(err instanceof SandboxLost)) throw err;
          this.#services.log("warn", `${err.message}; its sandbox is made again`);
          this.#sandbox = undefined;
          return { lost: err };
        }
      });
      if (step.setupFailed) {
        while (out.length < count) {
          out.push(["err", step.setupFailed]);
          if (stopOnError) break;
        }
        return out;
      }
      if (step.slice) {
        if (step.slice.outcomes.length === 0) throw new Error(`the sandbox ran ${hook} on no event`);
        out.push(...step.slice.outcomes);
        if (stopOnError && out.at(-1)?.[0] === "err") return out;
        continue;
      }
      const lost = step.lost as SandboxLost;
      out.push(...lost.outcomes);
      if (lost.runningKnown) {
        out.push(["err", lost.message]);
        if (stopOnError) return out;
      } else {
        // Outcomes since the last hand-out are lost with the isolate: run those events one at a time to find the
        // one that brought it down (the others run again).
        singleStepUntil = out.length + 256;
      }
    }
    return out.slice(0, count);
  }

  /** setupPlugin, teardownPlugin or a scheduled hook, within `limitMs`. Resolves with the failure's message, if any. */
  call(hook: string, limitMs: number): Promise<string | undefined> {
    return this.#serial(async () => {
      if (!this.hooks.includes(hook)) return undefined;
      const sandbox = await this.#ready();
      if (!sandbox) return `setupPlugin failed: ${this.#setupError?.message}`;
      try {
        await sandbox.call(hook, limitMs);
        return undefined;
      } catch (err) {
        if (sandbox.disposed) this.#sandbox = undefined;
        return errorMessage(err);
      }
    });
  }

  /** Runs teardownPlugin (when the sandbox is alive) and disposes the sandbox. */
  async close(): Promise<string | undefined> {
    const failure =
      this.#sandbox && !this.#setupError ? await this.call("teardownPlugin", SETUP_LIMIT_MS) : undefined;
    await this.#serial(async () => {
      this.#sandbox?.dispose();
      this.#sandbox = undefined;
    });
    return failure;
  }

  /** The sandbox, made again and set up when the old one went; undefined while setup keeps failing. */
  async #ready(): Promise<Sandbox | undefined> {
    if (this.#setupError && Date.now() < this.#setupError.retryAt) return undefined;
    if (this.#sandbox && !this.#sandbox.disposed && !this.#setupError) return this.#sandbox;
    if (!this.#sandbox || this.#sandbox.disposed) {
      this.#sandbox = undefined;
      try {
        this.#sandbox = (
          await Sandbox.open(PluginInstance.#options(this.spec, this.#prelude), this.#services)
        ).sandbox;
      } catch (err) {
        this.#setupError = { message: errorMessage(err), retryAt: Date.now() + SETUP_RETRY_MS };
        return undefined;
      }
    }
    await this.#setup(this.#sandbox);
    return this.#setupError ? undefined : this.#sandbox;
  }

  async #setup(sandbox: Sandbox): Promise<void> {
    if (!this.hooks.includes("setupPlugin")) {
      this.#setupError = undefined;
      return;
    }
    try {
      await sandbox.call("setupPlugin", SETUP_LIMIT_MS);
      this.#setupError = undefined;
    } catch (err) {
      // The caller says so (ferry serve logs it and adds a plugin_errors row; its events fail with the message).
      this.#setupError = { message: errorMessage(err), retryAt: Date.now() + SETUP_RETRY_MS };
      if (sandbox.disposed) this.#sandbox = undefined;
    }
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
