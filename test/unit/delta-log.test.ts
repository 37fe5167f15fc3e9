// The pure parts of ferry's Delta Lake support: log file names, commit files, action reconciliation, the protocol
// checks, schema evolution and type mapping, the vacuum retention rule.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Action,
  logKeys,
  parseCommit,
  parseLogName,
  serializeCommit,
} from "../../src/destinations/filesystem/delta/actions.js";
import {
  deltaType,
  evolveSchema,
  parseSchema,
  schemaString,
} from "../../src/destinations/filesystem/delta/delta-schema.js";
import { schemaActions } from "../../src/destinations/filesystem/delta/delta-table.js";
import { checkRetention } from "../../src/destinations/filesystem/delta/maintenance.js";
import { DeltaSnapshot } from "../../src/destinations/filesystem/delta/snapshot.js";
import type { Column } from "../../src/schema/types.js";
import { ConfigError, DestinationError } from "../../src/util/errors.js";

const add = (path: string, rows = 1): Action => ({
  add: {
    path,
    partitionValues: {},
    size: 100,
    modificationTime: 1,
    dataChange: true,
    stats: JSON.stringify({ numRecords: rows }),
  },
});
const remove = (path: string): Action => ({ remove: { path, deletionTimestamp: 5, dataChange: true } });
const meta = (fields: Array<[string, string]>, configuration: Record<string, string> = {}): Action => ({
  metaData: {
    id: "t",
    format: { provider: "parquet", options: {} },
    schemaString: schemaString(fields.map(([name, type]) => ({ name, type, nullable: true, metadata: {} }))),
    partitionColumns: [],
    configuration,
  },
});

describe("Delta log files", () => {
  test("names of commits, checkpoints and their parts; everything else is other", () => {
    assert.deepEqual(parseLogName("00000000000000000012.json"), { kind: "commit", version: 12 });
    assert.deepEqual(parseLogName("00000000000000000010.checkpoint.parquet"), {
      kind: "checkpoint",
      version: 10,
      part: 1,
      parts: 1,
    });
    assert.deepEqual(parseLogName("00000000000000000010.checkpoint.0000000002.0000000003.parquet"), {
      kind: "checkpoint",
      version: 10,
      part: 2,
      parts: 3,
    });
    for (const other of ["_last_checkpoint", "00000000000000000010.crc", "12.json", "x.json.tmp"])
      assert.deepEqual(parseLogName(other), { kind: "other" });
    const keys = logKeys("lake/users");
    assert.equal(keys.commit(3), "lake/users/_delta_log/00000000000000000003.json");
    assert.equal(keys.checkpoint(20), "lake/users/_delta_log/00000000000000000020.checkpoint.parquet");
    assert.equal(keys.lastCheckpoint, "lake/users/_delta_log/_last_checkpoint");
  });

  test("a commit is one action per line and parses back", () => {
    const actions: Action[] = [{ commitInfo: { timestamp: 1, operation: "WRITE" } }, add("a.parquet")];
    const body = serializeCommit(actions);
    assert.equal(body.split("\n").length, 3, "two lines and a final newline");
    assert.deepEqual(parseCommit(body), actions);
    assert.deepEqual(parseCommit(`${body}\n\n`), actions, "empty lines are ignored");
  });
});

describe("action reconciliation", () => {
  test("the newest action for a path wins; removed files become tombstones until added again", () => {
    const s = new DeltaSnapshot("lake/t");
    assert.equal(s.exists, false);
    s.apply(0, [
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      meta([["id", "long"]]),
      add("a", 2),
      add("b", 3),
    ]);
    s.apply(1, [remove("a"), add("c", 4), { commitInfo: { operation: "MERGE" } }]);
    assert.deepEqual([...s.files.keys()], ["b", "c"]);
    assert.deepEqual([...s.tombstones.keys()], ["a"]);
    assert.equal(s.rows(), 7);
    assert.equal(s.commits.get(1)?.operation, "MERGE");
    const copy = s.clone();
    copy.apply(2, [
      add("a", 1),
      meta([
        ["id", "long"],
        ["x", "string"],
      ]),
    ]);
    assert.deepEqual([...copy.tombstones.keys()], [], "re-added");
    assert.deepEqual(
      copy.fields().map((f) => f.name),
      ["id", "x"],
      "the newest metadata wins",
    );
    assert.deepEqual([...s.files.keys()], ["b", "c"], "a clone leaves the original alone");
    assert.equal(copy.version, 2);
  });

  test("tables ferry cannot read or write are refused, saying why", () => {
    const at = (protocol: Action, ...more: Action[]) => {
      const s = new DeltaSnapshot("lake/t");
      s.apply(0, [protocol, meta([["id", "long"]]), ...more]);
      return s;
    };
    const refuses = (s: DeltaSnapshot, change: "append" | "rewrite" | "read", message: RegExp) =>
      assert.throws(
        () => (change === "read" ? s.checkReadable("t") : s.checkWritable("t", change)),
        (e: Error) => e instanceof DestinationError && message.test(e.message),
      );
    refuses(
      at({
        protocol: {
          minReaderVersion: 3,
          minWriterVersion: 7,
          readerFeatures: ["deletionVectors"],
          writerFeatures: ["deletionVectors"],
        },
      }),
      "read",
      /reader version 3, features deletionVectors/,
    );
    refuses(at({ protocol: { minReaderVersion: 2, minWriterVersion: 5 } }), "read", /reader version 2/);
    refuses(at({ protocol: { minReaderVersion: 1, minWriterVersion: 4 } }), "append", /writer version 4/);
    refuses(
      at({ protocol: { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: ["identityColumns"] } }),
      "append",
      /features identityColumns/,
    );
    const dv = at(
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        add: {
          path: "a",
          partitionValues: {},
          size: 1,
          modificationTime: 1,
          dataChange: true,
          deletionVector: { storageType: "u" },
        },
      },
    );
    refuses(dv, "read", /deletion vectors/);
    const appendOnly = at(
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      meta([["id", "long"]], { "delta.appendOnly": "true" }),
    );
    appendOnly.checkWritable("t", "append");
    refuses(appendOnly, "rewrite", /append-only/);
    const ok = at({
      protocol: {
        minReaderVersion: 3,
        minWriterVersion: 7,
        readerFeatures: ["vacuumProtocolCheck"],
        writerFeatures: ["appendOnly", "vacuumProtocolCheck"],
      },
    });
    ok.checkWritable("t", "rewrite");
  });
});

describe("Delta schemas", () => {
  const col = (name: string, type: Column["type"], extra: Partial<Column> = {}): Column => ({
    name,
    type,
    ...extra,
  });

  test("ferry types as Delta types (time and json as text, decimals capped at 38 digits)", () => {
    assert.deepEqual(
      [
        col("a", "text"),
        col("b", "bigint"),
        col("c", "double"),
        col("d", "bool"),
        col("e", "timestamp"),
        col("f", "date"),
        col("g", "time"),
        col("h", "json"),
        col("i", "binary"),
        col("j", "decimal", { precision: 12, scale: 3 }),
        col("k", "decimal", { precision: 50, scale: 60 }),
      ].map(deltaType),
      [
        "string",
        "long",
        "double",
        "boolean",
        "timestamp",
        "date",
        "string",
        "string",
        "binary",
        "decimal(12,3)",
        "decimal(38,38)",
      ],
    );
  });

  test("new columns join after the table's own fields; nothing new is no change; a type clash is an error", () => {
    const existing = parseSchema(
      schemaString([
        { name: "id", type: "long", nullable: true, metadata: {} },
        { name: "other_writer", type: "integer", nullable: true, metadata: {} },
      ]),
    );
    assert.equal(evolveSchema(existing, [col("id", "bigint")], "t"), undefined);
    assert.deepEqual(
      evolveSchema(existing, [col("id", "bigint"), col("name", "text")], "t")?.map((f) => [f.name, f.type]),
      [
        ["id", "long"],
        ["other_writer", "integer"],
        ["name", "string"],
      ],
    );
    assert.throws(
      () => evolveSchema(existing, [col("id", "text")], "t"),
      (e: Error) =>
        e instanceof DestinationError &&
        /column "id" of Delta table "t" is "id" of type "long" in the table, but string/.test(e.message),
    );
    assert.throws(
      () => evolveSchema(existing, [col("ID", "bigint")], "t"),
      /"ID"/,
      "Delta column names are unique regardless of case",
    );
  });

  test("a new table's first commit has protocol and metadata; a new column only metadata", () => {
    const empty = new DeltaSnapshot("lake/t");
    const first = schemaActions(empty, [col("id", "bigint")], "t");
    assert.deepEqual(
      first.map((a) => Object.keys(a)[0]),
      ["protocol", "metaData"],
    );
    assert.deepEqual((first[0] as { protocol: object }).protocol, {
      minReaderVersion: 1,
      minWriterVersion: 2,
    });
    const s = new DeltaSnapshot("lake/t");
    s.apply(0, first);
    assert.deepEqual(schemaActions(s, [col("id", "bigint")], "t"), []);
    const next = schemaActions(s, [col("id", "bigint"), col("x", "double")], "t");
    assert.deepEqual(
      next.map((a) => Object.keys(a)[0]),
      ["metaData"],
    );
    const m = (next[0] as { metaData: { id: string; schemaString: string } }).metaData;
    assert.equal(m.id, (first[1] as { metaData: { id: string } }).metaData.id, "the table keeps its id");
    assert.deepEqual(
      parseSchema(m.schemaString).map((f) => f.name),
      ["id", "x"],
    );
  });
});

test("vacuum retention: 168 hours by default, lower only when forced", () => {
  checkRetention(168, false);
  checkRetention(0, true);
  assert.throws(
    () => checkRetention(24, false),
    (e: Error) => e instanceof ConfigError && /below the default of 168/.test(e.message),
  );
  assert.throws(() => checkRetention(-1, true), /number of hours >= 0/);
});
