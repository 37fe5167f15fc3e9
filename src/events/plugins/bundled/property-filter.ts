/**
 * `ferry:property-filter`: drops event properties by name or pattern, from `properties`, `$set` and `$set_once`.
 *
 * ```yaml
 * plugins:
 *   - module: ferry:property-filter
 *     config:
 *       properties: [email, $ip, address.street]   # names; a dotted name reaches into nested objects
 *       patterns: ["^\\$geoip_", "token$"]          # regular expressions on top-level names
 * ```
 */
import type { PluginEvent, PluginMeta, Properties } from "../plugin-api.js";

interface Config {
  /** Names (or a comma-separated list); `a.b` drops `b` inside the object `a`. */
  properties?: string[] | string;
  /** Regular expressions (or a comma-separated list) tested against top-level names. */
  patterns?: string[] | string;
}

interface Global {
  paths: string[][];
  patterns: RegExp[];
}

type Meta = PluginMeta<Config, Global>;

function list(v: string[] | string | undefined): string[] {
  const items = typeof v === "string" ? v.split(",") : Array.isArray(v) ? v : [];
  return items.map((s) => String(s).trim()).filter((s) => s !== "");
}

export function setupPlugin({ config, global }: Meta): void {
  global.paths = list(config.properties).map((p) => p.split("."));
  global.patterns = list(config.patterns).map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(
        `property-filter: the pattern ${JSON.stringify(p)} is not a regular expression: ${(err as Error).message}`,
      );
    }
  });
  if (global.paths.length === 0 && global.patterns.length === 0)
    throw new Error(
      "property-filter needs config.properties (names) or config.patterns (regular expressions)",
    );
}

function drop(props: Properties | undefined, { paths, patterns }: Global): void {
  if (!props) return;
  for (const path of paths) {
    let target: unknown = props;
    for (const key of path.slice(0, -1)) target = (target as Properties | undefined)?.[key];
    if (typeof target === "object" && target !== null) delete (target as Properties)[path.at(-1) as string];
  }
  if (patterns.length === 0) return;
  for (const key of Object.keys(props)) if (patterns.some((p) => p.test(key))) delete props[key];
}

export function processEvent(event: PluginEvent, { global }: Meta): PluginEvent {
  drop(event.properties, global);
  drop(event.$set, global);
  drop(event.$set_once, global);
  return event;
}
