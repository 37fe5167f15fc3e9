import ivm from "isolated-vm";
import type { Outcome } from "./protocol.js";

/** What the sandbox may ask of the host, on behalf of the plugin. */
export interface SandboxServices {
  storage(op: "get" | "set" | "del", key: string, value?: string): Promise<string | null>;
  fetch(url: string, initJson: string): Promise<string>;
  log(level: string, message: string): void;
}

export interface SandboxOptions {
  /** For messages. */
  name: string;
  prelude: string;
  code: string;
  configJson: string;
  timeoutMs: number;
  memoryMb: number;
}

/**
 * The sandbox was lost in the middle of a call (it ran out of memory, or an async call ran past its time limit and
 * the isolate had to be disposed): the outcomes that were handed out before, and whether the event that was running
 * is known (then it is the one after them).
 */
export class SandboxLost extends Error {
  constructor(
    message: string,
    readonly outcomes: Outcome[],
    readonly runningKnown: boolean,
  ) {
    super(message);
  }
}

/** A page call runs events until this much time passed, then the host calls again: a time limit can stop one event. */
const PAGE_BUDGET_MS = 200;
/** How long after V8's own time limit the host's timer disposes the isolate (async code V8's limit does not cover). */
const WATCHDOG_GRACE_MS = 250;
const COPY = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;

interface SandboxFns {
  runEvents: ivm.Reference;
  call: ivm.Reference;
  collect: ivm.Reference;
}

/**
 * One plugin in its own V8 isolate (isolated-vm): its own heap with a memory limit, no Node APIs, nothing of the host
 * but the references the prelude wraps into `meta`. A call's synchronous code is stopped by V8 at its time limit (the
 * isolate survives); code after an `await` is stopped by disposing the isolate (the owner makes a new one).
 *
 * @example
 * const { sandbox, hooks } = await Sandbox.open({ name, prelude, code, configJson: "{}", timeoutMs: 1000, memoryMb: 128 }, services);
 * const { outcomes, next } = await sandbox.runSlice("processEvent", JSON.stringify(events), events.length, 0, false);
 */
export class Sandbox {
  readonly #isolate: ivm.Isolate;
  readonly #o: SandboxOptions;
  readonly #fns: SandboxFns;
  /** Outcomes handed out by `emit` during the call in progress. */
  readonly #emitted: Outcome[] = [];
  #callId = 0;
  #disposedBy: "timeout" | "owner" | undefined;

  /** Whether the call in progress hands out outcomes one by one (its hook awaited). */
  #streamed = false;

  private constructor(isolate: ivm.Isolate, o: SandboxOptions, fns: SandboxFns) {
    this.#isolate = isolate;
    this.#o = o;
    this.#fns = fns;
  }

  /** Makes the isolate, runs the prelude and the plugin's module code; resolves with the hooks it exports. */
  static async open(
    o: SandboxOptions,
    services: SandboxServices,
  ): Promise<{ sandbox: Sandbox; hooks: string[] }> {
    const isolate = new ivm.Isolate({ memoryLimit: o.memoryMb });
    let sandbox: Sandbox | undefined;
    const onEmit = (callId: number, json: string, streamed: boolean) =>
      sandbox?.onEmit(callId, json, streamed);
    try {
      const context = await isolate.createContext();
      const refs = [
        new ivm.Reference(async (op: "get" | "set" | "del", key: string, value?: string) =>
          services.storage(op, key, value),
        ),
        new ivm.Reference(async (url: string, init: string) => services.fetch(url, init)),
        new ivm.Reference((level: string, message: string) => services.log(level, message)),
        new ivm.Reference((callId: number, json: string, streamed: boolean) =>
          onEmit(callId, json, streamed),
        ),
      ];
      // References are transferable as they are: the isolate gets handles on the host's functions.
      await context.evalClosure(
        "globalThis.__ferry_host = { storage: $0, fetch: $1, log: $2, emit: $3 };",
        refs,
      );
      const limit = { timeout: Math.max(o.timeoutMs, 5000) };
      await context.eval(o.prelude, { ...limit, filename: "ferry-plugin-prelude.js" });
      await context.eval(o.code, { ...limit, filename: `${o.name}.js` });
      const fn = async (path: string) => (await context.eval(path, { reference: true })) as ivm.Reference;
      const fns: SandboxFns = {
        runEvents: await fn("__ferry.runEvents"),
        call: await fn("__ferry.call"),
        collect: await fn("__ferry.collect"),
      };
      const init = await fn("__ferry.init");
      const hooks = JSON.parse(
        (await init.apply(undefined, [o.configJson], {
          ...COPY,
          ...limit,
          result: { copy: true },
        })) as string,
      ) as string[];
      sandbox = new Sandbox(isolate, o, fns);
      return { sandbox, hooks };
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw new Error(`the module did not load: ${sandboxMessage(err, "loading", o)}`);
    }
  }

  get disposed(): boolean {
    return this.#isolate.isDisposed;
  }

  dispose(): void {
    this.#disposedBy ??= "owner";
    if (!this.#isolate.isDisposed) this.#isolate.dispose();
  }

  /** Runs setupPlugin, teardownPlugin or a scheduled hook; rejects with what went wrong (its message says). */
  async call(hook: string, limitMs: number): Promise<void> {
    try {
      await this.#guard(this.#fns.call.apply(undefined, [hook], { ...COPY, timeout: limitMs }), limitMs);
    } catch (err) {
      throw new Error(sandboxMessage(err, hook, { ...this.#o, timeoutMs: limitMs }, this.#disposedBy));
    }
  }

  /**
   * Runs `hook` on the events of `json` (a JSON array of `count` events) from `start`, for one page budget (200 ms of
   * work; then the caller calls again from `next`, so that other calls to the plugin get their turn): one outcome per
   * event run, in order. With `stopOnError` it stops after the first failure. `singleStep` runs one event (after a
   * lost sandbox, to find the event that caused it). Throws `SandboxLost` when the isolate had to go.
   */
  async runSlice(
    hook: string,
    json: string,
    count: number,
    start: number,
    stopOnError: boolean,
    singleStep = false,
  ): Promise<{ outcomes: Outcome[]; next: number }> {
    const limitMs = PAGE_BUDGET_MS + this.#o.timeoutMs;
    const maxBytes = Math.max(4 * 1048576, 2 * Math.ceil(json.length / Math.max(1, count)));
    const callId = ++this.#callId;
    this.#emitted.length = 0;
    this.#streamed = false;
    const args = [callId, hook, json, start, singleStep ? -1 : PAGE_BUDGET_MS, maxBytes, stopOnError];
    try {
      const reply = JSON.parse(
        (await this.#guard(
          this.#fns.runEvents.apply(undefined, args, { ...COPY, timeout: limitMs }),
          limitMs,
        )) as string,
      ) as { next: number; emitted: number; results: Outcome[] };
      await this.#emittedUpTo(reply.emitted);
      return { outcomes: [...this.#emitted, ...reply.results], next: reply.next };
    } catch (err) {
      if (this.#isolate.isDisposed) {
        // Outcomes handed out just before may still be on their way to this thread.
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        const message = sandboxMessage(err, hook, this.#o, this.#disposedBy);
        // Once an async hook awaited, every outcome is handed out as it comes: the running event is the next one.
        throw new SandboxLost(message, [...this.#emitted], this.#streamed || singleStep);
      }
      if (!isTimeout(err)) throw err;
      // V8 stopped synchronous code at the limit: the isolate lives on; the event that ran is known.
      const c = JSON.parse(
        (await this.#fns.collect.apply(undefined, [], { result: { copy: true }, timeout: 1000 })) as string,
      ) as { at: number; emitted: number; results: Outcome[] };
      await this.#emittedUpTo(c.emitted);
      return {
        outcomes: [...this.#emitted, ...c.results, ["err", timeoutMessage(hook, this.#o.timeoutMs)]],
        next: c.at + 1,
      };
    } finally {
      this.#callId++;
    }
  }

  /** Outcomes the isolate hands out during a call (through its `emit` reference). */
  onEmit(callId: number, json: string, streamed: boolean): void {
    if (callId !== this.#callId) return; // a late chunk of a call that was given up
    this.#streamed = streamed;
    this.#emitted.push(...(JSON.parse(json) as Outcome[]));
  }

  /** Waits until `n` emitted outcomes arrived (they are queued to this thread before the call's result). */
  async #emittedUpTo(n: number): Promise<void> {
    for (let i = 0; this.#emitted.length < n; i++) {
      if (i > 1000) throw new Error(`the sandbox handed out ${this.#emitted.length} of ${n} outcomes`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Disposes the isolate when a call outlives its limit (V8's own limit does not reach code after an await). */
  async #guard<T>(call: Promise<T>, limitMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#disposedBy = "timeout";
        if (!this.#isolate.isDisposed) this.#isolate.dispose();
        reject(new Error("watchdog"));
      }, limitMs + WATCHDOG_GRACE_MS);
    });
    try {
      return await Promise.race([call, watchdog]);
    } finally {
      clearTimeout(timer);
      call.catch(() => undefined);
    }
  }
}

function isTimeout(err: unknown): boolean {
  return /Script execution timed out/i.test(err instanceof Error ? err.message : String(err));
}

function timeoutMessage(hook: string, ms: number): string {
  return `${hook} ran past its time limit of ${ms} ms and was stopped`;
}

/** What went wrong in the sandbox, in words for plugin_errors and logs. */
function sandboxMessage(
  err: unknown,
  hook: string,
  o: Pick<SandboxOptions, "timeoutMs" | "memoryMb">,
  disposedBy?: "timeout" | "owner",
): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/memory limit/i.test(msg) || (/disposed/i.test(msg) && disposedBy === undefined))
    return `${hook} ran out of memory (the plugin's limit is ${o.memoryMb} MB) and was stopped`;
  if (isTimeout(err) || disposedBy === "timeout") return timeoutMessage(hook, o.timeoutMs);
  return msg;
}
