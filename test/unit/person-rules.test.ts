import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { personUuid, uuidv5 } from "../../src/events/persons/person-uuid.js";
import {
  applyUpdates,
  groupUpdate,
  isIllegalDistinctId,
  processPersonFlag,
  propertyUpdates,
} from "../../src/events/persons/rules.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";

describe("person uuids", () => {
  test("UUIDv5 matches RFC 9562's example and Python's uuid.uuid5", () => {
    assert.equal(
      uuidv5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
    // PostHog's namespace and its `${team_id}:${distinct_id}` name, computed with Python's uuid module.
    assert.equal(
      uuidv5("2:user-1", "932979b4-65c3-4424-8467-0b66ec27bc22"),
      "1e7731c8-945c-520d-96b9-e7f088242010",
    );
    assert.equal(personUuid("phc_x", "ünïcode"), "0e27be24-af40-5cde-8d56-2c2ae9822821");
  });
});

describe("illegal distinct ids (PostHog's list)", () => {
  const cases: Array<[string, boolean]> = [
    ["anonymous", true],
    ["AnOnYmOuS", true],
    ["guest", true],
    ["distinctid", true],
    ["distinct_id", true],
    ["id", true],
    ["not_authenticated", true],
    ["email", true],
    ["undefined", true],
    ["UNDEFINED", true],
    ["true", true],
    ["FALSE", true],
    ["[object Object]", true],
    ["NaN", true],
    ["None", true],
    ["none", true],
    ["null", true],
    ["0", true],
    ['"anonymous"', true],
    ["'Guest'", true],
    ['"null"', true],
    ["'0'", true],
    ["", true],
    ["  \t", true],
    ["nan", false],
    ["NULL", false],
    ["NONE", false],
    ["[OBJECT OBJECT]", false],
    ["00", false],
    [" anonymous", false],
    ["user-1", false],
    ["'nan'", false],
  ];
  for (const [id, illegal] of cases) {
    test(`${JSON.stringify(id)} is ${illegal ? "illegal" : "legal"}`, () =>
      assert.equal(isIllegalDistinctId(id), illegal));
  }
});

describe("person property updates", () => {
  test("$set_once fills missing keys, $set overwrites differing values (by content), $unset removes existing keys", () => {
    const current = { a: 1, keep: [1, 2], z: 0 };
    assert.deepEqual(
      propertyUpdates("$pageview", current, { a: 2, keep: [1, 2] }, { a: 9, c: 4 }, ["z", "nope"]),
      {
        set: { c: 4, a: 2 },
        unset: ["z"],
      },
    );
    assert.deepEqual(propertyUpdates("$set", current, {}, {}, { a: null, missing: 1 }), {
      set: {},
      unset: ["a"],
    });
    assert.deepEqual(
      propertyUpdates("$set", current, {}, {}, "a"),
      { set: {}, unset: [] },
      "$unset must be a list or an object",
    );
    assert.deepEqual(propertyUpdates("$exception", current, { a: 5 }, {}, ["z"]), { set: {}, unset: [] });
    assert.deepEqual(propertyUpdates("$$heatmap", current, { a: 5 }, {}, []), { set: {}, unset: [] });
  });

  test("updates make new objects: properties already stamped on events never change", () => {
    const before = Object.freeze({ a: 1, b: 2 });
    const after = applyUpdates(before, { set: { a: 3 }, unset: ["b"] });
    assert.deepEqual(after, { a: 3 });
    assert.deepEqual(before, { a: 1, b: 2 });
  });

  test("$group_set: changed keys only; nothing changed is no update", () => {
    assert.deepEqual(groupUpdate({ a: 1 }, { a: 1, b: 2 }), { a: 1, b: 2 });
    assert.equal(groupUpdate({ a: 1, b: [1] }, { a: 1, b: [1] }), undefined);
  });

  test("$process_person_profile: only false turns persons off; other non-booleans are reported", () => {
    assert.deepEqual(processPersonFlag({}), { process: true });
    assert.deepEqual(processPersonFlag({ $process_person_profile: true }), { process: true });
    assert.deepEqual(processPersonFlag({ $process_person_profile: false }), { process: false });
    assert.deepEqual(processPersonFlag({ $process_person_profile: "false" }), {
      process: true,
      invalid: true,
    });
    assert.deepEqual(processPersonFlag({ $process_person_profile: 0 }), { process: true, invalid: true });
  });
});

describe("serve.persons in the project file", () => {
  const resolve = (persons: unknown) =>
    resolveServeConfig({ serve: { persons, projects: [{ token: "phc_x" }] } }, {}, ".ferry").persons;

  test("default SQLite; false turns persons off; a Postgres URL with a schema", () => {
    assert.deepEqual(resolve(undefined), { store: "sqlite" });
    assert.deepEqual(resolve(true), { store: "sqlite" });
    assert.equal(resolve(false), null);
    assert.deepEqual(resolve({ store: "sqlite" }), { store: "sqlite" });
    assert.deepEqual(resolve({ store: "postgres://u:p@db:5432/app" }), {
      store: "postgres",
      url: "postgres://u:p@db:5432/app",
      schema: "ferry_persons",
    });
    assert.deepEqual(resolve({ store: "postgresql://db/app", schema: "people" }), {
      store: "postgres",
      url: "postgresql://db/app",
      schema: "people",
    });
  });

  test("wrong settings are refused with the key named", () => {
    assert.throws(
      () => resolve({ store: "redis://x" }),
      /serve.persons.store must be sqlite or a postgres:\/\/ URL/,
    );
    assert.throws(() => resolve({ stor: "sqlite" }), /serve.persons.stor is not a setting ferry knows/);
    assert.throws(() => resolve({ store: "sqlite", schema: "x" }), /schema is for a Postgres store only/);
    assert.throws(() => resolve("yes"), /serve.persons must be a mapping/);
  });
});
