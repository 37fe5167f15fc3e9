import { hostAllowed, notAllowedMessage } from "../events/plugins/allowed-hosts.js";
import { MemoryCache } from "../events/plugins/memory-cache.js";
import type {
  Plugin,
  PluginEvent,
  PluginFetchInit,
  PluginLogger,
  PluginMeta,
  PluginResponse,
  ProcessedPluginEvent,
  StorageExtension,
  Webhook,
} from "../events/plugins/plugin-api.js";

/**
 * `meta.storage` in memory, for tests: values are copied as JSON (as the real storage does), and `entries()` shows
 * what a plugin stored.
 *
 * @example
 * const storage = new MemoryStorage();
 * await storage.set("seen", { n: 1 });
 * storage.entries() // { seen: { n: 1 } }
 */
export class MemoryStorage implements StorageExtension {
  readonly #values = new Map<string, string>();

  async get(key: string, defaultValue: unknown = null): Promise<unknown> {
    const json = this.#values.get(String(key));
    return json === undefined ? defaultValue : JSON.parse(json);
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.#values.delete(String(key));
    else this.#values.set(String(key), JSON.stringify(value));
  }

  async del(key: string): Promise<void> {
    this.#values.delete(String(key));
  }

  /** Everything stored, by key. */
  entries(): Record<string, unknown> {
    return Object.fromEntries([...this.#values].map(([k, v]) => [k, JSON.parse(v)]));
  }
}

/** A request a plugin made with `meta.fetch`. */
export interface CapturedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** What the fake network answers a plugin's `meta.fetch` (default: 200 with `{}`). */
export type FakeFetchHandler = (
  request: CapturedRequest,
) =>
  | { status?: number; headers?: Record<string, string>; body?: unknown }
  | Promise<{ status?: number; headers?: Record<string, string>; body?: unknown }>;

export interface HarnessOptions<Config> {
  config?: Config;
  /** When given, `meta.fetch` refuses other hosts as ferry does (default: every host is allowed in tests). */
  allowedHosts?: string[];
  /** Answers `meta.fetch` requests (they are recorded in `requests` whatever it answers). */
  fetch?: FakeFetchHandler;
}

/** A log line a plugin wrote through `meta.logger` (or `console` in the sandbox). */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/** `meta` for a plugin test, with what the plugin did recorded on it. */
export type TestMeta<Config, Global> = PluginMeta<Config, Global> & {
  storage: MemoryStorage;
  cache: MemoryCache;
  requests: CapturedRequest[];
  logs: LogLine[];
};

/**
 * A `meta` for unit tests of a plugin (PostHog's `getMeta`): in-memory storage and cache, a fake `fetch` that records
 * requests, a logger that keeps lines, and a copy of `config`.
 *
 * @example
 * const meta = getMeta({ config: { property: "email" } });
 * const out = await processEvent(createPageview(), meta);
 */
export function getMeta<Config = Record<string, unknown>, Global = Record<string, unknown>>(
  options: HarnessOptions<Config> = {},
): TestMeta<Config, Global> {
  const requests: CapturedRequest[] = [];
  const logs: LogLine[] = [];
  const line =
    (level: LogLine["level"]) =>
    (...args: unknown[]) =>
      logs.push({
        level,
        message: args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "),
      });
  const logger: PluginLogger = {
    debug: line("debug"),
    log: line("info"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
  };
  const fetch = async (url: string, init: PluginFetchInit = {}): Promise<PluginResponse> => {
    const allowed = options.allowedHosts;
    if (allowed && !safeAllowed(url, allowed))
      throw new Error(`fetch refused: ${notAllowedMessage(url, "under test", allowed)}`);
    const request: CapturedRequest = {
      url,
      method: (init.method ?? "GET").toUpperCase(),
      headers: { ...(init.headers ?? {}) },
      body: init.body,
    };
    requests.push(request);
    const answer = (await options.fetch?.(request)) ?? {};
    const status = answer.status ?? 200;
    const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? {});
    return {
      status,
      statusText: "",
      ok: status >= 200 && status < 300,
      headers: answer.headers ?? {},
      text: async () => body,
      json: async () => JSON.parse(body),
    };
  };
  return {
    config: JSON.parse(JSON.stringify(options.config ?? {})) as Config,
    global: {} as Global,
    storage: new MemoryStorage(),
    cache: new MemoryCache(),
    fetch,
    logger,
    requests,
    logs,
  };
}

function safeAllowed(url: string, allowed: string[]): boolean {
  try {
    return hostAllowed(new URL(url), allowed);
  } catch {
    return false;
  }
}

/**
 * Runs a plugin module's hooks the way ferry calls them, in this process (fast unit tests; `ferry plugin test` runs
 * a module in the real sandbox). Each event is copied first, as the sandbox gets its own copy; webhooks that
 * `composeWebhook` returns are kept in `webhooks`.
 *
 * @example
 * import * as plugin from "./index.ts";
 * const h = pluginHarness(plugin, { config: { property: "email" } });
 * await h.setup();
 * assert.equal((await h.processEvent(createPageview({ properties: { email: "a@b.c" } })))?.properties.email, undefined);
 */
export class PluginHarness<Config = Record<string, unknown>, Global = Record<string, unknown>> {
  readonly meta: TestMeta<Config, Global>;
  /** The requests `composeWebhook` asked ferry to send, in order. */
  readonly webhooks: Webhook[] = [];
  readonly #plugin: Plugin<Config, Global>;

  constructor(plugin: Plugin<Config, Global>, options: HarnessOptions<Config> = {}) {
    this.#plugin = plugin;
    this.meta = getMeta<Config, Global>(options);
  }

  /** `meta.fetch` requests the plugin made. */
  get requests(): CapturedRequest[] {
    return this.meta.requests;
  }

  get logs(): LogLine[] {
    return this.meta.logs;
  }

  async setup(): Promise<void> {
    await this.#plugin.setupPlugin?.(this.meta);
  }

  async teardown(): Promise<void> {
    await this.#plugin.teardownPlugin?.(this.meta);
  }

  /** The event processEvent returns (null when it drops it; the event itself when the plugin has no processEvent). */
  async processEvent(event: PluginEvent): Promise<PluginEvent | null> {
    const copy = structuredClone(event);
    if (!this.#plugin.processEvent) return copy;
    return (await this.#plugin.processEvent(copy, this.meta)) ?? null;
  }

  /** processEvent over several events, in order: what is left of them. */
  async processEvents(events: PluginEvent[]): Promise<PluginEvent[]> {
    const out: PluginEvent[] = [];
    for (const e of events) {
      const r = await this.processEvent(e);
      if (r) out.push(r);
    }
    return out;
  }

  async onEvent(event: ProcessedPluginEvent): Promise<void> {
    await this.#plugin.onEvent?.(structuredClone(event), this.meta);
  }

  /** The webhook composeWebhook returns for the event (also added to `webhooks`), or null. */
  async composeWebhook(event: ProcessedPluginEvent): Promise<Webhook | null> {
    const w = (await this.#plugin.composeWebhook?.(structuredClone(event), this.meta)) ?? null;
    if (w) this.webhooks.push(w);
    return w;
  }

  async runEveryMinute(): Promise<void> {
    await this.#plugin.runEveryMinute?.(this.meta);
  }

  async runEveryHour(): Promise<void> {
    await this.#plugin.runEveryHour?.(this.meta);
  }

  async runEveryDay(): Promise<void> {
    await this.#plugin.runEveryDay?.(this.meta);
  }
}

/** A `PluginHarness` for a plugin module (or an object of hooks). */
export function pluginHarness<Config = Record<string, unknown>, Global = Record<string, unknown>>(
  plugin: Plugin<Config, Global>,
  options: HarnessOptions<Config> = {},
): PluginHarness<Config, Global> {
  return new PluginHarness(plugin, options);
}
