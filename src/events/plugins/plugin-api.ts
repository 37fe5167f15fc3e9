/**
 * The plugin interface, as PostHog's plugin server had it (`@posthog/plugin-scaffold`), so that PostHog plugins port
 * to ferry with little change. A plugin is a JS or TS module exporting any of these functions; ferry runs it in a
 * sandbox (docs/plugins.md), one instance per project.
 *
 * @example
 * import type { Plugin } from "ferry";
 * export const processEvent: Plugin<{ property: string }>["processEvent"] = (event, { config }) => {
 *   delete event.properties[config.property];
 *   return event;
 * };
 */

/** Event or person properties: JSON values by name. */
export type Properties = Record<string, unknown>;

/**
 * An event as a plugin sees it (PostHog's `PluginEvent`). `uuid`, `token` and `now` are kept as captured whatever a
 * plugin returns; `timestamp` may be changed (an ISO 8601 date).
 */
export interface PluginEvent {
  uuid: string;
  event: string;
  distinct_id: string;
  /** The client's IP address, or null. */
  ip: string | null;
  /** PostHog's instance URL; empty in ferry. */
  site_url: string;
  /** PostHog's numeric project id; ferry's projects are tokens, so this is 0 (see `token`). */
  team_id: number;
  /** The project API key the event was sent with. */
  token: string;
  /** When ferry received the event (ISO 8601, UTC). */
  now: string;
  /** ferry applies the client's clock skew at capture, so this is null. */
  sent_at: string | null;
  /** When the event happened (ISO 8601, UTC). */
  timestamp: string;
  properties: Properties;
  /** Person properties to set (absent when the event has none). */
  $set?: Properties;
  /** Person properties to set when missing. */
  $set_once?: Properties;
  /** Autocapture's element chain, when the client sent one. */
  elements_chain?: string | null;
}

/** An event after it was stored, as `onEvent` and `composeWebhook` get it: with its person when persons are on. */
export interface ProcessedPluginEvent extends PluginEvent {
  person?: { uuid: string; properties: Properties };
}

/** Persistent key-value storage of one plugin in one project (survives restarts). Values are JSON. */
export interface StorageExtension {
  /** The value stored under `key`, or `defaultValue` when there is none. */
  get(key: string, defaultValue?: unknown): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
}

/** An in-memory cache with expiry (PostHog's Redis cache, without the lists). Values are JSON. */
export interface CacheExtension {
  /** The value under `key`, or `defaultValue` when there is none or it expired. */
  get(key: string, defaultValue?: unknown): Promise<unknown>;
  /** Stores `value`, for `ttlSeconds` when given. */
  set(key: string, value: unknown, ttlSeconds?: number): Promise<void>;
  /** Adds 1 to the number under `key` (0 when missing) and returns it. */
  incr(key: string): Promise<number>;
  /** Sets the key's time to live; false when there is no such key. */
  expire(key: string, ttlSeconds: number): Promise<boolean>;
  del(key: string): Promise<void>;
}

/** What `meta.fetch` takes: a subset of the Fetch API's `RequestInit` (the body is text). */
export interface PluginFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What `meta.fetch` answers: the status, headers and the whole body (redirects are not followed). */
export interface PluginResponse {
  status: number;
  statusText: string;
  ok: boolean;
  headers: Record<string, string>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** `meta.fetch`: the plugin's only way to the network, to the hosts its `allowed_hosts` lists. */
export type PluginFetch = (url: string, init?: PluginFetchInit) => Promise<PluginResponse>;

export interface PluginLogger {
  debug(...args: unknown[]): void;
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** What every hook gets as `meta`. */
export interface PluginMeta<Config = Record<string, unknown>, Global = Record<string, unknown>> {
  /** The plugin's `config` from `ferry.yaml` (a copy: changes stay in the sandbox). */
  config: Config;
  /** The plugin instance's scratch space, kept between calls (fill it in `setupPlugin`). */
  global: Global;
  storage: StorageExtension;
  cache: CacheExtension;
  fetch: PluginFetch;
  logger: PluginLogger;
}

/** A request `composeWebhook` asks ferry to send (ferry delivers it at least once, with retries). */
export interface Webhook {
  url: string;
  /** Default POST. */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

type Awaitable<T> = T | Promise<T>;

/**
 * The hooks a plugin module may export. Each is optional.
 *
 * @example
 * const plugin: Plugin = {
 *   async setupPlugin({ global }) { global.greeting = "hello"; },
 *   processEvent(event, { global }) { event.properties.greeting = global.greeting; return event; },
 * };
 */
export interface Plugin<Config = Record<string, unknown>, Global = Record<string, unknown>> {
  setupPlugin?(meta: PluginMeta<Config, Global>): Awaitable<void>;
  teardownPlugin?(meta: PluginMeta<Config, Global>): Awaitable<void>;
  /** Returns the event (changed or not); `null` or `undefined` drops it. Runs before the event is stored. */
  processEvent?(
    event: PluginEvent,
    meta: PluginMeta<Config, Global>,
  ): Awaitable<PluginEvent | null | undefined>;
  /** Runs after the event is stored, at least once per event (a throw is retried). */
  onEvent?(event: ProcessedPluginEvent, meta: PluginMeta<Config, Global>): Awaitable<void>;
  /** A request ferry sends for the stored event (at least once, retried), or `null` for none. */
  composeWebhook?(event: ProcessedPluginEvent, meta: PluginMeta<Config, Global>): Awaitable<Webhook | null>;
  runEveryMinute?(meta: PluginMeta<Config, Global>): Awaitable<void>;
  runEveryHour?(meta: PluginMeta<Config, Global>): Awaitable<void>;
  runEveryDay?(meta: PluginMeta<Config, Global>): Awaitable<void>;
}

/** The hooks ferry calls, by name. */
export const PLUGIN_HOOKS = [
  "setupPlugin",
  "teardownPlugin",
  "processEvent",
  "onEvent",
  "composeWebhook",
  "runEveryMinute",
  "runEveryHour",
  "runEveryDay",
] as const;

export type PluginHook = (typeof PLUGIN_HOOKS)[number];

/** The hooks that run on a schedule, with their interval. */
export const SCHEDULED_HOOKS = {
  runEveryMinute: 60_000,
  runEveryHour: 3_600_000,
  runEveryDay: 86_400_000,
} as const;

export type ScheduledHook = keyof typeof SCHEDULED_HOOKS;
