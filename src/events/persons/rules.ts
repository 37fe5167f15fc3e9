// PostHog's person rules as pure functions (plugin-server `person-merge-service.ts`, `person-update.ts`,
// `properties-updater.ts`; see shared research, section 2 "Persons" and "Groups").

const CASE_INSENSITIVE = [
  "anonymous",
  "guest",
  "distinctid",
  "distinct_id",
  "id",
  "not_authenticated",
  "email",
  "undefined",
  "true",
  "false",
];
const CASE_SENSITIVE = ["[object Object]", "NaN", "None", "none", "null", "0", "undefined"];
const quoted = (ids: string[]) => [...ids, ...ids.map((i) => `'${i}'`), ...ids.map((i) => `"${i}"`)];
const ILLEGAL_ANY_CASE = new Set(quoted(CASE_INSENSITIVE));
const ILLEGAL_EXACT = new Set(quoted(CASE_SENSITIVE));

/**
 * Whether a distinct_id may never take part in a merge: empty after trimming, one of PostHog's generic ids in any
 * case (`anonymous`, `guest`, `distinctid`, `distinct_id`, `id`, `not_authenticated`, `email`, `undefined`, `true`,
 * `false`), or exactly one of `[object Object]`, `NaN`, `None`, `none`, `null`, `0`; each also in single or double
 * quotes. (`nan` and `NULL` are legal, as in PostHog.)
 *
 * @example
 * isIllegalDistinctId("Anonymous") // true
 * isIllegalDistinctId('"null"')    // true
 * isIllegalDistinctId("nan")       // false
 */
export function isIllegalDistinctId(id: string): boolean {
  return id.trim() === "" || ILLEGAL_ANY_CASE.has(id.toLowerCase()) || ILLEGAL_EXACT.has(id);
}

/** Events that merge two distinct ids. */
export const MERGE_EVENTS: ReadonlySet<string> = new Set([
  "$identify",
  "$create_alias",
  "$merge_dangerously",
]);

/** Events dropped (with a warning) when they say `$process_person_profile: false`: they exist to change persons. */
export const PERSON_ONLY_EVENTS: ReadonlySet<string> = new Set([...MERGE_EVENTS, "$groupidentify"]);

/** Events that never change person properties (PostHog processes them in pipelines of their own). */
const NO_PERSON_UPDATE_EVENTS: ReadonlySet<string> = new Set(["$exception", "$$heatmap"]);

/** At most this many group types per project (PostHog's `MAX_GROUP_TYPES_PER_TEAM`). */
export const MAX_GROUP_TYPES = 5;

/**
 * What `$process_person_profile` asks for: only the boolean `false` turns person processing off; any other
 * non-boolean value is a warning and counts as true.
 *
 * @example
 * processPersonFlag({ $process_person_profile: false }) // { process: false }
 * processPersonFlag({ $process_person_profile: "no" })  // { process: true, invalid: true }
 */
export function processPersonFlag(properties: Record<string, unknown>): { process: boolean; invalid?: true } {
  const v = properties.$process_person_profile;
  if (v === undefined || v === true) return { process: true };
  if (v === false) return { process: false };
  return { process: true, invalid: true };
}

/** The person property changes an event asks for. */
export interface PropertyUpdates {
  set: Record<string, unknown>;
  unset: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `$set` / `$set_once` as an object (anything else counts as empty). */
export function propertyMap(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

/**
 * The changes an event makes to properties `current`: `$set_once` fills keys that are missing, `$set` overwrites
 * values that differ, `$unset` (an array of keys, or an object whose keys count) removes keys that exist.
 * `$exception` and `$$heatmap` change nothing.
 *
 * @example
 * propertyUpdates("$set", { a: 1, z: 0 }, { a: 2 }, { a: 9, c: 4 }, ["z"]) // { set: { c: 4, a: 2 }, unset: ["z"] }
 */
export function propertyUpdates(
  event: string,
  current: Record<string, unknown>,
  set: Record<string, unknown>,
  setOnce: Record<string, unknown>,
  unset: unknown,
): PropertyUpdates {
  if (NO_PERSON_UPDATE_EVENTS.has(event)) return { set: {}, unset: [] };
  const out: PropertyUpdates = { set: {}, unset: [] };
  for (const [k, v] of Object.entries(setOnce)) if (current[k] === undefined) out.set[k] = v;
  for (const [k, v] of Object.entries(set)) if (!sameValue(current[k], v)) out.set[k] = v;
  const keys = Array.isArray(unset) ? unset : isObject(unset) ? Object.keys(unset) : [];
  for (const k of keys) if (typeof k === "string" && k in current) out.unset.push(k);
  return out;
}

/** Whether updates change anything. */
export function hasUpdates(u: PropertyUpdates): boolean {
  return u.unset.length > 0 || Object.keys(u.set).length > 0;
}

/** New properties (a new object: properties objects are never changed in place, events share them). */
export function applyUpdates(current: Record<string, unknown>, u: PropertyUpdates): Record<string, unknown> {
  const next = { ...current, ...u.set };
  for (const k of u.unset) delete next[k];
  return next;
}

/**
 * `$group_set` over a group's properties: every key whose value differs is set (PostHog's `calculateUpdate`).
 * Returns undefined when nothing changes.
 */
export function groupUpdate(
  current: Record<string, unknown>,
  set: Record<string, unknown>,
): Record<string, unknown> | undefined {
  let changed = false;
  const next = { ...current };
  for (const [k, v] of Object.entries(set)) {
    if (!(k in next) || !sameValue(next[k], v)) {
      next[k] = v;
      changed = true;
    }
  }
  return changed ? next : undefined;
}

/**
 * Value equality for property updates: primitives by `===`, JSON values by content. (PostHog compares with `!==`,
 * so an object or array value counts as changed every time; comparing content saves versions that change nothing.)
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The earlier of two UTC ISO 8601 times. */
export function earlier(a: string, b: string): string {
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
