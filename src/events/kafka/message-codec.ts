import type { CapturedEvent } from "../event.js";

const TEXT_FIELDS = ["uuid", "event", "distinct_id", "token", "timestamp", "created_at"] as const;

/**
 * The event in a message of the event topic (capture writes the event's JSON), or why it is not one: a message
 * another producer wrote, cut or garbled, can never load and goes to the dead-letter topic with this reason.
 *
 * @example
 * decodeMessage(Buffer.from("{}")) // "not a ferry event: uuid is missing or not text"
 */
export function decodeMessage(value: Buffer | null): CapturedEvent | string {
  if (value === null || value.length === 0) return "an empty message (no event)";
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return "not a ferry event: the message is not a JSON object";
  const o = parsed as Record<string, unknown>;
  for (const key of TEXT_FIELDS) {
    if (typeof o[key] !== "string" || o[key] === "")
      return `not a ferry event: ${key} is missing or not text`;
  }
  if (Number.isNaN(Date.parse(o.timestamp as string))) return "not a ferry event: timestamp is not a date";
  if (typeof o.properties !== "object" || o.properties === null || Array.isArray(o.properties))
    return "not a ferry event: properties is not an object";
  const defaults: Partial<CapturedEvent> = { set: null, set_once: null, elements_chain: null, ip: null };
  return { ...defaults, ...o } as CapturedEvent;
}
