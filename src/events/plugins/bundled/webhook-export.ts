/**
 * `ferry:webhook-export`: sends each stored event to a URL (ferry delivers it at least once, in order, retrying 5xx
 * and timeouts, with the event's uuid as `Idempotency-Key`). The body is the event as JSON, or a template.
 *
 * ```yaml
 * plugins:
 *   - module: ferry:webhook-export
 *     config:
 *       url: https://hooks.example.com/events
 *       method: POST                          # default
 *       headers: { Authorization: "Bearer ${env:HOOK_TOKEN}" }
 *       events: [signed up]                   # only these (default: every event)
 *       template: '{"text": "{{ distinct_id }} did {{ event }} on {{ properties.$current_url }}", "raw": {{ json properties }}}'
 *     allowed_hosts: [hooks.example.com]
 * ```
 *
 * In a template, `{{ path }}` is the value at `path` (`event`, `distinct_id`, `uuid`, `timestamp`, `properties.x`,
 * `person.properties.x` ...) escaped for use inside a JSON string (nothing when missing); `{{ json path }}` is the
 * value as JSON (`null` when missing), and `{{ json }}` the whole event.
 */
import type { PluginMeta, ProcessedPluginEvent, Webhook } from "../plugin-api.js";

interface Config {
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  events?: string[] | string;
  template?: string;
}

export function setupPlugin({ config }: PluginMeta<Config>): void {
  if (typeof config.url !== "string" || !/^https?:\/\//.test(config.url))
    throw new Error(`webhook-export: config.url must be an http(s) URL, not ${JSON.stringify(config.url)}`);
}

function at(event: unknown, path: string): unknown {
  let v: unknown = event;
  for (const key of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Fills a body template with values of the event (see the module's comment). */
export function render(template: string, event: unknown): string {
  return template.replace(
    /\{\{\s*(json\b)?\s*([^}]*?)\s*\}\}/g,
    (_, json: string | undefined, path: string) => {
      const value = path === "" ? event : at(event, path);
      if (json) return JSON.stringify(value ?? null);
      if (value === undefined || value === null) return "";
      return typeof value === "string" ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value);
    },
  );
}

export function composeWebhook(event: ProcessedPluginEvent, { config }: PluginMeta<Config>): Webhook | null {
  const only =
    typeof config.events === "string" ? config.events.split(",").map((s) => s.trim()) : (config.events ?? []);
  if (only.length > 0 && !only.includes(event.event)) return null;
  return {
    url: config.url as string,
    method: config.method ?? "POST",
    headers: { "Content-Type": "application/json", ...(config.headers ?? {}) },
    body: config.template ? render(config.template, event) : JSON.stringify(event),
  };
}
