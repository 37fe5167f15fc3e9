import type { IngestEvent } from "../ingest/stage.js";
import type { ProcessedPluginEvent } from "./plugin-api.js";

/**
 * The event a plugin gets for a captured event (PostHog's `PluginEvent` shape). After person processing (exports)
 * it carries the event's person.
 *
 * @example
 * toPluginEvent(captured).properties === captured.properties // a fresh object tree is made by JSON on the way in
 */
export function toPluginEvent(e: IngestEvent): ProcessedPluginEvent {
  const out: ProcessedPluginEvent = {
    uuid: e.uuid,
    event: e.event,
    distinct_id: e.distinct_id,
    ip: e.ip,
    site_url: "",
    team_id: 0,
    token: e.token,
    now: e.created_at,
    sent_at: null,
    timestamp: e.timestamp,
    properties: e.properties,
  };
  if (e.set !== null) out.$set = e.set;
  if (e.set_once !== null) out.$set_once = e.set_once;
  if (e.elements_chain !== null) out.elements_chain = e.elements_chain;
  if (e.person_id) out.person = { uuid: e.person_id, properties: e.person_properties ?? {} };
  return out;
}

/** A plugin returned something that is not an event. */
export class InvalidPluginEvent extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The captured event after a plugin changed it: what ferry takes back from `returned` (event name, distinct_id,
 * timestamp, properties, $set, $set_once, ip, elements_chain) on top of `original`, which keeps its uuid, token and
 * receive time. Throws `InvalidPluginEvent` saying what is wrong when `returned` is not a valid event.
 */
export function fromPluginEvent(original: IngestEvent, returned: unknown): IngestEvent {
  if (!isObject(returned))
    throw new InvalidPluginEvent(`returned ${describe(returned)}, not an event object`);
  const r = returned;
  if (typeof r.event !== "string" || r.event === "")
    throw new InvalidPluginEvent(`returned an event without an event name (event: ${describe(r.event)})`);
  if (typeof r.distinct_id !== "string" || r.distinct_id === "")
    throw new InvalidPluginEvent(
      `returned an event without a distinct_id (distinct_id: ${describe(r.distinct_id)})`,
    );
  if (r.distinct_id.length > 200)
    throw new InvalidPluginEvent(
      `returned a distinct_id of ${r.distinct_id.length} characters (at most 200)`,
    );
  const properties = r.properties ?? {};
  if (!isObject(properties))
    throw new InvalidPluginEvent(`returned properties that are ${describe(properties)}, not an object`);
  const set = optionalObject(r.$set, "$set");
  const setOnce = optionalObject(r.$set_once, "$set_once");
  let timestamp = original.timestamp;
  if (r.timestamp !== original.timestamp) {
    const t = typeof r.timestamp === "string" ? Date.parse(r.timestamp) : Number.NaN;
    if (!Number.isFinite(t))
      throw new InvalidPluginEvent(`returned a timestamp that is not a date: ${describe(r.timestamp)}`);
    timestamp = new Date(t).toISOString();
  }
  const ip = r.ip === undefined ? original.ip : r.ip;
  if (ip !== null && typeof ip !== "string")
    throw new InvalidPluginEvent(`returned an ip that is ${describe(ip)}`);
  const chain = r.elements_chain === undefined ? original.elements_chain : r.elements_chain;
  if (chain !== null && typeof chain !== "string")
    throw new InvalidPluginEvent(`returned an elements_chain that is ${describe(chain)}`);
  return {
    ...original,
    event: r.event,
    distinct_id: r.distinct_id,
    timestamp,
    properties,
    set,
    set_once: setOnce,
    ip,
    elements_chain: chain,
  };
}

function optionalObject(v: unknown, name: string): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new InvalidPluginEvent(`returned ${name} that is ${describe(v)}, not an object`);
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}
