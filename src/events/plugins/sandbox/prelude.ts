/**
 * The code that runs inside each plugin's V8 isolate, before the plugin's own (bundled into one script by esbuild at
 * start, see isolate-code.ts). It builds `meta`, gives the plugin `console` and a `require` that refuses, and runs
 * hooks for the host: a page of events at a time, with results handed out in chunks so that the host knows which
 * event was running when a call was stopped.
 *
 * Nothing here may use Node: the isolate has only what V8 itself has plus the host's references below.
 */
import { MemoryCache } from "../memory-cache.js";
import type { PluginFetchInit, PluginMeta, PluginResponse } from "../plugin-api.js";

/** A function of the host's, callable from the isolate (an isolated-vm Reference). */
interface HostRef {
  apply(receiver: undefined, args: unknown[], options: Record<string, unknown>): Promise<unknown>;
  applyIgnored(receiver: undefined, args: unknown[], options?: Record<string, unknown>): void;
}

/** What the host puts on the global object before this runs. */
interface SandboxGlobals {
  __ferry_host: { storage: HostRef; fetch: HostRef; log: HostRef; emit: HostRef };
  __ferry_plugin?: Record<string, unknown>;
  __ferry: unknown;
  console: unknown;
  require: unknown;
}

/** One event's outcome: ["ok", json] | ["ok"] | ["drop"] | ["none"] | ["err", message]. */
type Outcome = [string, string?];

const g = globalThis as unknown as SandboxGlobals;
const host = g.__ferry_host;
const ASYNC = { arguments: { copy: true }, result: { promise: true, copy: true } };

function format(args: unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return a.stack ?? `${a.name}: ${a.message}`;
      try {
        return JSON.stringify(a) ?? String(a);
      } catch {
        return String(a);
      }
    })
    .join(" ")
    .slice(0, 8192);
}

const logAt =
  (level: string) =>
  (...args: unknown[]) =>
    host.log.applyIgnored(undefined, [level, format(args)]);
const logger = {
  debug: logAt("debug"),
  log: logAt("info"),
  info: logAt("info"),
  warn: logAt("warn"),
  error: logAt("error"),
};
g.console = { ...logger, trace: logger.debug };
g.require = (name: unknown) => {
  throw new Error(
    `require(${JSON.stringify(name)}) is not available in the plugin sandbox: plugins have no file system, process or network access (use meta.fetch for HTTP, meta.storage to keep data)`,
  );
};

const storage = {
  async get(key: string, defaultValue: unknown = null): Promise<unknown> {
    const json = (await host.storage.apply(undefined, ["get", String(key)], ASYNC)) as string | null;
    return json === null ? defaultValue : JSON.parse(json);
  },
  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) return storage.del(key);
    await host.storage.apply(undefined, ["set", String(key), JSON.stringify(value)], ASYNC);
  },
  async del(key: string): Promise<void> {
    await host.storage.apply(undefined, ["del", String(key)], ASYNC);
  },
};

async function pluginFetch(url: string, init: PluginFetchInit = {}): Promise<PluginResponse> {
  const json = (await host.fetch.apply(
    undefined,
    [String(url), JSON.stringify(init ?? {})],
    ASYNC,
  )) as string;
  const r = JSON.parse(json) as {
    status: number;
    statusText: string;
    headers: Record<string, string>;
    body: string;
  };
  return {
    status: r.status,
    statusText: r.statusText,
    ok: r.status >= 200 && r.status < 300,
    headers: r.headers,
    text: async () => r.body,
    json: async () => JSON.parse(r.body),
  };
}

const meta: PluginMeta = {
  config: {},
  global: {},
  storage,
  cache: new MemoryCache(),
  fetch: pluginFetch,
  logger,
};

let plugin: Record<string, unknown> = {};

/** The call running now (the host reads it back when it had to stop the call). */
const state = { callId: 0, at: 0, emitted: 0, pending: [] as Outcome[], streamed: false };

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const msg = e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message;
    return msg.slice(0, 2000) || e.name;
  }
  try {
    return `threw ${typeof e === "string" ? e : JSON.stringify(e)}`.slice(0, 2000);
  } catch {
    return `threw ${String(e)}`.slice(0, 2000);
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

function kind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function encode(hook: string, r: unknown, maxBytes: number): Outcome {
  if (hook === "onEvent") return ["ok"];
  if (r === null || r === undefined) return [hook === "processEvent" ? "drop" : "none"];
  if (typeof r !== "object" || Array.isArray(r)) {
    return [
      "err",
      hook === "processEvent"
        ? `processEvent returned ${kind(r)}, not an event (return the event, or null to drop it)`
        : `composeWebhook returned ${kind(r)}, not a webhook ({ url, method, headers, body }) or null`,
    ];
  }
  if (hook === "processEvent") {
    const problem = checkEvent(r as Record<string, unknown>);
    if (problem) return ["err", `processEvent returned an invalid event: ${problem}`];
  }
  if (hook === "composeWebhook") {
    const w = r as Record<string, unknown>;
    if (typeof w.url !== "string") return ["err", "composeWebhook returned a webhook without a url"];
    if (w.body !== undefined && typeof w.body !== "string")
      return ["err", "composeWebhook returned a body that is not text (JSON.stringify it)"];
    r = { url: w.url, method: w.method ?? "POST", headers: w.headers ?? {}, body: w.body ?? "" };
  }
  const json = JSON.stringify(r);
  if (json.length > maxBytes) {
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
    return ["err", `${hook} returned ${mb(json.length)} of JSON; the limit is ${mb(maxBytes)}`];
  }
  return ["ok", json];
}

const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

/** What is wrong with an event a plugin returned (ferry's checks of plugin-event.ts, done where the object is). */
function checkEvent(e: Record<string, unknown>): string | undefined {
  if (typeof e.event !== "string" || e.event === "") return "event must be a non-empty string";
  if (typeof e.distinct_id !== "string" || e.distinct_id === "")
    return "distinct_id must be a non-empty string";
  if (e.distinct_id.length > 200) return "distinct_id must be at most 200 characters";
  if (e.properties !== undefined && !isObject(e.properties)) return "properties must be an object";
  for (const k of ["$set", "$set_once"]) {
    if (e[k] !== undefined && e[k] !== null && !isObject(e[k])) return `${k} must be an object`;
  }
  if (typeof e.timestamp !== "string" || !Number.isFinite(Date.parse(e.timestamp)))
    return "timestamp must be an ISO 8601 date";
  if (e.ip !== undefined && e.ip !== null && typeof e.ip !== "string") return "ip must be a string or null";
  return undefined;
}

function flush(): void {
  if (state.pending.length === 0) return;
  const chunk = state.pending;
  state.pending = [];
  state.emitted += chunk.length;
  host.emit.applyIgnored(undefined, [state.callId, JSON.stringify(chunk), state.streamed], {
    arguments: { copy: true },
  });
}

g.__ferry = {
  /** Takes the plugin's exports (or its default export) and its config. Returns the hooks it has. */
  init(configJson: string): string {
    const ns = g.__ferry_plugin ?? {};
    const named = Object.keys(ns).filter((k) => typeof ns[k] === "function");
    const dflt = ns.default;
    plugin =
      named.length === 0 && typeof dflt === "object" && dflt !== null
        ? (dflt as Record<string, unknown>)
        : ns;
    meta.config = JSON.parse(configJson);
    return JSON.stringify(Object.keys(plugin).filter((k) => typeof plugin[k] === "function"));
  },

  /** Runs setupPlugin, teardownPlugin or a scheduled function. */
  async call(hook: string): Promise<void> {
    const fn = plugin[hook];
    if (typeof fn === "function") await fn(meta);
  },

  /**
   * Runs `hook` on the events of `json` from `start` until they are done or `budgetMs` passed (then the host calls
   * again from `next`). Outcomes go to the host through `emit` every 256 events, and one by one once an async hook
   * awaited (the host's timer, not V8's, stops those); the rest come back with the result.
   */
  async runEvents(
    callId: number,
    hook: string,
    json: string,
    start: number,
    budgetMs: number,
    maxBytes: number,
    stopOnError: boolean,
  ): Promise<string> {
    const fn = plugin[hook] as (e: unknown, m: PluginMeta) => unknown;
    const events = JSON.parse(json) as unknown[];
    state.callId = callId;
    state.at = start;
    state.emitted = 0;
    state.pending = [];
    state.streamed = false;
    const t0 = Date.now();
    for (let i = start; i < events.length; i++) {
      if (i > start && Date.now() - t0 > budgetMs) break;
      let out: Outcome;
      try {
        let r = fn(events[i], meta);
        if (isThenable(r)) {
          if (!state.streamed) {
            state.streamed = true;
            flush();
          }
          r = await r;
        }
        out = encode(hook, r, maxBytes);
      } catch (e) {
        out = ["err", describeError(e)];
      }
      state.pending.push(out);
      state.at = i + 1;
      if (state.streamed || state.pending.length >= 256) flush();
      if (stopOnError && out[0] === "err") break;
    }
    const rest = state.pending;
    state.pending = [];
    return JSON.stringify({ next: state.at, emitted: state.emitted, results: rest });
  },

  /** After V8 stopped a call (its time limit): the outcomes not handed out yet, and the event that was running. */
  collect(): string {
    const rest = state.pending;
    state.pending = [];
    return JSON.stringify({ at: state.at, emitted: state.emitted, results: rest });
  },
};
