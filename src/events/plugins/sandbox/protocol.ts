/**
 * Messages between ferry (the parent) and its plugin host process (the child that runs the isolates), over Node's
 * IPC channel. Events cross as JSON text, a page at a time.
 */

/** One event's outcome of a hook: ["ok", json] (processEvent, composeWebhook), ["ok"] (onEvent), ["drop"]
 * (processEvent returned null), ["none"] (composeWebhook returned null), ["err", message]. */
export type Outcome = readonly [kind: "ok" | "drop" | "none" | "err", payload?: string];

/** What a plugin instance is made of, as the host gets it. */
export interface InstanceSpec {
  /** Unique in the host: `<dataset>/<plugin name>`. Storage is kept under it. */
  key: string;
  /** For messages: the plugin's name. */
  name: string;
  code: string;
  config: Record<string, unknown>;
  timeoutMs: number;
  memoryMb: number;
  allowedHosts: string[];
}

/** A plugin of a processEvent chain, with what to do with an event it fails on. */
export interface ChainLink {
  key: string;
  onError: "pass" | "drop" | "dead_letter";
}

/** An event a chain plugin failed on. */
export interface ChainError {
  /** The event's index in the page. */
  index: number;
  /** The plugin's key. */
  key: string;
  message: string;
  action: "pass" | "drop" | "dead_letter";
  /** The event as the plugin got it (JSON), for dead letters. */
  event?: string;
}

export type HostRequest =
  | { t: "init"; id: number; storagePath: string; prelude: string }
  | { t: "load"; id: number; spec: InstanceSpec }
  | { t: "unload"; id: number; key: string }
  /** processEvent of each link in turn over a page of events (a JSON array). */
  | { t: "chain"; id: number; links: ChainLink[]; events: string; count: number }
  /** onEvent or composeWebhook over a page, stopping at the first failure. */
  | {
      t: "events";
      id: number;
      key: string;
      hook: "onEvent" | "composeWebhook";
      events: string;
      count: number;
    }
  /** setupPlugin, teardownPlugin, runEvery*. */
  | { t: "call"; id: number; key: string; hook: string; limitMs: number };

export type HostReply =
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: string }
  | { t: "log"; key: string; level: "debug" | "info" | "warn" | "error"; message: string };

/** The reply to `load`: the hooks the plugin exports, and why setupPlugin failed (it is retried later). */
export interface LoadResult {
  hooks: string[];
  setupError?: string;
}

/** The reply to `chain`: each event's final JSON (or null: dropped or dead-lettered) and the failures. */
export interface ChainResult {
  events: (string | null)[];
  errors: ChainError[];
}

/** The reply to `call`: undefined when the hook ran (or does not exist), else what went wrong. */
export interface CallResult {
  error?: string;
}
