/**
 * `ferry serve` on a Kafka event log (`scripts/services.sh up kafka`: Apache Kafka 4.4 in KRaft mode, one node), with
 * capture and ingestion in processes of their own (`--role capture | ingest`), as users run them: the CLI.
 *
 * The fleet test sends 100,000 events through two capture processes; two consumer groups of two ingest processes each
 * load them into ClickHouse (Debian's real 18.16 server) and into Postgres. One ingest process of each group is killed
 * with SIGKILL while loading and the broker is restarted in the middle; every acknowledged event must then be stored
 * exactly once in Postgres and, after FINAL, once in ClickHouse.
 *
 * All the Kafka tests are in this one file: the broker restart would disturb tests running beside it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import pg from "pg";
import type { PausePoint } from "../fixtures/serve-faults.js";
import { dropDatabases } from "../helpers/backends.js";
import { ferryAsync, REPO } from "../helpers/cli.js";
import { clickhouseQuery } from "../helpers/clickhouse-tables.js";
import { FerryProcess } from "../helpers/ferry-process.js";
import { broker, produceRaw, readTopic } from "../helpers/kafka.js";
import { waitFor } from "../helpers/serve.js";
import { ServeProcess } from "../helpers/serve-cli.js";
import { CaptureFleet } from "../helpers/serve-crash-clients.js";
import { duckdbEvents } from "../helpers/serve-tables.js";
import { service } from "../helpers/services.js";

const TSX = import.meta.resolve("tsx");
const FAULTS_HOOK = pathToFileURL(join(REPO, "test/fixtures/serve-faults.ts")).href;

const kafka = await service("kafka");
const postgres = await service("postgres");
const clickhouse = await service("clickhouse");
const TOKEN = "phc_kafka_fleet";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "ferry-kafka-"));
  dirs.push(d);
  return d;
}
const running: Array<{ kill(): Promise<void> | void }> = [];
after(async () => {
  for (const p of running) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A fresh topic (and dead-letter topic) and consumer group per test: tests do not see each other's events, and no
 * test waits for the session of a member another test killed to expire. `bare`: without the group.
 */
function kafkaUrl(extra = ""): { url: string; bare: string; topic: string } {
  const topic = `ferry_test_${randomBytes(4).toString("hex")}`;
  const bare = `kafka://${kafka.url}?topic=${topic}${extra}`;
  return { url: `${bare}&group=${topic}`, bare, topic };
}

/** `ferry serve --role ingest` in a process of its own, once it owns partitions (or was told it has none). */
async function startIngest(args: string[], dir: string): Promise<FerryProcess> {
  const p = new FerryProcess(["serve", "--role", "ingest", "--dir", join(dir, ".ferry"), ...args], dir, {
    FERRY_LOG_LEVEL: "info",
  });
  running.push({ kill: () => void p.child.kill("SIGKILL") });
  await p.waitFor(/ingesting events into/);
  return p;
}

async function startCapture(args: string[], dir: string): Promise<ServeProcess> {
  const p = await ServeProcess.start(
    ["--role", "capture", "--port", "0", "--dir", join(dir, ".ferry"), ...args],
    dir,
  );
  running.push(p);
  return p;
}

async function pgQuery<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("ferry serve on Kafka: 100,000 events, two capture and two ingest processes", {
  skip: kafka.skip || postgres.skip || clickhouse.skip,
}, () => {
  test("an ingest process killed -9 and the broker restarted: every acknowledged event stored once", async () => {
    const { bare: url } = kafkaUrl();
    const dataset = `kafka_fleet_${randomBytes(3).toString("hex")}`;
    after(async () => {
      await pgQuery(`DROP SCHEMA IF EXISTS "${dataset}" CASCADE`).catch(() => undefined);
      await dropDatabases(clickhouse.url, [dataset]).catch(() => undefined);
    });
    const common = ["--log", url, "--token", TOKEN, "--dataset", dataset];
    const capture = [await startCapture(common, tempDir()), await startCapture(common, tempDir())];
    const group = (name: string) => ["--log", `${url}&group=${name}_${dataset}`];
    const toClickHouse = [...common.slice(2), ...group("ch"), "--destination", clickhouse.url];
    const toPostgres = [...common.slice(2), ...group("pg"), "--destination", postgres.url];
    const chDirs = [tempDir(), tempDir()];
    const pgDirs = [tempDir(), tempDir()];
    const ch = [
      await startIngest(toClickHouse, chDirs[0] as string),
      await startIngest(toClickHouse, chDirs[1] as string),
    ];
    const pgs = [
      await startIngest(toPostgres, pgDirs[0] as string),
      await startIngest(toPostgres, pgDirs[1] as string),
    ];

    // Two fleets of posthog-node-like clients, one per capture process, retrying each batch until it is acknowledged.
    const fleets = capture.map(
      (c) =>
        new CaptureFleet({
          url: c.url,
          tokens: [TOKEN],
          clients: 4,
          events: 50_000,
          batchSize: 100,
          deadlineMs: 900_000,
        }),
    );
    for (const f of fleets) f.allow(15_000);
    const done = Promise.all(fleets.map((f) => f.run()));
    const acked = () => fleets.reduce((n, f) => n + f.acked.size, 0);
    await waitFor("30,000 events acknowledged", () => acked() >= 30_000, 300_000, acked);

    // One ingest process of each group dies while loading; its partitions move to the other one.
    await waitFor("the Postgres group loading", async () => Number((await pgCount(dataset)) > 0), 120_000);
    ch[0]?.child.kill("SIGKILL");
    pgs[0]?.child.kill("SIGKILL");
    for (const f of fleets) f.allow(30_000);
    // The group hands the dead member's partitions to the survivor (once the broker expires its session).
    for (const survivor of [ch[1], pgs[1]])
      await survivor?.waitFor(/this process loads partition\(s\) 0, 1, 2, 3 of/, 120_000);
    await waitFor("60,000 events acknowledged", () => acked() >= 60_000, 300_000, acked);
    for (const f of fleets) f.allow(50_000);
    await waitFor("70,000 events acknowledged", () => acked() >= 70_000, 300_000, acked);

    // The broker restarts with clients sending: capture answers 503 while it is away, the clients retry.
    const ackedBefore = acked();
    await broker("down");
    // Requests sent while the broker is away wait for it (the producer retries) or get 503 and are retried.
    const inFlightWhileDown = fleets.reduce((n, f) => n + f.inFlight, 0);
    await broker("up");
    // The killed processes come back with their working dirs (what a crash left there is dropped).
    ch[0] = await startIngest(toClickHouse, chDirs[0] as string);
    pgs[0] = await startIngest(toPostgres, pgDirs[0] as string);
    await done;

    const ackedUuids = new Set<string>();
    for (const f of fleets) for (const u of f.acked) ackedUuids.add(u);
    assert.equal(ackedUuids.size, 100_000);

    // Postgres: exactly once (offsets are committed with the events).
    let pgLast: unknown;
    await waitFor(
      "100,000 rows in Postgres",
      async () => {
        pgLast = await pgCount(dataset);
        return pgLast === 100_000;
      },
      600_000,
      () => pgLast,
    );
    const pgDuplicates = await pgQuery(
      `SELECT uuid, count(*) AS n FROM "${dataset}".events GROUP BY uuid HAVING count(*) > 1 LIMIT 5`,
    );
    assert.deepEqual(pgDuplicates, [], "no event stored twice in Postgres");
    const pgUuids = new Set(
      (await pgQuery<{ uuid: string }>(`SELECT uuid FROM "${dataset}".events`)).map((r) => r.uuid),
    );
    assert.equal(
      [...ackedUuids].filter((u) => !pgUuids.has(u)).length,
      0,
      "every acknowledged event in Postgres",
    );

    // ClickHouse: at least once, collapsed by uuid with FINAL.
    let chLast: unknown;
    await waitFor(
      "100,000 distinct events in ClickHouse",
      async () => {
        chLast = await chCount(dataset, "uniqExact(uuid)");
        return chLast === 100_000;
      },
      600_000,
      () => chLast,
    );
    assert.equal(await chCount(dataset, "count()", true), 100_000, "one row per event after FINAL");
    // (Rows stored twice before the merge, by loads the crash or the restart interrupted, show without FINAL.)
    console.log(`clickhouse: ${await chCount(dataset, "count()")} rows stored for 100,000 events`);
    const chDuplicates = await clickhouseQuery(
      clickhouse.url,
      `SELECT uuid, count() AS n FROM \`${dataset}\`.events FINAL GROUP BY uuid HAVING n > 1 LIMIT 5`,
    );
    assert.deepEqual(chDuplicates, []);
    const chUuids = new Set(
      (await clickhouseQuery(clickhouse.url, `SELECT uuid FROM \`${dataset}\`.events FINAL`)).map((r) =>
        String(r.uuid),
      ),
    );
    assert.equal(
      [...ackedUuids].filter((u) => !chUuids.has(u)).length,
      0,
      "every acknowledged event in ClickHouse",
    );

    // The broker restarted in the middle, with requests under way.
    assert.ok(ackedBefore >= 70_000 && ackedBefore < 100_000, `restarted at ${ackedBefore} acknowledged`);
    assert.ok(inFlightWhileDown > 0, "clients were sending while the broker was down");

    // SIGTERM: every process ends cleanly.
    for (const p of [...capture]) assert.equal((await p.stop("SIGTERM")).code, 0);
    for (const p of [...ch, ...pgs]) {
      p.child.kill("SIGTERM");
      assert.equal((await p.exited).code, 0, p.stderr.slice(-2000));
    }
  });
});

async function pgCount(dataset: string): Promise<number> {
  const exists = await pgQuery(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = '${dataset}' AND table_name = 'events'`,
  );
  if (exists.length === 0) return 0;
  const [r] = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${dataset}".events`);
  return Number(r?.n);
}

async function chCount(dataset: string, what: string, final = false): Promise<number> {
  const exists = await clickhouseQuery(
    clickhouse.url,
    `SELECT count() AS n FROM system.tables WHERE database = '${dataset}' AND name = 'events'`,
  );
  if (Number(exists[0]?.n) === 0) return 0;
  const [r] = await clickhouseQuery(
    clickhouse.url,
    `SELECT ${what} AS n FROM \`${dataset}\`.events${final ? " FINAL" : ""}`,
  );
  return Number(r?.n);
}

/** `ferry serve --role ingest` preloaded with test/fixtures/serve-faults.ts: it stops for good at `point`. */
function startPausingIngest(args: string[], dir: string, point: PausePoint): FerryProcess {
  const p = new FerryProcess(["serve", "--role", "ingest", "--dir", join(dir, ".ferry"), ...args], dir, {
    FERRY_LOG_LEVEL: "info",
    FERRY_TEST_PAUSE: point,
    NODE_OPTIONS: `--import ${TSX} --import ${FAULTS_HOOK}`,
  });
  running.push({ kill: () => void p.child.kill("SIGKILL") });
  return p;
}

/** Sends `n` events to a capture process in batches of 100; resolves with their uuids once all are acknowledged. */
async function sendEvents(url: string, n: number): Promise<string[]> {
  const fleet = new CaptureFleet({
    url,
    tokens: [TOKEN],
    clients: 2,
    events: n,
    batchSize: 100,
    deadlineMs: 120_000,
  });
  await fleet.run();
  return [...fleet.acked];
}

describe("ferry serve on Kafka: the guarantee per destination", {
  skip: kafka.skip || postgres.skip || clickhouse.skip,
}, () => {
  for (const [dest, point] of [
    ["postgres", "local-commit"],
    ["clickhouse", "load-inserted"],
  ] as const) {
    const what =
      dest === "postgres"
        ? "killed after the destination committed, before Kafka did: the batch is not stored again (exactly once)"
        : "killed inside an insert: the batch is stored again and collapses by uuid with FINAL (at least once)";
    test(`${dest}: ${what}`, async () => {
      const { url } = kafkaUrl();
      const dataset = `kafka_once_${randomBytes(3).toString("hex")}`;
      const destination = dest === "postgres" ? postgres.url : clickhouse.url;
      after(async () => {
        if (dest === "postgres")
          await pgQuery(`DROP SCHEMA IF EXISTS "${dataset}" CASCADE`).catch(() => undefined);
        else await dropDatabases(clickhouse.url, [dataset]).catch(() => undefined);
      });
      const args = ["--log", url, "--token", TOKEN, "--dataset", dataset, "--destination", destination];
      const capture = await startCapture(["--log", url, "--token", TOKEN], tempDir());
      const uuids = await sendEvents(capture.url, 1_000);
      await capture.stop("SIGTERM");
      const count = (final: boolean) =>
        dest === "postgres" ? pgCount(dataset) : chCount(dataset, "count()", final);

      const dir = tempDir();
      const paused = startPausingIngest(args, dir, point);
      await paused.waitFor(new RegExp(`PAUSED ${point}`));
      paused.child.kill("SIGKILL");
      await paused.exited;
      const storedAtKill = await count(false);
      assert.ok(storedAtKill > 0 && storedAtKill < 1_000, `${storedAtKill} rows stored when killed`);

      // The next process (the same working dir) reads the uncommitted batch from Kafka again.
      const ingest = await startIngest(args, dir);
      await waitFor("1,000 events stored", async () => (await count(true)) >= 1_000, 120_000);
      ingest.child.kill("SIGTERM");
      assert.equal((await ingest.exited).code, 0);
      assert.equal(await count(true), 1_000);
      if (dest === "postgres") {
        assert.equal(await pgCount(dataset), 1_000, "each event once");
        const stored = await pgQuery<{ uuid: string }>(`SELECT uuid FROM "${dataset}".events`);
        assert.deepEqual(stored.map((r) => r.uuid).sort(), uuids.sort());
      } else {
        // Inserted twice (before the kill and after), one row each after FINAL; merges may collapse them earlier.
        const raw = await chCount(dataset, "count()");
        assert.ok(raw >= 1_000 && raw <= 1_000 + storedAtKill, `${raw} rows before FINAL`);
        const stored = await clickhouseQuery(clickhouse.url, `SELECT uuid FROM \`${dataset}\`.events FINAL`);
        assert.deepEqual(stored.map((r) => String(r.uuid)).sort(), uuids.sort());
      }
    });
  }
});

describe("ferry serve on Kafka: roles, dead letters, errors", { skip: kafka.skip }, () => {
  test("capture alone stores in Kafka; an ingest process started later loads it; dead letters say why", async () => {
    const { url, topic } = kafkaUrl();
    const dir = tempDir();
    const db = join(dir, "events.duckdb");
    const capture = await startCapture(["--log", url, "--token", TOKEN], dir);
    const sent = [
      {
        event: "signed up",
        distinct_id: "u1",
        properties: { plan: "pro" },
        uuid: "0190b2d8-0000-7000-8000-000000000001",
      },
      { event: "$pageview", distinct_id: "u2", properties: {}, uuid: "0190b2d8-0000-7000-8000-000000000002" },
    ];
    const res = await fetch(`${capture.url}/batch/`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ api_key: TOKEN, batch: sent }),
    });
    assert.equal(res.status, 200);
    // Acknowledged means in Kafka: the events are in the topic, keyed by token:distinct_id.
    const inTopic = await readTopic(kafka.url, topic, 2);
    assert.deepEqual(inTopic.map((m) => m.key).sort(), [`${TOKEN}:u1`, `${TOKEN}:u2`]);
    assert.deepEqual(
      inTopic.map((m) => JSON.parse(m.value).uuid).sort(),
      sent.map((e) => e.uuid),
    );
    // Messages that can never load, written by another producer: not JSON, not an event, a token no project has.
    const stranger = JSON.parse(inTopic[0]?.value as string);
    await produceRaw(kafka.url, topic, [
      { key: "x", value: "not json {" },
      { key: "y", value: JSON.stringify({ hello: "world" }) },
      {
        key: "z",
        value: JSON.stringify({
          ...stranger,
          token: "phc_nobody",
          uuid: "0190b2d8-0000-7000-8000-00000000000f",
        }),
      },
    ]);
    await capture.stop("SIGTERM");

    const ingest = await startIngest(["--log", url, "--token", TOKEN, "--destination", `duckdb:${db}`], dir);
    const dead = await readTopic(kafka.url, `${topic}_dead_letter`, 3);
    const reasons = dead.map((m) => m.headers.ferry_reason).sort();
    assert.equal(reasons.length, 3);
    assert.match(reasons[0] as string, /^no project has the token phc_nobody$/);
    assert.match(reasons[1] as string, /^not JSON: /);
    assert.match(reasons[2] as string, /^not a ferry event: uuid is missing or not text$/);
    assert.ok(
      dead.every((m) => m.headers.ferry_topic === topic && /^\d+$/.test(m.headers.ferry_offset ?? "")),
    );
    assert.deepEqual(dead.map((m) => m.key).sort(), ["x", "y", "z"]);
    await waitFor("the ingest process to log its dead letters", () =>
      /dead-letter topic/.test(ingest.stderr),
    );
    ingest.child.kill("SIGTERM");
    assert.equal((await ingest.exited).code, 0, ingest.stderr);
    const rows = await duckdbEvents(db, "posthog");
    assert.deepEqual(
      rows.map((r) => [r.uuid, r.event, r.distinct_id]).sort(),
      sent.map((e) => [e.uuid, e.event, e.distinct_id]),
    );
  });

  test("an event the destination refuses for good goes to the dead-letter topic; the others of its batch load", {
    skip: postgres.skip,
  }, async () => {
    const { url, topic } = kafkaUrl("&partitions=1");
    const dataset = `kafka_dlq_${randomBytes(3).toString("hex")}`;
    after(() => pgQuery(`DROP SCHEMA IF EXISTS "${dataset}" CASCADE`).catch(() => undefined));
    const event = (n: number, properties: Record<string, unknown>) => ({
      uuid: `0190b2d8-0000-7000-8000-00000000010${n}`,
      event: "e",
      distinct_id: `u${n}`,
      token: TOKEN,
      timestamp: "2026-12-05T10:00:00.000Z",
      created_at: "2026-12-05T10:00:00.100Z",
      properties,
      set: null,
      set_once: null,
      elements_chain: null,
      ip: null,
    });
    // Postgres cannot store a NUL character in text or jsonb: that event can never load there.
    const events = [
      event(1, { ok: 1 }),
      event(2, { ok: 2 }),
      event(3, { bad: "a\u0000b" }),
      event(4, { ok: 4 }),
    ];
    // The ingest process creates the topics; the events come from another producer, as they are.
    const ingest = await startIngest(
      ["--log", url, "--token", TOKEN, "--dataset", dataset, "--destination", postgres.url],
      tempDir(),
    );
    await produceRaw(
      kafka.url,
      topic,
      events.map((e) => ({ key: `${TOKEN}:${e.distinct_id}`, value: JSON.stringify(e) })),
    );
    const [dead] = await readTopic(kafka.url, `${topic}_dead_letter`, 1);
    assert.match(dead?.headers.ferry_reason ?? "", /^the destination refused it: .*NUL character/);
    assert.equal(JSON.parse(dead?.value ?? "{}").uuid, events[2]?.uuid);
    await waitFor("3 events in Postgres", async () => (await pgCount(dataset)) >= 3, 60_000);
    ingest.child.kill("SIGTERM");
    assert.equal((await ingest.exited).code, 0, ingest.stderr);
    const stored = await pgQuery<{ uuid: string }>(`SELECT uuid FROM "${dataset}".events ORDER BY uuid`);
    assert.deepEqual(
      stored.map((r) => r.uuid),
      [events[0], events[1], events[3]].map((e) => e?.uuid),
    );
  });

  test("--role ingest or capture without a Kafka log, a bad role, a bad URL: clear errors", async () => {
    const dir = tempDir();
    const cases: Array<[string[], RegExp]> = [
      [["--role", "ingest"], /ferry serve --role ingest needs a shared event log/],
      [["--role", "capture"], /set serve\.log: kafka:\/\/host:9092/],
      [
        ["--role", "both", "--log", `kafka://${kafka.url}`],
        /--role must be capture, ingest or all, not "both"/,
      ],
      [["--log", "kafka://"], /the Kafka URL names no broker/],
      [["--log", "kafka://h:9092?topik=x"], /topik is not a Kafka log setting ferry knows/],
      [["--log", "kafka://h:9092?topic=a%20b"], /topic "a b" is not a valid Kafka topic name/],
      [["--log", "redis://h"], /serve\.log must be embedded or a kafka:\/\/ URL/],
    ];
    for (const [args, expected] of cases) {
      const r = await ferryAsync(
        ["serve", "--token", TOKEN, "--port", "0", "--dir", join(dir, ".f"), ...args],
        dir,
      );
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, expected, args.join(" "));
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
    }
  });

  test("a project with plugins on a Kafka log is refused, naming the project", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "ferry.yaml"),
      `serve:\n  log: kafka://${kafka.url}\n  projects:\n    - token: ${TOKEN}\n      plugins:\n        - module: ./p.js\n`,
    );
    writeFileSync(join(dir, "p.js"), "export function processEvent(e) { return e; }\n");
    const r = await ferryAsync(["serve", "--port", "0", "--dir", join(dir, ".f")], dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`plugins do not run on a Kafka event log yet \\(project\\(s\\) ${TOKEN} list plugins\\)`),
    );
    assert.match(r.stderr, /use the embedded log \(drop serve\.log \/ --log\) for projects with plugins/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });

  test("a broker that cannot be reached: the error names it, within seconds", async () => {
    const dir = tempDir();
    const r = await ferryAsync(
      ["serve", "--token", TOKEN, "--port", "0", "--dir", join(dir, ".f"), "--log", "kafka://127.0.0.1:1"],
      dir,
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.match(r.stderr, /check `log:` in ferry\.yaml \(or --log\)/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});
