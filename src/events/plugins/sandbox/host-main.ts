/**
 * The plugin host: a child process of ferry (started with `--no-node-snapshot`, which isolated-vm needs on Node 20)
 * that holds every plugin's isolate, their storage and their fetch. ferry talks to it over IPC (protocol.ts). A plugin
 * that brings this process down (V8 running out of memory is not always recoverable) takes nothing of ferry with it:
 * the parent starts a new host.
 */
import { hostFetch } from "./host-fetch.js";
import { HostStorage } from "./host-storage.js";
import { PluginInstance } from "./plugin-instance.js";
import type {
  ChainError,
  ChainLink,
  ChainResult,
  HostReply,
  HostRequest,
  InstanceSpec,
  LoadResult,
  Outcome,
} from "./protocol.js";
import type { SandboxServices } from "./sandbox.js";

const MAX_KEY_CHARS = 1024;
const MAX_VALUE_BYTES = 1048576;
/** Log lines a plugin may write per window before the rest are counted, not written. */
const LOG_LINES_PER_WINDOW = 50;
const LOG_WINDOW_MS = 10_000;

let storage: HostStorage | undefined;
let prelude = "";
const instances = new Map<string, PluginInstance>();

function send(message: HostReply): void {
  process.send?.(message);
}

function services(spec: InstanceSpec): SandboxServices {
  let window = { start: Date.now(), lines: 0, dropped: 0 };
  return {
    async storage(op, key, value) {
      if (!storage) throw new Error("storage is not open");
      if (key.length > MAX_KEY_CHARS) throw new Error(`storage keys are at most ${MAX_KEY_CHARS} characters`);
      if (op === "get") return storage.get(spec.key, key);
      if (op === "del") storage.del(spec.key, key);
      else {
        if ((value ?? "").length > MAX_VALUE_BYTES)
          throw new Error(`storage values are at most ${MAX_VALUE_BYTES} bytes of JSON`);
        storage.set(spec.key, key, value ?? "null");
      }
      return null;
    },
    fetch: (url, init) => hostFetch(url, init, spec),
    log(level, message) {
      const now = Date.now();
      if (now - window.start > LOG_WINDOW_MS) {
        if (window.dropped > 0)
          send({
            t: "log",
            key: spec.key,
            level: "warn",
            message: `${window.dropped} log line(s) not shown`,
          });
        window = { start: now, lines: 0, dropped: 0 };
      }
      if (window.lines++ >= LOG_LINES_PER_WINDOW) {
        window.dropped++;
        return;
      }
      const lvl = level === "debug" || level === "warn" || level === "error" ? level : "info";
      send({ t: "log", key: spec.key, level: lvl, message });
    },
  };
}

function instance(key: string): PluginInstance {
  const p = instances.get(key);
  if (!p) throw new Error(`no plugin ${key} is loaded`);
  return p;
}

/**
 * processEvent of each plugin in turn: the survivors of one are the input of the next, as JSON text (nothing is parsed
 * on the way unless a plugin fails and the event it got is needed).
 */
async function chain(links: ChainLink[], page: string, n: number): Promise<ChainResult> {
  let parsed: unknown[] | undefined;
  const original = (i: number) => {
    parsed ??= JSON.parse(page) as unknown[];
    return JSON.stringify(parsed[i]);
  };
  const events: (string | null)[] = [];
  let alive: { index: number; json: string | undefined }[] = [];
  for (let i = 0; i < n; i++) alive.push({ index: i, json: undefined });
  const errors: ChainError[] = [];
  for (const link of links) {
    const p = instances.get(link.key);
    if (!p?.hooks.includes("processEvent") || alive.length === 0) continue;
    const untouched = alive.length === n && alive.every((a) => a.json === undefined);
    const input = untouched ? page : `[${alive.map((a) => a.json ?? original(a.index)).join(",")}]`;
    const outcomes = await p.runEvents("processEvent", input, alive.length, false);
    const next: typeof alive = [];
    for (const [k, a] of alive.entries()) {
      const o = outcomes[k] as Outcome;
      if (o[0] === "ok") next.push({ index: a.index, json: o[1] });
      else if (o[0] === "drop") events[a.index] = null;
      else {
        const error: ChainError = {
          index: a.index,
          key: link.key,
          message: o[1] ?? "failed",
          action: link.onError,
        };
        if (link.onError === "pass") next.push(a);
        else {
          events[a.index] = null;
          if (link.onError === "dead_letter") error.event = a.json ?? original(a.index);
        }
        errors.push(error);
      }
    }
    alive = next;
  }
  for (const a of alive) events[a.index] = a.json ?? original(a.index);
  return { events, errors };
}

async function handle(req: HostRequest): Promise<unknown> {
  switch (req.t) {
    case "init":
      storage?.close();
      storage = new HostStorage(req.storagePath);
      prelude = req.prelude;
      return null;
    case "load": {
      await instances.get(req.spec.key)?.close();
      const p = await PluginInstance.load(req.spec, prelude, services(req.spec));
      instances.set(req.spec.key, p);
      return { hooks: p.hooks, setupError: p.setupError } satisfies LoadResult;
    }
    case "unload": {
      const p = instances.get(req.key);
      instances.delete(req.key);
      return { error: await p?.close() };
    }
    case "chain":
      return chain(req.links, req.events, req.count);
    case "events":
      return instance(req.key).runEvents(req.hook, req.events, req.count, true);
    case "call":
      return { error: await instance(req.key).call(req.hook, req.limitMs) };
  }
}

process.on("message", (req: HostRequest) => {
  handle(req).then(
    (value) => send({ t: "reply", id: req.id, ok: true, value }),
    (err: unknown) =>
      send({ t: "reply", id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The parent went away: nothing is left to serve.
process.on("disconnect", () => {
  storage?.close();
  process.exit(0);
});
