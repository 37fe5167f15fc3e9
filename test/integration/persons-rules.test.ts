// PostHog's person and group rules end to end (issue 17, "Persons"): each case is a project of one real `ferry serve`
// (one log partition, so events are processed in the order they were sent); afterwards the destination's `persons`,
// `person_distinct_ids` and `groups` tables are exactly the case's, the person store holds the same, and every event
// carries the person it had when it was processed.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { personUuid } from "../../src/events/persons/person-uuid.js";
import {
  destinationPersons,
  eventPersons,
  type PersonsServe,
  type PersonTables,
  send,
  startPersonsServe,
  storePath,
  storePersons,
  type TestEvent,
  waitForLoaded,
} from "../helpers/persons.js";

/** An event of a case: what is sent, and what its row must carry. */
interface E {
  event: string;
  id: string;
  props?: Record<string, unknown>;
  set?: Record<string, unknown>;
  once?: Record<string, unknown>;
  /** The key of the person the event is stamped with; "dropped": not stored. */
  person?: string | "dropped";
  /** Its person_properties (without $creator_event_uuid); `{}` for personless events. */
  pp?: Record<string, unknown>;
}

interface ExpectedPerson {
  /** The distinct_id whose uuid the person has. */
  key: string;
  ids: Record<string, number>;
  props: Record<string, unknown>;
  identified: boolean;
  version: number;
  /** The event that created it ($creator_event_uuid), and the one whose time is its created_at (default: creator). */
  creator: number;
  created?: number;
}

interface Case {
  name: string;
  events: E[];
  persons: ExpectedPerson[];
  groups?: Array<{
    type: string;
    key: string;
    props: Record<string, unknown>;
    version: number;
    created: number;
  }>;
  warnings?: Record<string, number>;
}

const ev = (event: string, id: string, more: Omit<E, "event" | "id"> = {}): E => ({ event, id, ...more });
const off = { $process_person_profile: false };

const ILLEGAL: unknown[] = [
  "anonymous",
  "ANONYMOUS",
  "guest",
  "distinctid",
  "DistinctId",
  "distinct_id",
  "id",
  "ID",
  "not_authenticated",
  "email",
  "undefined",
  "Undefined",
  "true",
  "False",
  "null",
  "'null'",
  '"null"',
  "0",
  "'0'",
  "[object Object]",
  "NaN",
  "None",
  "none",
  '"anonymous"',
  "'guest'",
  "",
  "   ",
  null,
];
const LEGAL_LOOKALIKES = ["nan", "NULL", "NONE", "nULL", "00", "'nan'", "anonymous-1"];

const CASES: Case[] = [
  {
    name: "a new distinct_id creates a person; $set overwrites, $set_once fills missing keys, $unset removes",
    events: [
      ev("$pageview", "d1", {
        set: { plan: "free", n: 1 },
        once: { first: "a" },
        person: "d1",
        pp: { first: "a", plan: "free", n: 1 },
      }),
      ev("$pageview", "d1", { set: { plan: "pro" }, pp: { first: "a", plan: "pro", n: 1 } }),
      ev("$pageview", "d1", {
        once: { first: "b", ref: "x" },
        pp: { first: "a", plan: "pro", n: 1, ref: "x" },
      }),
      ev("$pageview", "d1", { props: { $unset: ["n"] }, pp: { first: "a", plan: "pro", ref: "x" } }),
      ev("$pageview", "d1", { set: { plan: "pro" } }),
      ev("$pageview", "d1", { props: { $unset: { ref: null } }, pp: { first: "a", plan: "pro" } }),
      ev("$pageview", "d1", { props: { $unset: ["missing"] }, person: "d1" }),
    ],
    persons: [
      {
        key: "d1",
        ids: { d1: 0 },
        props: { first: "a", plan: "pro" },
        identified: false,
        version: 4,
        creator: 0,
      },
    ],
  },
  {
    name: "$identify when neither id has a person: one identified person keyed by the distinct_id",
    events: [
      ev("$identify", "user", {
        props: { $anon_distinct_id: "anon" },
        set: { email: "u@x" },
        person: "user",
        pp: { email: "u@x" },
      }),
      ev("$pageview", "anon", { person: "user" }),
    ],
    persons: [
      {
        key: "user",
        ids: { user: 0, anon: 0 },
        props: { email: "u@x" },
        identified: true,
        version: 0,
        creator: 0,
      },
    ],
  },
  {
    name: "$identify when only the anonymous id has a person: the distinct_id joins it, which becomes identified",
    events: [
      ev("$pageview", "anon", { set: { a: 1 } }),
      ev("$identify", "user", {
        props: { $anon_distinct_id: "anon" },
        set: { email: "u@x" },
        person: "anon",
        pp: { a: 1, email: "u@x" },
      }),
    ],
    persons: [
      {
        key: "anon",
        ids: { anon: 0, user: 0 },
        props: { a: 1, email: "u@x" },
        identified: true,
        version: 1,
        creator: 0,
      },
    ],
  },
  {
    name: "$identify when only the distinct_id has a person: the anonymous id joins it",
    events: [
      ev("$pageview", "user", { set: { u: 1 } }),
      ev("$identify", "user", { props: { $anon_distinct_id: "anon" }, person: "user" }),
    ],
    persons: [
      { key: "user", ids: { user: 0, anon: 0 }, props: { u: 1 }, identified: true, version: 1, creator: 0 },
    ],
  },
  {
    name: "$identify when both have persons: merged into the distinct_id's (its values win), the earlier created_at, version max + 1, the other deleted",
    events: [
      ev("$pageview", "anon", { set: { a: "anon", x: 1 } }),
      ev("$pageview", "anon", { set: { x: 2 } }),
      ev("$pageview", "anon", { set: { x: 3 } }),
      ev("$pageview", "user", { set: { a: "user", y: 1 }, person: "user" }),
      ev("$identify", "user", {
        props: { $anon_distinct_id: "anon" },
        set: { email: "e" },
        person: "user",
        pp: { a: "user", x: 3, y: 1, email: "e" },
      }),
      ev("$pageview", "anon", { person: "user", pp: { a: "user", x: 3, y: 1, email: "e" } }),
    ],
    persons: [
      {
        key: "user",
        ids: { user: 0, anon: 1 },
        props: { a: "user", x: 3, y: 1, email: "e" },
        identified: true,
        version: 3,
        creator: 3,
        created: 0,
      },
    ],
  },
  {
    name: "$identify into a person whose other id is identified is refused (both stay), the target becomes identified",
    events: [
      ev("$identify", "u1", { props: { $anon_distinct_id: "a1" } }),
      ev("$pageview", "u2", { set: { b: 1 } }),
      ev("$identify", "u2", {
        props: { $anon_distinct_id: "u1" },
        set: { c: 1 },
        person: "u2",
        pp: { b: 1, c: 1 },
      }),
      ev("$pageview", "u1", { person: "u1" }),
    ],
    persons: [
      { key: "u1", ids: { u1: 0, a1: 0 }, props: {}, identified: true, version: 0, creator: 0 },
      { key: "u2", ids: { u2: 0 }, props: { b: 1, c: 1 }, identified: true, version: 1, creator: 1 },
    ],
    warnings: { cannot_merge_already_identified: 1 },
  },
  {
    name: "$merge_dangerously merges identified persons, moving every distinct id (version + 1)",
    events: [
      ev("$identify", "u1", { props: { $anon_distinct_id: "a1" }, set: { k: "u1", only1: true } }),
      ev("$identify", "u2", { props: { $anon_distinct_id: "a2" }, set: { k: "u2", j: 1 } }),
      ev("$merge_dangerously", "u2", {
        props: { alias: "u1" },
        person: "u2",
        pp: { k: "u2", j: 1, only1: true },
      }),
      ev("$pageview", "a1", { person: "u2" }),
    ],
    persons: [
      {
        key: "u2",
        ids: { u2: 0, a2: 0, u1: 1, a1: 1 },
        props: { k: "u2", j: 1, only1: true },
        identified: true,
        version: 1,
        creator: 1,
        created: 0,
      },
    ],
  },
  {
    name: "$create_alias adds the alias to the person (identified); without alias it is an ordinary event",
    events: [
      ev("$pageview", "x", { set: { p: 1 } }),
      ev("$create_alias", "y", { props: { alias: "x" }, person: "x" }),
      ev("$create_alias", "z", { person: "z" }),
    ],
    persons: [
      { key: "x", ids: { x: 0, y: 0 }, props: { p: 1 }, identified: true, version: 1, creator: 0 },
      { key: "z", ids: { z: 0 }, props: {}, identified: false, version: 0, creator: 2 },
    ],
  },
  {
    name: "$create_alias into a person whose alias is identified is refused",
    events: [
      ev("$identify", "u", { props: { $anon_distinct_id: "a" } }),
      ev("$pageview", "v"),
      ev("$create_alias", "v", { props: { alias: "u" }, person: "v" }),
    ],
    persons: [
      { key: "u", ids: { u: 0, a: 0 }, props: {}, identified: true, version: 0, creator: 0 },
      { key: "v", ids: { v: 0 }, props: {}, identified: true, version: 1, creator: 1 },
    ],
    warnings: { cannot_merge_already_identified: 1 },
  },
  {
    name: "illegal ids never merge (any case, quoted, empty, JSON null); their look-alikes do",
    events: [
      ...ILLEGAL.map((x, i) =>
        ev("$identify", `user-${i}`, { props: { $anon_distinct_id: x }, person: `user-${i}` }),
      ),
      ev("$identify", "anonymous", { props: { $anon_distinct_id: "someone" }, person: "anonymous" }),
      ...LEGAL_LOOKALIKES.map((x, i) =>
        ev("$identify", `legal-${i}`, { props: { $anon_distinct_id: x }, person: `legal-${i}` }),
      ),
    ],
    persons: [
      ...ILLEGAL.map((_, i) => ({
        key: `user-${i}`,
        ids: { [`user-${i}`]: 0 },
        props: {},
        identified: false,
        version: 0,
        creator: i,
      })),
      {
        key: "anonymous",
        ids: { anonymous: 0 },
        props: {},
        identified: false,
        version: 0,
        creator: ILLEGAL.length,
      },
      ...LEGAL_LOOKALIKES.map((x, i) => ({
        key: `legal-${i}`,
        ids: { [`legal-${i}`]: 0, [x]: 0 },
        props: {},
        identified: true,
        version: 0,
        creator: ILLEGAL.length + 1 + i,
      })),
    ],
    warnings: { cannot_merge_with_illegal_distinct_id: ILLEGAL.length + 1 },
  },
  {
    name: "$identify with itself as $anon_distinct_id changes nothing (posthog-node does this)",
    events: [ev("$identify", "u", { props: { $anon_distinct_id: "u" }, person: "u" })],
    persons: [{ key: "u", ids: { u: 0 }, props: {}, identified: false, version: 0, creator: 0 }],
  },
  {
    name: "personless events: the id's own uuid and no properties; merges with ids used personless (versions 1 where events need an override)",
    events: [
      ev("$pageview", "p", { props: off, set: { s: 1 }, person: "p", pp: {} }),
      ev("$identify", "u", { props: { $anon_distinct_id: "p" }, set: { e: 1 }, person: "p", pp: { e: 1 } }),
      ev("$pageview", "q", { props: off, person: "q", pp: {} }),
      ev("$pageview", "r", { props: off, person: "r", pp: {} }),
      ev("$identify", "r", { props: { $anon_distinct_id: "q" }, person: "r" }),
      ev("$pageview", "w", { set: { w: 1 } }),
      ev("$pageview", "t", { props: off, person: "t", pp: {} }),
      ev("$identify", "w", { props: { $anon_distinct_id: "t" }, person: "w" }),
      ev("$pageview", "t", { props: off, set: { ignored: 1 }, person: "w", pp: {} }),
    ],
    persons: [
      { key: "p", ids: { p: 0, u: 0 }, props: { e: 1 }, identified: true, version: 0, creator: 1 },
      { key: "r", ids: { r: 0, q: 1 }, props: {}, identified: true, version: 0, creator: 4 },
      { key: "w", ids: { w: 0, t: 1 }, props: { w: 1 }, identified: true, version: 1, creator: 5 },
    ],
  },
  {
    name: "$process_person_profile: false drops $identify, $create_alias, $merge_dangerously and $groupidentify; a non-boolean is a warning",
    events: [
      ev("$identify", "x", { props: { ...off, $anon_distinct_id: "y" }, person: "dropped" }),
      ev("$create_alias", "x", { props: { ...off, alias: "y" }, person: "dropped" }),
      ev("$merge_dangerously", "x", { props: { ...off, alias: "y" }, person: "dropped" }),
      ev("$groupidentify", "x", {
        props: { ...off, $group_type: "company", $group_key: "c" },
        person: "dropped",
      }),
      ev("$pageview", "d", {
        props: { $process_person_profile: "no" },
        set: { a: 1 },
        person: "d",
        pp: { a: 1 },
      }),
    ],
    persons: [{ key: "d", ids: { d: 0 }, props: { a: 1 }, identified: false, version: 0, creator: 4 }],
    warnings: { invalid_event_when_process_person_profile_is_false: 4, invalid_process_person_profile: 1 },
  },
  {
    name: "$exception creates a person with its $set but never updates one",
    events: [
      ev("$exception", "e1", { set: { a: 1 } }),
      ev("$exception", "e1", { set: { a: 2 }, pp: { a: 1 } }),
    ],
    persons: [{ key: "e1", ids: { e1: 0 }, props: { a: 1 }, identified: false, version: 0, creator: 0 }],
  },
  {
    name: "groups: $groupidentify creates (version 1) and updates ($group_set, +1 only on change); at most 5 group types",
    events: [
      ev("$groupidentify", "g", {
        props: { $group_type: "company", $group_key: "c1", $group_set: { name: "Acme", size: 1 } },
      }),
      ev("$groupidentify", "g", {
        props: { $group_type: "company", $group_key: "c1", $group_set: { size: 2 } },
      }),
      ev("$groupidentify", "g", {
        props: { $group_type: "company", $group_key: "c1", $group_set: { size: 2 } },
      }),
      ev("$groupidentify", "g", { props: { $group_type: "project", $group_key: 7 } }),
      ev("$pageview", "g", { props: { $groups: { company: "c1", team: "t" } }, person: "g" }),
      ev("$groupidentify", "g", { props: { $group_type: "t4", $group_key: "k" } }),
      ev("$groupidentify", "g", { props: { $group_type: "t5", $group_key: "k", $group_set: { v: [1, 2] } } }),
      ev("$groupidentify", "g", { props: { $group_type: "t6", $group_key: "k" } }),
      ev("$pageview", "g", { props: { $groups: { t7: "x", company: "c1" } } }),
      ev("$groupidentify", "g", { props: { $group_type: "company" } }),
    ],
    persons: [{ key: "g", ids: { g: 0 }, props: {}, identified: false, version: 0, creator: 0 }],
    groups: [
      { type: "company", key: "c1", props: { name: "Acme", size: 2 }, version: 2, created: 0 },
      { type: "project", key: "7", props: {}, version: 1, created: 3 },
      { type: "t4", key: "k", props: {}, version: 1, created: 5 },
      { type: "t5", key: "k", props: { v: [1, 2] }, version: 1, created: 6 },
    ],
    warnings: { group_type_limit_reached: 2, invalid_group_identify: 1 },
  },
];

const token = (i: number) => `phc_case_${i}`;
const dataset = (i: number) => `case_${i}`;
const T0 = Date.parse("2026-06-01T10:00:00.000Z");

/** Each case's events as sent (uuids and timestamps fixed here: one second apart). */
const SENT: TestEvent[][] = CASES.map((c) =>
  c.events.map((e, j) => ({
    event: e.event,
    distinct_id: e.id,
    uuid: randomUUID(),
    timestamp: new Date(T0 + j * 1000).toISOString(),
    properties: { ...e.props, ...(e.set ? { $set: e.set } : {}), ...(e.once ? { $set_once: e.once } : {}) },
  })),
);

/** What the tables must hold for a case. */
function expectedTables(i: number): PersonTables {
  const c = CASES[i] as Case;
  const sent = SENT[i] as TestEvent[];
  const pid = (key: string) => personUuid(token(i), key);
  return {
    persons: c.persons
      .map((p) => ({
        id: pid(p.key),
        properties: { ...p.props, $creator_event_uuid: sent[p.creator]?.uuid },
        is_identified: p.identified,
        created_at: sent[p.created ?? p.creator]?.timestamp as string,
        version: p.version,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
    distinctIds: c.persons
      .flatMap((p) =>
        Object.entries(p.ids).map(([id, version]) => ({ distinct_id: id, person_id: pid(p.key), version })),
      )
      .sort((a, b) => (a.distinct_id < b.distinct_id ? -1 : 1)),
    groups: (c.groups ?? []).map((g) => ({
      group_type: g.type,
      group_key: g.key,
      properties: g.props,
      created_at: sent[g.created]?.timestamp as string,
      version: g.version,
    })),
  };
}

describe("persons and groups: PostHog's rules, case by case", () => {
  let s: PersonsServe;

  before(async () => {
    s = await startPersonsServe({
      partitions: 1,
      batch_interval: "100ms",
      projects: CASES.map((_, i) => ({ token: token(i), dataset: dataset(i) })),
    });
    // One request per event, each acknowledged before the next: the single partition keeps them in this order.
    for (let i = 0; i < CASES.length; i++)
      for (const e of SENT[i] as TestEvent[]) await send(s.url, token(i), [e]);
    const stored = CASES.flatMap((c) => c.events).filter((e) => e.person !== "dropped").length;
    await waitForLoaded(s, stored);
    await s.stop();
  });

  after(async () => {
    await s?.cleanup();
  });

  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const want = expectedTables(i);
      const got = await destinationPersons(s.dbPath, dataset(i));
      assert.deepEqual(got.persons, want.persons, "persons");
      assert.deepEqual(got.distinctIds, want.distinctIds, "person_distinct_ids");
      assert.deepEqual(got.groups, want.groups, "groups");

      const store = storePersons(storePath(s.ferryDir, dataset(i)));
      assert.equal(store.pending, 0, "nothing is left pending in the store");
      assert.deepEqual(
        { persons: store.persons, distinctIds: store.distinctIds, groups: store.groups },
        want,
        "the person store holds what the destination holds",
      );

      const events = new Map((await eventPersons(s.dbPath, dataset(i))).map((e) => [e.uuid, e]));
      const sent = SENT[i] as TestEvent[];
      for (const [j, e] of c.events.entries()) {
        const row = events.get((sent[j] as TestEvent).uuid);
        if (e.person === "dropped") {
          assert.equal(row, undefined, `event ${j} (${e.event}) is dropped`);
          continue;
        }
        assert.ok(row, `event ${j} (${e.event}) is stored`);
        assert.ok(row.person_id, `event ${j} has a person_id`);
        if (e.person !== undefined)
          assert.equal(row.person_id, personUuid(token(i), e.person), `event ${j}'s person`);
        if (e.pp !== undefined) {
          const { $creator_event_uuid: _, ...pp } = row.person_properties ?? {};
          assert.deepEqual(pp, e.pp, `event ${j}'s person_properties`);
        }
      }
      if (c.groups) {
        const withGroups = [...events.values()].find((e) => e.properties.$groups !== undefined);
        assert.deepEqual(
          withGroups?.properties.$groups,
          { company: "c1", team: "t" },
          "$groups stay in properties",
        );
      }

      const warned = new Map<string, number>();
      for (const l of s.log.lines) {
        const m = new RegExp(`^persons of ${dataset(i)}: (\\w+): `).exec(l.msg);
        if (l.level === "warn" && m && !l.msg.endsWith("in this batch"))
          warned.set(m[1] as string, (warned.get(m[1] as string) ?? 0) + 1);
        const more = new RegExp(`^persons of ${dataset(i)}: (\\w+): (\\d+) more in this batch`).exec(l.msg);
        if (more) warned.set(more[1] as string, (warned.get(more[1] as string) ?? 0) + Number(more[2]));
      }
      assert.deepEqual(Object.fromEntries(warned), c.warnings ?? {}, "warnings");
    });
  }
});
