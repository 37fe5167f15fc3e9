// Crash consistency of person processing (issue 17: "kill -9 in the middle of a batch leaves persons consistent with
// events"). The real `ferry serve` CLI is stopped for good at exact points of a batch (test/fixtures/persons-faults.ts)
// or at moments found by conditions, killed with SIGKILL and restarted on the same dir while clients keep sending.
// Afterwards: the destination's person tables equal the store's, nothing is left pending, every acknowledged event is
// stored once with the person it had, and each counter person (one $set per event) has exactly one version per event
// and the $set_once value of its first event: no change applied twice, none skipped.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { personUuid } from "../../src/events/persons/person-uuid.js";
import type { PersonsPausePoint } from "../fixtures/persons-faults.js";
import { ensureBuilt } from "../helpers/cli.js";
import {
  destinationPersons,
  eventPersons,
  storePath,
  storePersons,
  type TestEvent,
  waitFor,
} from "../helpers/persons.js";
import { Clients, type CrashEnv, crashEnv, ServeChild, testEvent } from "../helpers/persons-crash.js";

const TOKEN = "phc_persons_crash";
const DATASET = "web";
const COUNTERS = 6;
const STEPS = 30;
const PAIRS = 3;
const PAIR_EVENTS = 8;

/** Counter clients: `$set {k}` and `$set_once {first: k}` per event; merge clients: anonymous events, $identify, user events. */
function workload(): TestEvent[][] {
  const t0 = Date.parse("2026-06-01T10:00:00.000Z");
  const counters = Array.from({ length: COUNTERS }, (_, c) =>
    Array.from({ length: STEPS }, (_, k) =>
      testEvent("$pageview", `counter-${c}`, t0 + k, { $set: { k, c }, $set_once: { first: k } }),
    ),
  );
  const pairs = Array.from({ length: PAIRS }, (_, m) => [
    ...Array.from({ length: PAIR_EVENTS }, (_, j) =>
      testEvent("$pageview", `anon-${m}`, t0 + j, { $set_once: { [`a${j}`]: j } }),
    ),
    testEvent("$identify", `user-${m}`, t0 + 100, {
      $anon_distinct_id: `anon-${m}`,
      $set: { email: `${m}@x` },
    }),
    ...Array.from({ length: PAIR_EVENTS }, (_, j) =>
      testEvent("$pageview", `user-${m}`, t0 + 200 + j, { $set: { [`u${j}`]: j } }),
    ),
  ]);
  return [...counters, ...pairs];
}

/** Everything that must hold once every event is acknowledged and the server stopped. */
async function assertConsistent(env: CrashEnv, clients: Clients): Promise<void> {
  const pid = (id: string) => personUuid(TOKEN, id);
  const dest = await destinationPersons(env.db, DATASET);
  const store = storePersons(storePath(env.dir, DATASET));
  assert.equal(store.pending, 0, "nothing is left pending in the person store");
  assert.deepEqual(dest.persons, store.persons, "persons in the destination = the store's");
  assert.deepEqual(
    dest.distinctIds,
    store.distinctIds,
    "person_distinct_ids in the destination = the store's",
  );

  const personIds = new Set(dest.persons.map((p) => p.id));
  for (const d of dest.distinctIds) assert.ok(personIds.has(d.person_id), `${d.distinct_id}'s person exists`);
  const owned = new Set(dest.distinctIds.map((d) => d.person_id));
  for (const p of dest.persons) assert.ok(owned.has(p.id), `person ${p.id} has a distinct id`);

  const sent = clients.events.flat();
  const rows = await eventPersons(env.db, DATASET);
  assert.equal(rows.length, sent.length, "every acknowledged event is stored once");
  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  assert.equal(byUuid.size, sent.length, "no event is stored twice");

  for (let c = 0; c < COUNTERS; c++) {
    const events = clients.events[c] as TestEvent[];
    const person = dest.persons.find((p) => p.id === pid(`counter-${c}`));
    assert.deepEqual(
      person,
      {
        id: pid(`counter-${c}`),
        properties: { first: 0, k: STEPS - 1, c, $creator_event_uuid: events[0]?.uuid },
        is_identified: false,
        created_at: events[0]?.timestamp,
        version: STEPS - 1,
      },
      `counter-${c}: one version per event, $set_once from the first event`,
    );
    for (const [k, e] of events.entries()) {
      const row = byUuid.get(e.uuid);
      assert.equal(row?.person_id, pid(`counter-${c}`), `counter-${c} event ${k}'s person`);
      assert.deepEqual(
        row?.person_properties,
        { first: 0, k, c, $creator_event_uuid: events[0]?.uuid },
        `counter-${c} event ${k} carries the person as of itself`,
      );
    }
  }
  for (let m = 0; m < PAIRS; m++) {
    const ids = dest.distinctIds.filter(
      (d) => d.distinct_id === `anon-${m}` || d.distinct_id === `user-${m}`,
    );
    assert.equal(ids.length, 2, `pair ${m}: both ids have a person`);
    assert.equal(ids[0]?.person_id, ids[1]?.person_id, `pair ${m}: one person`);
    const person = dest.persons.find((p) => p.id === ids[0]?.person_id);
    assert.ok(person?.is_identified, `pair ${m}: identified`);
    const keys = Object.keys(person?.properties ?? {}).sort();
    const want = [
      "$creator_event_uuid",
      "email",
      ...Array.from({ length: PAIR_EVENTS }, (_, j) => [`a${j}`, `u${j}`]).flat(),
    ].sort();
    assert.deepEqual(keys, want, `pair ${m}: every property of both ids`);
    const allowed = new Set([pid(`anon-${m}`), pid(`user-${m}`)]);
    for (const e of clients.events[COUNTERS + m] as TestEvent[])
      assert.ok(allowed.has(byUuid.get(e.uuid)?.person_id as string), `pair ${m}: event ${e.uuid}'s person`);
  }
}

/** Starts the server (with a fault), lets the clients send, kills at the point, restarts, finishes, checks. */
async function crashAt(point: PersonsPausePoint, skip: number): Promise<void> {
  const env = await crashEnv(TOKEN, DATASET);
  const clients = new Clients(workload());
  try {
    const first = new ServeChild(env, { point, skip });
    await first.ready(env);
    const sending = clients.run(env.url, TOKEN);
    await first.paused(point);
    await first.kill();
    const second = new ServeChild(env);
    await second.ready(env);
    await sending;
    assert.equal(await second.stop(), 0, `a clean stop after the restart:\n${second.stderr}`);
    await assertConsistent(env, clients);
    // A page half staged is rolled back with the store's transaction: nothing of it is left to discard.
    if (point !== "persons-staging") {
      assert.match(
        second.stderr,
        point === "persons-prepared"
          ? /persons of web: discarded the changes of a batch that was not loaded/
          : /persons of web: applied the batch the destination committed before a stop/,
        "the restart reconciled the store with the destination",
      );
    }
  } finally {
    clients.stop();
    env.cleanup();
  }
}

describe("persons survive kill -9 at any point of a batch", () => {
  ensureBuilt();

  test("in the middle of person processing (a page's changes half staged)", () =>
    crashAt("persons-staging", 1));
  test("after the batch's changes are prepared, before the destination commits", () =>
    crashAt("persons-prepared", 1));
  test("after the destination committed, before the pipeline's local state and the store", () =>
    crashAt("local-commit", 1));
  test("after the destination and the pipeline committed, in the middle of the store's apply", () =>
    crashAt("persons-applying", 1));

  test("killed three times at moments found by acknowledgements while clients send", async () => {
    const env = await crashEnv(TOKEN, DATASET);
    const clients = new Clients(workload());
    try {
      let server = new ServeChild(env);
      await server.ready(env);
      const sending = clients.run(env.url, TOKEN);
      for (let kill = 0; kill < 3; kill++) {
        const from = clients.total;
        await waitFor(`40 more acknowledgements (kill ${kill + 1})`, () => clients.total >= from + 40);
        await server.kill();
        server = new ServeChild(env);
        await server.ready(env);
      }
      await sending;
      assert.equal(await server.stop(), 0, `a clean stop:\n${server.stderr}`);
      await assertConsistent(env, clients);
    } finally {
      clients.stop();
      env.cleanup();
    }
  });
});
