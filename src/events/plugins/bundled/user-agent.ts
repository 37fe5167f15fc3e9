/**
 * `ferry:user-agent`: sets `$browser`, `$browser_version`, `$os`, `$os_version`, `$device_type` and `$device` from the
 * event's user agent (parsed by ua-parser-js), as posthog-js does in browsers: for events from servers and apps that
 * send the raw user agent only.
 *
 * ```yaml
 * plugins:
 *   - module: ferry:user-agent
 *     config:
 *       sources: [$raw_user_agent, $useragent, $user_agent]   # properties to read it from, first found wins (default)
 *       overwrite: false                                       # keep values the event has (default)
 * ```
 */
import UAParser from "ua-parser-js";
import type { PluginEvent, PluginMeta } from "../plugin-api.js";

interface Config {
  sources?: string[] | string;
  overwrite?: boolean | string;
}

const DEFAULT_SOURCES = ["$raw_user_agent", "$useragent", "$user_agent"];

/** ua-parser-js's device types -> PostHog's `$device_type` values (no type: a desktop browser). */
const DEVICE_TYPES: Record<string, string> = {
  mobile: "Mobile",
  tablet: "Tablet",
  smarttv: "TV",
  console: "Console",
  wearable: "Wearable",
  embedded: "Embedded",
};

export function processEvent(event: PluginEvent, { config }: PluginMeta<Config>): PluginEvent {
  const sources =
    typeof config.sources === "string"
      ? config.sources.split(",").map((s) => s.trim())
      : (config.sources ?? DEFAULT_SOURCES);
  const ua = sources
    .map((s) => event.properties[s])
    .find((v): v is string => typeof v === "string" && v !== "");
  if (!ua) return event;
  const overwrite = config.overwrite === true || config.overwrite === "true";
  const r = new UAParser(ua).getResult();
  const found: Record<string, string | undefined> = {
    $browser: r.browser.name,
    $browser_version: r.browser.version,
    $os: r.os.name,
    $os_version: r.os.version,
    $device_type: r.device.type ? (DEVICE_TYPES[r.device.type] ?? r.device.type) : "Desktop",
    $device: r.device.model,
  };
  for (const [k, v] of Object.entries(found)) {
    if (v === undefined || v === "") continue;
    if (overwrite || event.properties[k] === undefined) event.properties[k] = v;
  }
  return event;
}
