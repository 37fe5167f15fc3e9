// The Postgres person store (`serve.persons.store: postgres://...`) against the Postgres test server: persons and
// events both in Postgres; two servers sharing persons; another server's change refusing a batch before it loads;
// a prepared batch applied or discarded by recover.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, test } from "node:test";
import pg from "pg";
import type { Person } from "../../src/events/persons/person-store.js";
import { personStores } from "../../src/events/persons/person-stores.js";
import { personUuid } from "../../src/events/persons/person-uuid.js";
import type { Project } from "../../src/events/project.js";
import {
  destinationPersons,
  eventPersons,
  send,
  startPersonsServe,
  type TestEvent,
  waitForLoaded,
} from "../helpers/persons.js";
import { service } from "../helpers/services.js";

const PG = await service("postgres");
const SCHEMA = `persons_test_${process.pid}_${Date.now()}`;
const DATASET = `persons_pg_${process.pid}`;

let sent = 0;
/** An event one second after the one made before it. */
const ev = (event: string, id: string, properties: Record<string, unknown> = {}): TestEvent => ({
  event,
  distinct_id: id,
  uuid: randomUUID(),
  timestamp: new Date(Date.parse("2026-06-01T10:00:00Z") + 1000 * sent++).toISOString(),
  properties,
});

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const storeConfig = () => ({ store: PG.url, schema: SCHEMA });

describe("persons in Postgres", { skip: PG.skip }, () => {
  after(async () => {
    if (PG.skip) return;
    await sql(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await sql(`DROP SCHEMA IF EXISTS "${DATASET}" CASCADE`);
  });

  test("events and persons in Postgres: the person tables match the store's; the merged person is gone", async () => {
    const token = "phc_pg_one";
    const s = await startPersonsServe(
      {
        persons: storeConfig(),
        batch_interval: "50ms",
        partitions: 1,
        projects: [{ token, dataset: DATASET }],
      },
      { destination: PG.url },
    );
    try {
      for (const e of [
        ev("$pageview", "anon", { $set: { a: 1, who: "anon" } }),
        ev("$pageview", "user", { $set: { who: "user" } }),
        ev("$identify", "user", { $anon_distinct_id: "anon", $set: { email: "u@x" } }),
        ev("$groupidentify", "user", { $group_type: "org", $group_key: "o1", $group_set: { n: 1 } }),
      ])
        await send(s.url, token, [e]);
      await waitForLoaded(s, 4);
      await s.stop();
      const pid = personUuid(token, "user");
      const persons = await sql(
        `SELECT id, properties, is_identified, version, is_deleted FROM "${DATASET}".persons ORDER BY id`,
      );
      assert.equal(persons.length, 1, "the merged-away person is deleted, not kept");
      const { $creator_event_uuid: _, ...props } = (persons[0]?.properties ?? {}) as Record<string, unknown>;
      assert.deepEqual(
        { ...persons[0], properties: props },
        {
          id: pid,
          properties: { a: 1, who: "user", email: "u@x" },
          is_identified: true,
          version: "1",
          is_deleted: false,
        },
      );
      const ids = await sql(
        `SELECT distinct_id, person_id, version FROM "${DATASET}".person_distinct_ids ORDER BY 1`,
      );
      assert.deepEqual(ids, [
        { distinct_id: "anon", person_id: pid, version: "1" },
        { distinct_id: "user", person_id: pid, version: "0" },
      ]);
      const events = await sql(`SELECT distinct_id, person_id FROM "${DATASET}".events ORDER BY timestamp`);
      assert.deepEqual(
        events.map((e) => e.person_id),
        [personUuid(token, "anon"), pid, pid, pid],
      );
      const groups = await sql(`SELECT group_type, group_key, properties, version FROM "${DATASET}".groups`);
      assert.deepEqual(groups, [{ group_type: "org", group_key: "o1", properties: { n: 1 }, version: "1" }]);

      const stored = await sql(
        `SELECT id, properties, is_identified, version FROM "${SCHEMA}".persons WHERE token = $1`,
        [token],
      );
      assert.deepEqual(
        stored.map((p) => ({ ...p, version: String(p.version) })),
        persons.map(({ is_deleted: _d, ...p }) => p),
        "the store holds what the destination holds",
      );
      const storedIds = await sql(
        `SELECT distinct_id, person_id, version::text AS version FROM "${SCHEMA}".distinct_ids WHERE token = $1 ORDER BY 1`,
        [token],
      );
      assert.deepEqual(storedIds, ids);
      const pending = await sql<{ n: string }>(
        `SELECT count(*) AS n FROM "${SCHEMA}".pending_persons WHERE token = $1`,
        [token],
      );
      assert.equal(pending[0]?.n, "0");
    } finally {
      await s.cleanup();
    }
  });

  test("two servers share persons: the second continues the person the first created", async () => {
    const token = "phc_pg_shared";
    const project = [{ token, dataset: "web" }];
    const a = await startPersonsServe({ persons: storeConfig(), batch_interval: "50ms", projects: project });
    const b = await startPersonsServe({ persons: storeConfig(), batch_interval: "50ms", projects: project });
    try {
      await send(a.url, token, [ev("$pageview", "u", { $set: { from_a: 1 }, $set_once: { first: "a" } })]);
      await waitForLoaded(a, 1);
      await send(b.url, token, [ev("$pageview", "u", { $set: { from_b: 2 }, $set_once: { first: "b" } })]);
      await waitForLoaded(b, 1);
      await a.stop();
      await b.stop();
      const fromB = await destinationPersons(b.dbPath, "web");
      assert.equal(fromB.persons.length, 1);
      const { $creator_event_uuid: _, ...props } = fromB.persons[0]?.properties ?? {};
      assert.deepEqual(props, { from_a: 1, first: "a", from_b: 2 }, "B updated the person A created");
      assert.equal(fromB.persons[0]?.version, 1);
      assert.equal(fromB.persons[0]?.id, personUuid(token, "u"));
      const [row] = await (await eventPersons(b.dbPath, "web")).map((e) => e.person_properties);
      assert.equal(row?.first, "a", "B's event carries the person as the shared store had it");
      const servers = await sql<{ n: string }>(
        `SELECT count(*) AS n FROM "${SCHEMA}".batches WHERE token = $1`,
        [token],
      );
      assert.equal(servers[0]?.n, "2", "each server keeps its own log positions");
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  test("another server's change between read and prepare refuses the batch; recover applies or discards a prepared one", async () => {
    const project: Project = { token: "phc_pg_race", dataset: "race", materialize: [] };
    const one = personStores({ store: "postgres", url: PG.url, schema: SCHEMA }, "/srv/one/_serve");
    const two = personStores({ store: "postgres", url: PG.url, schema: SCHEMA }, "/srv/two/_serve");
    try {
      const a = await one.open(project);
      const b = await two.open(project);
      const person: Person = {
        id: personUuid(project.token, "p"),
        properties: { v: 0 },
        isIdentified: false,
        createdAt: "2026-01-01T00:00:00.000Z",
        version: 0,
      };
      const empty = { deletedPersons: [], personless: [], groups: [], groupTypes: [] };
      await a.stage({
        ...empty,
        persons: [person],
        distinctIds: [{ distinctId: "p", personId: person.id, version: 0 }],
      });
      await a.prepare({ 0: 1 });
      await a.commit({ 0: 1 });

      // Both read version 0; B commits version 1 first; A's version 1 is refused before its destination commits.
      const readA = await a.lookup(["p"], []);
      const readB = await b.lookup(["p"], []);
      assert.equal(readA.persons.get(person.id)?.version, 0);
      await b.stage({
        ...empty,
        persons: [{ ...person, properties: { v: "b" }, version: 1 }],
        distinctIds: [],
      });
      await b.prepare({ 0: 1 });
      await b.commit({ 0: 1 });
      assert.equal(readB.persons.size, 1);
      await a.stage({
        ...empty,
        persons: [{ ...person, properties: { v: "a" }, version: 1 }],
        distinctIds: [],
      });
      await assert.rejects(a.prepare({ 0: 2 }), /changed by another server while this batch was processed/);
      assert.deepEqual(
        await a.status(),
        { positions: { 0: 1 }, prepared: null, staged: false },
        "A's batch is dropped",
      );

      // Processed again from the store's state, it goes through.
      const again = (await a.lookup(["p"], [])).persons.get(person.id) as Person;
      assert.deepEqual(again.properties, { v: "b" });
      await a.stage({
        ...empty,
        persons: [{ ...again, properties: { v: "b+a" }, version: 2 }],
        distinctIds: [],
      });
      await a.prepare({ 0: 2 });
      // A crash here: the destination holds the batch (positions {0: 2}), so recover applies it ...
      assert.equal(await a.recover({ 0: 2 }), "applied");
      assert.deepEqual((await b.lookup(["p"], [])).persons.get(person.id)?.properties, { v: "b+a" });
      // ... and a batch the destination does not hold is discarded.
      await a.lookup(["p"], []);
      await a.stage({
        ...empty,
        persons: [{ ...again, properties: { v: "lost" }, version: 3 }],
        distinctIds: [],
      });
      await a.prepare({ 0: 3 });
      assert.equal(await a.recover({ 0: 2 }), "discarded");
      assert.equal((await b.lookup(["p"], [])).persons.get(person.id)?.version, 2);
      await assert.rejects(a.recover({ 0: 1 }), /beyond what the destination holds/);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
