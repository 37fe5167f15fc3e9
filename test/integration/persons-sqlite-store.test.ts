// The embedded person store on its own: a batch written straight into its tables is undone exactly when the
// destination did not commit it, applied when it did, dropped when it was never prepared; files of the first layout
// (a pending area beside the applied tables) are migrated with the batch they had prepared.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import type { Person, PersonChanges } from "../../src/events/persons/person-store.js";
import { SqlitePersonStore } from "../../src/events/persons/sqlite/sqlite-person-store.js";
import { storePersons } from "../helpers/persons.js";

const dir = mkdtempSync(join(tmpdir(), "ferry-sqlite-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `store-${++files}.sqlite`);

const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-02T00:00:00.000Z";
const person = (
  id: string,
  properties: Record<string, unknown>,
  version = 0,
  identified = false,
): Person => ({
  id,
  properties,
  isIdentified: identified,
  createdAt: T0,
  version,
});
const changes = (c: Partial<PersonChanges>): PersonChanges => ({
  persons: [],
  deletedPersons: [],
  distinctIds: [],
  personless: [],
  groups: [],
  groupTypes: [],
  ...c,
});

/** Batch 1, applied: persons pa (a) and pb (b), group org/acme, group type org, personless x. */
async function firstBatch(path: string): Promise<void> {
  const store = SqlitePersonStore.open(path);
  await store.lookup(["a", "b"], ["a", "b"]);
  await store.stage(
    changes({
      persons: [person("pa", { plan: "free" }), person("pb", { name: "B" })],
      distinctIds: [
        { distinctId: "a", personId: "pa", version: 0 },
        { distinctId: "b", personId: "pb", version: 0 },
      ],
      personless: ["x"],
      groups: [{ groupType: "org", groupKey: "acme", properties: { n: 1 }, createdAt: T0, version: 1 }],
      groupTypes: [{ groupType: "org", index: 0 }],
    }),
  );
  await store.prepare({ 0: 10 });
  await store.commit({ 0: 10 });
  await store.close();
}

/** Batch 2, over two pages, prepared for {0: 20}: pa updated, pb merged into pa, pc created, groups changed. */
async function secondBatch(store: SqlitePersonStore): Promise<void> {
  const found = await store.lookup(["a", "b"], []);
  assert.deepEqual([...found.persons.keys()].sort(), ["pa", "pb"]);
  assert.deepEqual(
    (await store.distinctIdsOf("pb")).map((d) => d.distinctId),
    ["b"],
  );
  await store.stage(
    changes({
      persons: [person("pa", { plan: "pro", name: "B" }, 1, true)],
      deletedPersons: [{ id: "pb", version: 0 }],
      distinctIds: [{ distinctId: "b", personId: "pa", version: 1 }],
    }),
  );
  // The second page sees the first one's changes.
  const again = await store.lookup(["b", "c"], ["c"]);
  assert.equal(again.distinctIds.get("b")?.personId, "pa");
  assert.equal(again.persons.get("pa")?.version, 1);
  assert.equal(again.distinctIds.has("c"), false);
  await store.stage(
    changes({
      persons: [{ ...person("pc", {}), createdAt: T1 }],
      distinctIds: [{ distinctId: "c", personId: "pc", version: 0 }],
      personless: ["y"],
      groups: [
        { groupType: "org", groupKey: "acme", properties: { n: 2 }, createdAt: T0, version: 2 },
        { groupType: "team", groupKey: "red", properties: {}, createdAt: T1, version: 1 },
      ],
      groupTypes: [{ groupType: "team", index: 1 }],
    }),
  );
  await store.prepare({ 0: 20 });
}

async function collect<T>(rows: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of rows) out.push(...page);
  return out;
}

test("a prepared batch the destination did not commit is undone exactly; one it committed is applied", async () => {
  const path = newPath();
  await firstBatch(path);
  const before = storePersons(path);
  assert.equal(before.pending, 0);
  assert.deepEqual(
    before.persons.map((p) => [p.id, p.version]),
    [
      ["pa", 0],
      ["pb", 0],
    ],
  );

  let store = SqlitePersonStore.open(path);
  await secondBatch(store);
  assert.deepEqual(await store.status(), { positions: { 0: 10 }, prepared: { 0: 20 }, staged: false });
  // What the destination loads: exactly the rows the batch changed.
  const persons = await collect(store.pending("persons"));
  assert.deepEqual(
    persons.map((p) => [p.id, p.version, p.deleted]),
    [
      ["pa", 1, false],
      ["pb", 0, true],
      ["pc", 0, false],
    ],
  );
  assert.deepEqual(await collect(store.pending("person_distinct_ids")), [
    { distinctId: "b", personId: "pa", version: 1 },
    { distinctId: "c", personId: "pc", version: 0 },
  ]);
  assert.deepEqual(
    (await collect(store.pending("groups"))).map((g) => [g.groupType, g.groupKey, g.version]),
    [
      ["org", "acme", 2],
      ["team", "red", 1],
    ],
  );
  await store.close(); // a crash after prepare

  store = SqlitePersonStore.open(path);
  assert.equal(await store.recover({ 0: 10 }), "discarded");
  const types = await store.groups([]);
  assert.deepEqual([...types.types], [["org", 0]]);
  assert.equal((await store.lookup(["y"], ["x", "y"])).personless.has("y"), false);
  await store.close();
  assert.deepEqual(storePersons(path), before);

  store = SqlitePersonStore.open(path);
  await secondBatch(store);
  await store.close();
  store = SqlitePersonStore.open(path);
  assert.equal(await store.recover({ 0: 20 }), "applied");
  await store.close();
  const applied = storePersons(path);
  assert.equal(applied.pending, 0);
  assert.deepEqual(applied.positions, { 0: 20 });
  assert.deepEqual(
    applied.persons.map((p) => [p.id, p.version, p.properties]),
    [
      ["pa", 1, { plan: "pro", name: "B" }],
      ["pc", 0, {}],
    ],
  );
  assert.deepEqual(
    applied.distinctIds.map((d) => [d.distinct_id, d.person_id, d.version]),
    [
      ["a", "pa", 0],
      ["b", "pa", 1],
      ["c", "pc", 0],
    ],
  );
  assert.deepEqual(
    applied.groups.map((g) => [g.group_type, g.group_key, g.version]),
    [
      ["org", "acme", 2],
      ["team", "red", 1],
    ],
  );
});

test("changes staged and never prepared are gone after a stop; the next batch starts from the applied state", async () => {
  const path = newPath();
  await firstBatch(path);
  const before = storePersons(path);
  const store = SqlitePersonStore.open(path);
  await store.lookup(["a"], []);
  await store.stage(changes({ persons: [person("pa", { plan: "lost" }, 1)] }));
  assert.equal((await store.status()).staged, true);
  await store.close();
  assert.deepEqual(storePersons(path), before);
  const reopened = SqlitePersonStore.open(path);
  try {
    assert.deepEqual(await reopened.status(), { positions: { 0: 10 }, prepared: null, staged: false });
    assert.equal(await reopened.recover({ 0: 10 }), "clean");
  } finally {
    await reopened.close();
  }
});

/** The first layout's tables (ferry before the store was reworked), with its prepared batch in the pending area. */
function writeFirstLayout(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE persons (id TEXT PRIMARY KEY, properties TEXT NOT NULL, is_identified INTEGER NOT NULL,
      created_at TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE distinct_ids (distinct_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX distinct_ids_person ON distinct_ids (person_id);
    CREATE TABLE personless (distinct_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE groups (group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL,
      created_at TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
    CREATE TABLE group_types (group_type TEXT PRIMARY KEY, idx INTEGER NOT NULL UNIQUE);
    CREATE TABLE pending_persons (id TEXT PRIMARY KEY, properties TEXT NOT NULL, is_identified INTEGER NOT NULL,
      created_at TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE pending_distinct_ids (distinct_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX pending_distinct_ids_person ON pending_distinct_ids (person_id);
    CREATE TABLE pending_personless (distinct_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE pending_groups (group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL,
      created_at TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
    CREATE TABLE pending_group_types (group_type TEXT PRIMARY KEY, idx INTEGER NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO persons VALUES ('pa', '{"plan":"free"}', 0, '${T0}', 0), ('pb', '{}', 0, '${T0}', 0);
    INSERT INTO distinct_ids VALUES ('a', 'pa', 0), ('b', 'pb', 0);
    INSERT INTO personless VALUES ('x');
    INSERT INTO groups VALUES ('org', 'acme', '{}', '${T0}', 1);
    INSERT INTO group_types VALUES ('org', 0);
    INSERT INTO pending_persons VALUES ('pa', '{"plan":"pro"}', 1, '${T0}', 1, 0), ('pb', '{}', 0, '', 0, 1),
      ('pc', '{}', 0, '${T1}', 0, 0);
    INSERT INTO pending_distinct_ids VALUES ('b', 'pa', 1), ('c', 'pc', 0);
    INSERT INTO pending_personless VALUES ('y');
    INSERT INTO pending_groups VALUES ('org', 'acme', '{"n":2}', '${T0}', 2);
    INSERT INTO pending_group_types VALUES ('team', 1);
    INSERT INTO meta VALUES ('positions', '{"0":10}'), ('prepared', '{"0":20}');
  `);
  db.close();
}

test("a store file of the first layout is migrated with its prepared batch: recover applies it or undoes it", async () => {
  const applyPath = newPath();
  writeFirstLayout(applyPath);
  let store = SqlitePersonStore.open(applyPath);
  assert.deepEqual(await store.status(), { positions: { 0: 10 }, prepared: { 0: 20 }, staged: false });
  assert.equal(await store.recover({ 0: 20 }), "applied");
  await store.close();
  const applied = storePersons(applyPath);
  assert.equal(applied.pending, 0);
  assert.deepEqual(
    applied.persons.map((p) => [p.id, p.version, p.properties, p.is_identified]),
    [
      ["pa", 1, { plan: "pro" }, true],
      ["pc", 0, {}, false],
    ],
  );
  assert.deepEqual(
    applied.distinctIds.map((d) => [d.distinct_id, d.person_id, d.version]),
    [
      ["a", "pa", 0],
      ["b", "pa", 1],
      ["c", "pc", 0],
    ],
  );
  assert.deepEqual(
    applied.groups.map((g) => [g.group_key, g.properties, g.version]),
    [["acme", { n: 2 }, 2]],
  );

  const undoPath = newPath();
  writeFirstLayout(undoPath);
  store = SqlitePersonStore.open(undoPath);
  assert.equal(await store.recover({ 0: 10 }), "discarded");
  assert.deepEqual([...(await store.groups([])).types], [["org", 0]]);
  const lookup = await store.lookup(["a", "b", "c"], ["x", "y"]);
  assert.deepEqual(
    [...lookup.distinctIds.values()].map((d) => [d.distinctId, d.personId, d.version]),
    [
      ["a", "pa", 0],
      ["b", "pb", 0],
    ],
  );
  assert.deepEqual([...lookup.personless], ["x"]);
  await store.close();
  const undone = storePersons(undoPath);
  assert.equal(undone.pending, 0);
  assert.deepEqual(
    undone.persons.map((p) => [p.id, p.version, p.properties]),
    [
      ["pa", 0, { plan: "free" }],
      ["pb", 0, {}],
    ],
  );
});
