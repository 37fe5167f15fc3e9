import type { PluginEvent } from "./plugin-api.js";

const NOW = "2026-01-15T10:00:00.000Z";
const UA =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

let counter = 0;

/** A fresh uuid per event built (time-ordered like PostHog's, and unique within the process). */
function uuid(): string {
  counter = (counter + 1) % 0x1000000;
  const hex = Date.now().toString(16).padStart(12, "0");
  const rand = Math.floor(Math.random() * 0xffffffffffff)
    .toString(16)
    .padStart(12, "0");
  const seq = counter.toString(16).padStart(6, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${seq.slice(0, 3)}-8${seq.slice(3, 6)}-${rand}`;
}

/**
 * An event as plugins get it, with `changes` on top (PostHog's `createEvent` of the plugin scaffold's test utils).
 *
 * @example
 * createEvent({ event: "signed up", properties: { plan: "pro" } })
 */
export function createEvent(changes: Partial<PluginEvent> = {}): PluginEvent {
  return {
    uuid: uuid(),
    event: "default event",
    distinct_id: "my_id",
    ip: "127.0.0.1",
    site_url: "",
    team_id: 0,
    token: "phc_test",
    now: NOW,
    sent_at: null,
    timestamp: NOW,
    properties: {},
    ...changes,
  };
}

/** A `$pageview` as posthog-js sends it (browser properties, the raw user agent). */
export function createPageview(changes: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({
    event: "$pageview",
    distinct_id: "0190d1c5-6f7a-7d2e-9b1c-3f4a5b6c7d8e",
    ...changes,
    properties: {
      $current_url: "https://shop.example.com/pricing?plan=pro",
      $host: "shop.example.com",
      $pathname: "/pricing",
      $referrer: "https://www.google.com/",
      $referring_domain: "www.google.com",
      $raw_user_agent: UA,
      $screen_width: 1920,
      $screen_height: 1080,
      $lib: "web",
      $lib_version: "1.200.0",
      $session_id: "0190d1c5-7000-7000-8000-000000000001",
      ...changes.properties,
    },
  });
}

/** An `$identify` linking an anonymous id to a user, with person properties. */
export function createIdentify(changes: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({
    event: "$identify",
    distinct_id: "user-42",
    $set: { email: "ada@example.com", name: "Ada Lovelace", plan: "pro" },
    $set_once: { first_seen_plan: "free" },
    ...changes,
    properties: {
      $anon_distinct_id: "0190d1c5-6f7a-7d2e-9b1c-3f4a5b6c7d8e",
      $lib: "web",
      $lib_version: "1.200.0",
      ...changes.properties,
    },
  });
}

/** An `$autocapture` click, with its element chain. */
export function createAutocapture(changes: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({
    event: "$autocapture",
    distinct_id: "user-42",
    elements_chain:
      'button.btn.btn-primary:text="Buy now"nth-child="1"nth-of-type="1";form:attr__id="checkout"',
    ...changes,
    properties: {
      $event_type: "click",
      $current_url: "https://shop.example.com/checkout",
      $raw_user_agent: UA,
      $lib: "web",
      ...changes.properties,
    },
  });
}

/** A custom event from a server library (posthog-node). */
export function createCustomEvent(changes: Partial<PluginEvent> = {}): PluginEvent {
  return createEvent({
    event: "order completed",
    distinct_id: "user-42",
    ...changes,
    properties: {
      order_id: "ord_1001",
      revenue: 129.5,
      currency: "EUR",
      email: "ada@example.com",
      items: [{ sku: "tee-m", quantity: 2 }],
      $lib: "posthog-node",
      $lib_version: "5.74.0",
      ...changes.properties,
    },
  });
}

/** The events `ferry plugin test` runs a plugin over when given none: a pageview, an identify, a click, a custom event. */
export function sampleEvents(): PluginEvent[] {
  return [
    createPageview({ uuid: "0190d1c5-0000-7000-8000-000000000001" }),
    createIdentify({ uuid: "0190d1c5-0000-7000-8000-000000000002" }),
    createAutocapture({ uuid: "0190d1c5-0000-7000-8000-000000000003" }),
    createCustomEvent({ uuid: "0190d1c5-0000-7000-8000-000000000004" }),
  ];
}
