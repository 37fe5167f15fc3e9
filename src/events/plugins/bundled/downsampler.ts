/**
 * `ferry:downsampler`: keeps a fixed share of distinct_ids and all of their events (the same ones every time: a hash
 * of the distinct_id decides), dropping the rest, and records the share as `$sample_rate` on what it keeps.
 *
 * ```yaml
 * plugins:
 *   - module: ferry:downsampler
 *     config:
 *       percentage: 10     # 0..100
 *       salt: ""           # change it to sample another set of distinct_ids
 * ```
 */
import type { PluginEvent, PluginMeta } from "../plugin-api.js";

interface Config {
  percentage?: number | string;
  salt?: string;
}

interface Global {
  /** Out of 10,000. */
  keep: number;
  rate: number;
}

type Meta = PluginMeta<Config, Global>;

export function setupPlugin({ config, global }: Meta): void {
  const p = Number(config.percentage);
  if (config.percentage === undefined || !Number.isFinite(p) || p < 0 || p > 100)
    throw new Error(
      `downsampler: config.percentage must be a number 0..100, not ${JSON.stringify(config.percentage)}`,
    );
  global.keep = Math.round(p * 100);
  global.rate = p / 100;
}

/** FNV-1a over UTF-16 code units: stable across processes and versions. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Whether a distinct_id is in the sample (exported for tests). */
export function sampled(distinctId: string, keepOf10000: number, salt = ""): boolean {
  return hash(`${salt}${distinctId}`) % 10_000 < keepOf10000;
}

export function processEvent(event: PluginEvent, { config, global }: Meta): PluginEvent | null {
  if (!sampled(event.distinct_id, global.keep, config.salt ?? "")) return null;
  event.properties.$sample_rate = global.rate;
  return event;
}
