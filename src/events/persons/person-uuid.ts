import { createHash } from "node:crypto";

/** PostHog's namespace for person uuids (plugin-server `person-uuid.ts`). */
export const PERSON_UUID_NAMESPACE = "932979b4-65c3-4424-8467-0b66ec27bc22";

const NAMESPACE_BYTES = Buffer.from(PERSON_UUID_NAMESPACE.replace(/-/g, ""), "hex");

/**
 * A UUIDv5 (RFC 9562: SHA-1 of namespace and name, version 5, variant 10).
 *
 * @example
 * uuidv5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8") // "2ed6657d-e927-568b-95e1-2665a8aea6a2"
 */
export function uuidv5(name: string, namespace: string): string {
  const ns =
    namespace === PERSON_UUID_NAMESPACE ? NAMESPACE_BYTES : Buffer.from(namespace.replace(/-/g, ""), "hex");
  const h = createHash("sha1").update(ns).update(name, "utf8").digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The id of the person a distinct_id creates: PostHog's `uuidv5("<team>:<distinct_id>")` in its namespace, with the
 * project's token in place of PostHog's numeric team id. Deterministic, so a person's id is the same on every server
 * and after every replay, and events sent personless (`$process_person_profile: false`) get the id their distinct_id
 * would create.
 *
 * @example
 * personUuid("phc_x", "user-1") // the same uuid every time, for this token and distinct_id
 */
export function personUuid(token: string, distinctId: string): string {
  return uuidv5(`${token}:${distinctId}`, PERSON_UUID_NAMESPACE);
}
