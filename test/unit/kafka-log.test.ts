import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { messageKey } from "../../src/events/kafka/kafka-producer.js";
import { isKafkaLog, parseKafkaLog } from "../../src/events/kafka/kafka-url.js";
import { decodeMessage } from "../../src/events/kafka/message-codec.js";
import { PartitionWindow } from "../../src/events/kafka/partition-window.js";
import { resolveServeConfig } from "../../src/events/serve-config.js";

const TOKENS = { token: ["phc_x"] };

describe("log: kafka:// URLs", () => {
  test("defaults: topic ferry_events, its dead-letter topic, group ferry_ingest, 4 partitions, port 9092", () => {
    assert.deepEqual(parseKafkaLog("kafka://k1"), {
      brokers: ["k1:9092"],
      topic: "ferry_events",
      deadLetterTopic: "ferry_events_dead_letter",
      group: "ferry_ingest",
      partitions: 4,
    });
  });

  test("several brokers and every setting", () => {
    assert.deepEqual(
      parseKafkaLog("kafka://k1:9093, k2 ,[::1]:9094/?topic=ev&dead_letter_topic=dlq&group=g1&partitions=12"),
      {
        brokers: ["k1:9093", "k2:9092", "[::1]:9094"],
        topic: "ev",
        deadLetterTopic: "dlq",
        group: "g1",
        partitions: 12,
      },
    );
    assert.equal(parseKafkaLog("kafka://k?topic=ev").deadLetterTopic, "ev_dead_letter");
  });

  test("what is wrong is named", () => {
    const cases: Array<[string, RegExp]> = [
      ["kafka://", /names no broker/],
      ["kafka://h:99999", /"h:99999" is not a broker address/],
      ["kafka://h:9092?partition=3", /partition is not a Kafka log setting ferry knows/],
      ["kafka://h?partitions=0", /partitions must be a whole number 1\.\.10000, not 0/],
      ["kafka://h?topic=..", /topic "\.\." is not a valid Kafka topic name/],
      ["kafka://h?topic=a/b", /not a Kafka URL|not a valid Kafka topic name/],
      ["kafka://h?group=", /group is empty/],
    ];
    for (const [url, re] of cases) assert.throws(() => parseKafkaLog(url), re, url);
    assert.equal(isKafkaLog("KAFKA://h"), true);
    assert.equal(isKafkaLog("duckdb:x"), false);
    assert.equal(isKafkaLog(undefined), false);
  });
});

describe("ferry serve's log and role settings", () => {
  test("the embedded log by default, role all; serve.log or --log (the flag wins)", () => {
    const embedded = resolveServeConfig({}, TOKENS, ".ferry");
    assert.equal(embedded.log, undefined);
    assert.equal(embedded.role, "all");
    assert.deepEqual(embedded.persons, { store: "sqlite" });
    const fromFile = resolveServeConfig({ serve: { log: "kafka://a:1" } }, TOKENS, ".ferry");
    assert.equal(fromFile.log, "kafka://a:1");
    assert.equal(fromFile.persons, null, "persons are off on a Kafka log");
    const flag = resolveServeConfig(
      { serve: { log: "kafka://a:1" } },
      { ...TOKENS, log: "kafka://b:2", role: "ingest" },
      ".ferry",
    );
    assert.equal(flag.log, "kafka://b:2");
    assert.equal(flag.role, "ingest");
    assert.equal(resolveServeConfig({ serve: { log: "embedded" } }, TOKENS, ".ferry").log, undefined);
  });

  test("refusals: a role without a shared log, an unknown role, persons on Kafka, a log that is not Kafka", () => {
    assert.throws(
      () => resolveServeConfig({}, { ...TOKENS, role: "capture" }, ".f"),
      /--role capture needs a shared event log/,
    );
    assert.throws(
      () => resolveServeConfig({}, { ...TOKENS, role: "ingest" }, ".f"),
      /--role ingest needs a shared event log/,
    );
    assert.throws(
      () => resolveServeConfig({}, { ...TOKENS, role: "web", log: "kafka://a" }, ".f"),
      /--role must be capture, ingest or all, not "web"/,
    );
    assert.throws(
      () => resolveServeConfig({ serve: { log: "kafka://a", persons: true } }, TOKENS, ".f"),
      /person processing does not work with a Kafka log yet/,
    );
    assert.throws(() => resolveServeConfig({ serve: { log: 42 } }, TOKENS, ".f"), /serve\.log must be text/);
    assert.throws(
      () => resolveServeConfig({ serve: { log: "nats://x" } }, TOKENS, ".f"),
      /embedded or a kafka:\/\/ URL/,
    );
    assert.throws(
      () => resolveServeConfig({ serve: { log: "kafka://?topic=x" } }, TOKENS, ".f"),
      /names no broker/,
    );
  });
});

describe("Kafka messages", () => {
  const event = {
    uuid: "0190b2d8-0000-7000-8000-000000000001",
    event: "e",
    distinct_id: "u1",
    token: "phc_x",
    timestamp: "2026-12-05T10:00:00.000Z",
    created_at: "2026-12-05T10:00:00.100Z",
    properties: { a: 1 },
    set: null,
    set_once: null,
    elements_chain: null,
    ip: "127.0.0.1",
  };

  test("keyed by token:distinct_id; an event reads back as written", () => {
    assert.equal(messageKey(event), "phc_x:u1");
    assert.deepEqual(decodeMessage(Buffer.from(JSON.stringify(event))), event);
    const { set: _s, ip: _i, ...minimal } = event;
    assert.deepEqual(decodeMessage(Buffer.from(JSON.stringify(minimal))), {
      ...minimal,
      set: null,
      ip: null,
    });
  });

  test("a message that is no event says why", () => {
    const cases: Array<[Buffer | null, string | RegExp]> = [
      [null, "an empty message (no event)"],
      [Buffer.from("{"), /^not JSON: /],
      [Buffer.from("[1]"), "not a ferry event: the message is not a JSON object"],
      [
        Buffer.from(JSON.stringify({ ...event, token: 7 })),
        "not a ferry event: token is missing or not text",
      ],
      [
        Buffer.from(JSON.stringify({ ...event, timestamp: "soon" })),
        "not a ferry event: timestamp is not a date",
      ],
      [
        Buffer.from(JSON.stringify({ ...event, properties: [] })),
        "not a ferry event: properties is not an object",
      ],
    ];
    for (const [value, expected] of cases) {
      const got = decodeMessage(value);
      if (typeof expected === "string") assert.equal(got, expected);
      else assert.match(got as string, expected);
    }
  });

  test("the dedup window: another offset is a retry, the same offset a re-read; the oldest leave first", () => {
    const w = new PartitionWindow(2);
    w.add("a", 1);
    w.add("b", 2);
    assert.equal(w.isDuplicate("a", 5), true);
    assert.equal(w.isDuplicate("a", 1), false);
    assert.equal(w.isDuplicate("c", 3), false);
    w.add("c", 3);
    assert.equal(w.size, 2);
    assert.equal(w.isDuplicate("a", 5), false, "a left the window");
    assert.equal(w.isDuplicate("b", 9), true);
  });
});
