import type { IngestEvent } from "../ingest/stage.js";
import {
  type DistinctIdRow,
  type Group,
  groupKeyOf,
  type Person,
  type PersonChanges,
  type PersonStore,
} from "./person-store.js";
import { personUuid } from "./person-uuid.js";
import {
  applyUpdates,
  earlier,
  groupUpdate,
  hasUpdates,
  isIllegalDistinctId,
  MAX_GROUP_TYPES,
  PERSON_ONLY_EVENTS,
  processPersonFlag,
  propertyMap,
  propertyUpdates,
} from "./rules.js";

/** Something PostHog reports as an ingestion warning: a merge refused, an event dropped, a group type refused. */
export interface PersonWarning {
  /** PostHog's warning type (`cannot_merge_already_identified`, ...). */
  type: string;
  /** The event's uuid. */
  uuid: string;
  detail: string;
}

/** The distinct id an event merges into its own, if it is a merge event (PostHog's rule for each event). */
export function mergeSource(e: IngestEvent): string | undefined {
  const p = e.properties;
  if ((e.event === "$create_alias" || e.event === "$merge_dangerously") && p.alias) return String(p.alias);
  if (e.event === "$identify" && "$anon_distinct_id" in p) return String(p.$anon_distinct_id);
  return undefined;
}

/**
 * PostHog's person processing for one project, a page of events at a time in log order: each event is stamped with
 * its person (`person_id`, `person_properties` as of the event); persons are created when a distinct_id is first
 * seen, merged by `$identify` / `$create_alias` / `$merge_dangerously`, updated by `$set` / `$set_once` / `$unset`;
 * `$groupidentify` upserts groups. The page's persons are read from the store at once; what the page changed is
 * staged in the store's pending area when the page is done, so memory holds one page's persons.
 *
 * @example
 * const processor = new PersonProcessor("phc_x", store, (w) => log.warn(w.detail));
 * const kept = await processor.processPage(events); // stamped; `$identify` with $process_person_profile false dropped
 */
export class PersonProcessor {
  readonly #token: string;
  readonly #store: PersonStore;
  readonly #warn: (w: PersonWarning) => void;
  /** The project's group types (read once a batch, as few as five). */
  #types: Map<string, number> | undefined;

  constructor(token: string, store: PersonStore, warn: (w: PersonWarning) => void) {
    this.#token = token;
    this.#store = store;
    this.#warn = warn;
  }

  /** Forgets what it read (a new batch, or a batch given up): the next page reads from the store again. */
  reset(): void {
    this.#types = undefined;
  }

  /** Processes a page in order; returns the events to keep, stamped. */
  async processPage(events: IngestEvent[]): Promise<IngestEvent[]> {
    const page = await this.#prefetch(events);
    const kept: IngestEvent[] = [];
    for (const e of events) if (await this.#event(e, page)) kept.push(e);
    // Also when the page changed nothing: staging ends the page for the store.
    await this.#store.stage(page.changes());
    return kept;
  }

  async #prefetch(events: IngestEvent[]): Promise<Page> {
    const ids = new Set<string>();
    const personless = new Set<string>();
    const groupKeys: Array<{ groupType: string; groupKey: string }> = [];
    let groups = false;
    for (const e of events) {
      ids.add(e.distinct_id);
      if (!processPersonFlag(e.properties).process) personless.add(e.distinct_id);
      else {
        const other = mergeSource(e);
        if (other !== undefined) {
          ids.add(other);
          personless.add(other).add(e.distinct_id);
        }
      }
      const key = groupIdentity(e);
      if (key) groupKeys.push(key);
      if (key || e.properties.$groups !== undefined) groups = true;
    }
    const found = await this.#store.lookup([...ids], [...personless]);
    const page = new Page(this.#store, ids, found.distinctIds, found.persons, found.personless);
    if (groups) {
      const g = await this.#store.groups(groupKeys);
      for (const [k, v] of g.groups) page.groups.set(k, v);
      this.#types ??= g.types;
    }
    return page;
  }

  /** One event: false when it is dropped. */
  async #event(e: IngestEvent, page: Page): Promise<boolean> {
    const flag = processPersonFlag(e.properties);
    if (flag.invalid) {
      this.#warning(
        "invalid_process_person_profile",
        e,
        `$process_person_profile must be true or false, not ${JSON.stringify(e.properties.$process_person_profile)}; processing the person`,
      );
    }
    if (!flag.process) {
      if (PERSON_ONLY_EVENTS.has(e.event)) {
        this.#warning(
          "invalid_event_when_process_person_profile_is_false",
          e,
          `${e.event} with $process_person_profile false is dropped (it only changes persons)`,
        );
        return false;
      }
      await this.#personless(e, page);
      this.#groupTypes(e, page);
      return true;
    }
    let person: Person | undefined;
    let identify = false;
    const other = mergeSource(e);
    if (other !== undefined) ({ person, identify } = await this.#merge(other, e, page));
    if (person) person = this.#update(person, e, identify, page);
    else {
      const found = await page.personOf(e.distinct_id);
      person = found
        ? this.#update(found, e, identify, page)
        : this.#create(e, [{ id: e.distinct_id, version: 0 }], identify, page);
    }
    e.person_id = person.id;
    e.person_properties = person.properties;
    if (e.event === "$groupidentify") this.#groupIdentify(e, page);
    this.#groupTypes(e, page);
    return true;
  }

  /** `$process_person_profile: false`: the person the id has, else the id it would create; no properties. */
  async #personless(e: IngestEvent, page: Page): Promise<void> {
    const found = await page.personOf(e.distinct_id);
    if (!found && !page.personless.has(e.distinct_id)) page.addPersonless(e.distinct_id);
    e.person_id = found ? found.id : personUuid(this.#token, e.distinct_id);
    e.person_properties = {};
  }

  /**
   * Merges `other` into the event's distinct_id (PostHog's `merge`): the person to update afterwards (if any) and
   * whether it becomes identified.
   */
  async #merge(other: string, e: IngestEvent, page: Page): Promise<{ person?: Person; identify: boolean }> {
    const into = e.distinct_id;
    if (into === other) return { identify: false };
    for (const id of [into, other]) {
      if (isIllegalDistinctId(id)) {
        this.#warning(
          "cannot_merge_with_illegal_distinct_id",
          e,
          `${e.event}: ${JSON.stringify(id)} is not a distinct_id that can be merged (${JSON.stringify(other)} into ${JSON.stringify(into)})`,
        );
        return { identify: false };
      }
    }
    const otherPerson = await page.personOf(other);
    const intoPerson = await page.personOf(into);
    if (otherPerson && intoPerson) {
      if (otherPerson.id === intoPerson.id) return { person: intoPerson, identify: true };
      if (e.event !== "$merge_dangerously" && otherPerson.isIdentified) {
        this.#warning(
          "cannot_merge_already_identified",
          e,
          `${e.event}: ${JSON.stringify(other)} belongs to an identified person; not merged into ${JSON.stringify(into)}'s (use $merge_dangerously to merge anyway)`,
        );
        return { person: intoPerson, identify: true };
      }
      return { person: await this.#mergePersons(otherPerson, intoPerson, e, page), identify: true };
    }
    if (otherPerson || intoPerson) {
      const [person, add] = otherPerson ? [otherPerson, into] : [intoPerson as Person, other];
      // An id used personless before already has events with its own person id: version 1 tells readers so.
      page.setDistinctId({ distinctId: add, personId: person.id, version: page.personless.has(add) ? 1 : 0 });
      return { person, identify: true };
    }
    // Neither has a person: one person for both, keyed by an id not used personless when there is one.
    let first = into;
    let second = other;
    const usedFirst = page.personless.has(first);
    const usedSecond = page.personless.has(second);
    if (!usedFirst && usedSecond) [first, second] = [second, first];
    const ids = [
      { id: first, version: 0 },
      { id: second, version: usedFirst && usedSecond ? 1 : 0 },
    ];
    return { person: this.#create(e, ids, true, page), identify: true };
  }

  /** Both ids have persons: `other`'s moves into `into`'s (whose values win), and `other`'s person is deleted. */
  async #mergePersons(other: Person, into: Person, e: IngestEvent, page: Page): Promise<Person> {
    const merged = { ...other.properties, ...into.properties };
    const updates = propertyUpdates(
      e.event,
      merged,
      propertyMap(e.set),
      propertyMap(e.set_once),
      e.properties.$unset,
    );
    const person: Person = {
      id: into.id,
      properties: applyUpdates(merged, updates),
      isIdentified: true,
      createdAt: earlier(into.createdAt, other.createdAt),
      version: Math.max(into.version, other.version) + 1,
    };
    page.setPerson(person);
    for (const row of await page.distinctIdsOf(other.id))
      page.setDistinctId({ distinctId: row.distinctId, personId: into.id, version: row.version + 1 });
    page.deletePerson(other);
    return person;
  }

  /** The event's `$set` / `$set_once` / `$unset` (and becoming identified): a new version when anything changes. */
  #update(person: Person, e: IngestEvent, identify: boolean, page: Page): Person {
    const u = propertyUpdates(
      e.event,
      person.properties,
      propertyMap(e.set),
      propertyMap(e.set_once),
      e.properties.$unset,
    );
    const identified = identify && !person.isIdentified;
    const changed = hasUpdates(u);
    if (!changed && !identified) return person;
    const next: Person = {
      ...person,
      properties: changed ? applyUpdates(person.properties, u) : person.properties,
      isIdentified: person.isIdentified || identified,
      version: person.version + 1,
    };
    page.setPerson(next);
    return next;
  }

  /** A new person keyed by the first id, with the event's `$set_once` and `$set`, created at the event's time. */
  #create(
    e: IngestEvent,
    ids: Array<{ id: string; version: number }>,
    identified: boolean,
    page: Page,
  ): Person {
    const person: Person = {
      id: personUuid(this.#token, (ids[0] as { id: string }).id),
      properties: { ...propertyMap(e.set_once), ...propertyMap(e.set), $creator_event_uuid: e.uuid },
      isIdentified: identified,
      createdAt: e.timestamp,
      version: 0,
    };
    page.setPerson(person);
    for (const { id, version } of ids) page.setDistinctId({ distinctId: id, personId: person.id, version });
    return person;
  }

  /** `$groupidentify`: creates the group (version 1) or applies `$group_set` to it (+1 when anything changes). */
  #groupIdentify(e: IngestEvent, page: Page): void {
    const g = groupIdentity(e);
    if (!g) {
      this.#warning(
        "invalid_group_identify",
        e,
        "$groupidentify needs $group_type (text) and $group_key; the group is not changed",
      );
      return;
    }
    if (this.#typeIndex(g.groupType, e, page) === undefined) return;
    const set = propertyMap(e.properties.$group_set);
    const key = groupKeyOf(g.groupType, g.groupKey);
    const current = page.groups.get(key);
    if (!current) {
      page.setGroup({ ...g, properties: { ...set }, createdAt: e.timestamp, version: 1 });
      return;
    }
    const properties = groupUpdate(current.properties, set);
    if (properties)
      page.setGroup({
        ...current,
        properties,
        createdAt: earlier(current.createdAt, e.timestamp),
        version: current.version + 1,
      });
  }

  /** An event's `$groups` name group types: each gets an index on first sight (while fewer than five exist). */
  #groupTypes(e: IngestEvent, page: Page): void {
    const groups = e.properties.$groups;
    if (typeof groups !== "object" || groups === null || Array.isArray(groups)) return;
    for (const type of Object.keys(groups)) this.#typeIndex(type, e, page);
  }

  #typeIndex(type: string, e: IngestEvent, page: Page): number | undefined {
    const types = this.#types as Map<string, number>;
    const have = types.get(type);
    if (have !== undefined) return have;
    if (types.size >= MAX_GROUP_TYPES) {
      this.#warning(
        "group_type_limit_reached",
        e,
        `group type ${JSON.stringify(type)} is refused: the project has ${MAX_GROUP_TYPES} group types already (${[...types.keys()].join(", ")})`,
      );
      return undefined;
    }
    const index = types.size;
    types.set(type, index);
    page.newGroupTypes.push({ groupType: type, index });
    return index;
  }

  #warning(type: string, e: IngestEvent, detail: string): void {
    this.#warn({ type, uuid: e.uuid, detail });
  }
}

/** `$groupidentify`'s group: `$group_type` (non-empty text) and `$group_key` (as text). */
function groupIdentity(e: IngestEvent): { groupType: string; groupKey: string } | undefined {
  if (e.event !== "$groupidentify") return undefined;
  const type = e.properties.$group_type;
  const key = e.properties.$group_key;
  if (typeof type !== "string" || type === "" || key === undefined || key === null) return undefined;
  return { groupType: type, groupKey: typeof key === "string" ? key : JSON.stringify(key) };
}

/** The persons, distinct ids and groups one page works on, and what it changed. */
class Page {
  readonly #store: PersonStore;
  /** Ids looked up (absent from `#ids`: not in the store). */
  readonly #asked: Set<string>;
  readonly #ids: Map<string, DistinctIdRow>;
  readonly #persons: Map<string, Person>;
  readonly personless: Set<string>;
  readonly groups = new Map<string, Group>();
  readonly #changedPersons = new Map<string, Person>();
  readonly #deleted = new Map<string, number>();
  readonly #changedIds = new Map<string, DistinctIdRow>();
  readonly #newPersonless: string[] = [];
  readonly #changedGroups = new Map<string, Group>();
  readonly newGroupTypes: Array<{ groupType: string; index: number }> = [];

  constructor(
    store: PersonStore,
    asked: Set<string>,
    ids: Map<string, DistinctIdRow>,
    persons: Map<string, Person>,
    personless: Set<string>,
  ) {
    this.#store = store;
    this.#asked = asked;
    this.#ids = ids;
    this.#persons = persons;
    this.personless = personless;
  }

  async personOf(distinctId: string): Promise<Person | undefined> {
    if (!this.#asked.has(distinctId)) {
      const found = await this.#store.lookup([distinctId], []);
      this.#asked.add(distinctId);
      for (const [k, v] of found.distinctIds) this.#ids.set(k, v);
      for (const [k, v] of found.persons) if (!this.#persons.has(k)) this.#persons.set(k, v);
    }
    const row = this.#ids.get(distinctId);
    return row ? this.#persons.get(row.personId) : undefined;
  }

  /** A person's distinct ids: the store's, as this page changed them. */
  async distinctIdsOf(personId: string): Promise<DistinctIdRow[]> {
    const out = new Map<string, DistinctIdRow>();
    for (const row of await this.#store.distinctIdsOf(personId)) {
      const mine = this.#changedIds.get(row.distinctId);
      if (!mine || mine.personId === personId) out.set(row.distinctId, mine ?? row);
    }
    for (const row of this.#changedIds.values()) if (row.personId === personId) out.set(row.distinctId, row);
    return [...out.values()];
  }

  setPerson(p: Person): void {
    this.#persons.set(p.id, p);
    this.#changedPersons.set(p.id, p);
    this.#deleted.delete(p.id);
  }

  deletePerson(p: Person): void {
    this.#persons.delete(p.id);
    this.#changedPersons.delete(p.id);
    this.#deleted.set(p.id, p.version);
  }

  setDistinctId(row: DistinctIdRow): void {
    this.#asked.add(row.distinctId);
    this.#ids.set(row.distinctId, row);
    this.#changedIds.set(row.distinctId, row);
  }

  addPersonless(distinctId: string): void {
    this.personless.add(distinctId);
    this.#newPersonless.push(distinctId);
  }

  setGroup(g: Group): void {
    const key = groupKeyOf(g.groupType, g.groupKey);
    this.groups.set(key, g);
    this.#changedGroups.set(key, g);
  }

  /** What the page changed (lists that may all be empty). */
  changes(): PersonChanges {
    return {
      persons: [...this.#changedPersons.values()],
      deletedPersons: [...this.#deleted].map(([id, version]) => ({ id, version })),
      distinctIds: [...this.#changedIds.values()],
      personless: this.#newPersonless,
      groups: [...this.#changedGroups.values()],
      groupTypes: this.newGroupTypes,
    };
  }
}
