/**
 * `ferry:first-time-event`: tags an event `is_first_event_ever` (the first of its name in the project) and
 * `is_first_event_for_user` (the first of its name for its distinct_id), keeping what it has seen in `meta.storage`.
 * The uuid of the first event is what is stored, so an event processed again after a failed load keeps its tag.
 *
 * ```yaml
 * plugins:
 *   - module: ferry:first-time-event
 *     config:
 *       events: [signed up, $pageview]    # only these (default: every event)
 * ```
 */
import type { PluginEvent, PluginMeta } from "../plugin-api.js";

interface Config {
  events?: string[] | string;
}

async function first(storage: PluginMeta["storage"], key: string, uuid: string): Promise<boolean> {
  const seen = await storage.get(key, null);
  if (seen === null) {
    await storage.set(key, uuid);
    return true;
  }
  return seen === uuid;
}

export async function processEvent(
  event: PluginEvent,
  { config, storage }: PluginMeta<Config>,
): Promise<PluginEvent> {
  const only =
    typeof config.events === "string" ? config.events.split(",").map((s) => s.trim()) : (config.events ?? []);
  if (only.length > 0 && !only.includes(event.event)) return event;
  event.properties.is_first_event_ever = await first(storage, `ever/${event.event}`, event.uuid);
  event.properties.is_first_event_for_user = await first(
    storage,
    `user/${event.event}/${event.distinct_id}`,
    event.uuid,
  );
  return event;
}
