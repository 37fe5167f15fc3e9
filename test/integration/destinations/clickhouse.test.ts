/**
 * The ClickHouse destination on the modern engine (chdb behind a ClickHouse HTTP endpoint: it stands in for a 26.7
 * server) and Debian's real 18.16 server: connection errors, column types and engines per server version, the
 * storage hint, values a server cannot hold, batches whose answer is lost, replace swaps, SQL parameters and
 * results. The shared suites (dispositions, types, state, names) run on both too.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { clickhouse, clickhouseStagingDatabase } from "../../../src/destinations/clickhouse/index.js";
import { serverFeatures } from "../../../src/destinations/clickhouse/server-features.js";
import {
  type Destination,
  isFerryError,
  type LogLevel,
  type Pipeline,
  pipeline,
  resource,
  silentLogger,
} from "../../../src/index.js";
import { dropDatabases } from "../../helpers/backends.js";
import { ClickHouseProxy } from "../../helpers/clickhouse-proxy.js";
import { clickhouseColumns, clickhouseEngine, withClickHouse } from "../../helpers/clickhouse-tables.js";
import { service } from "../../helpers/services.js";

const ROOT = join(import.meta.dirname, "../../..");
const CHILD = join(ROOT, "test/fixtures/crash-child.ts");

/** A logger that keeps its lines. */
function memoryLog() {
  const lines: Array<{ level: LogLevel; msg: string }> = [];
  const at = (level: LogLevel) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

for (const which of ["chdb", "clickhouse"] as const) {
  const svc = await service(which);
  const f = svc.skip ? serverFeatures("26.7") : await withClickHouse(svc.url, async (c) => c.features);
  const v = f.version.split(".").slice(0, 2).join(".");

  describe(`clickhouse destination [${which === "chdb" ? `${v} (chdb)` : v}]`, { skip: svc.skip }, () => {
    /** A pipeline on a fresh dataset (dropped afterwards) of `destination` (default: the server's URL). */
    async function withPipeline(
      fn: (p: Pipeline, dataset: string) => Promise<void>,
      o: { destination?: string | Destination; logger?: ReturnType<typeof memoryLog> } = {},
    ): Promise<void> {
      const dir = mkdtempSync(join(tmpdir(), "ferry-"));
      const dataset = `ch_${randomBytes(4).toString("hex")}`;
      const p = pipeline({
        name: "ch",
        destination: o.destination ?? svc.url,
        dataset,
        dir: join(dir, ".ferry"),
        logger: o.logger ?? silentLogger,
      });
      try {
        await fn(p, dataset);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    }

    test("a wrong password or a port nothing listens on: errors that say what to check, without the password", async () => {
      const bad = new URL(svc.url);
      bad.password = "wrong-pw-123";
      await withPipeline(
        async (p) => {
          const err = await p.run([{ id: 1 }], { table: "t" }).then(
            () => assert.fail("loaded with a wrong password"),
            (e: unknown) => e,
          );
          assert.ok(isFerryError(err), String(err));
          const text = `${(err as Error).message} ${String((err as { hint?: string }).hint)}`;
          assert.match(text, /check the user name and password in the URL/);
          assert.ok(!text.includes("wrong-pw-123"), text);
        },
        { destination: bad.toString() },
      );
      const closed = new URL(svc.url);
      closed.port = "1";
      await withPipeline(
        async (p) => {
          await assert.rejects(p.run([{ id: 1 }], { table: "t" }), (e: Error & { hint?: string }) =>
            /nothing accepts connections on http:\/\/127\.0\.0\.1:1/.test(String(e.hint ?? e.message)),
          );
        },
        { destination: closed.toString() },
      );
    });

    test("column types of this server version, merge tables sorted by their key, the storage hint as the engine", () =>
      withPipeline(async (p, dataset) => {
        await p.run(
          resource({ name: "u", primaryKey: "id", writeDisposition: "merge" }, [
            {
              id: 1,
              ts: "2024-01-01T00:00:00Z",
              d: "2024-01-01",
              ok: true,
              doc: { b: "x" },
              bin: Buffer.from([1]),
            },
          ]),
        );
        const cols = new Map(await clickhouseColumns(svc.url, dataset, "u"));
        const ts = f.dateTime64 ? "DateTime64(6, 'UTC')" : "DateTime('UTC')";
        assert.deepEqual(Object.fromEntries(cols), {
          _ferry_id: "String",
          _ferry_load_id: "String",
          id: "Int64",
          ts: `Nullable(${ts})`,
          d: f.date32 ? "Nullable(Date32)" : "Nullable(Date)",
          ok: f.boolType ? "Nullable(Bool)" : "Nullable(UInt8)",
          doc__b: "Nullable(String)",
          bin: "Nullable(String)",
        });
        const u = await clickhouseEngine(svc.url, dataset, "u");
        assert.deepEqual([u.engine, u.sorting_key], ["MergeTree", "id"]);
        assert.match(
          u.engine_full,
          f.insertDeduplication ? /non_replicated_deduplication_window = 1000/ : /^MergeTree/,
        );

        const visits = (rows: unknown[]) =>
          resource(
            {
              name: "visits",
              columns: {
                day: { type: "date", nullable: false },
                who: { type: "text", nullable: false },
                seen: { type: "timestamp", nullable: false },
              },
              storage: {
                partitionBy: { column: "day", by: "year" },
                sortBy: ["day", { column: "who", transform: "hash" }],
                deduplicate: { version: "seen" },
              },
            },
            rows,
          );
        await p.run(visits([{ day: "2024-05-01", who: "a", seen: "2024-05-01T10:00:00Z", n: 1 }]));
        await p.run(visits([{ day: "2024-05-01", who: "a", seen: "2024-05-01T11:00:00Z", n: 2 }]));
        const e = await clickhouseEngine(svc.url, dataset, "visits");
        assert.deepEqual(
          [e.engine, e.partition_key, e.sorting_key],
          ["ReplacingMergeTree", "toYear(day)", "day, cityHash64(who)"],
        );
        assert.deepEqual(
          await p.dataset().sql("select n from visits final"),
          [{ n: 2 }],
          "the latest version",
        );
      }));

    test("a sort key column that may be NULL is refused before any row is written, with what to declare", () =>
      withPipeline(async (p) => {
        await assert.rejects(
          p.run(resource({ name: "s", storage: { sortBy: ["who"] } }, [{ who: "a" }])),
          (e: Error & { cause?: { hint?: string } }) =>
            /column "who" of table "s" is its sort key and may be NULL/.test(e.message) &&
            /columns: \{ who: \{ nullable: false \} \}/.test(String(e.cause?.hint)),
        );
        assert.ok(!(await p.dataset().tables()).includes("s"));
      }));

    test("a value the server's type cannot hold fails the load with its row and column; the rows appended before are removed", () =>
      withPipeline(
        async (p) => {
          const rows = Array.from({ length: 2500 }, (_, i) => ({
            id: i,
            d: i === 1700 ? "1850-06-01" : "2024-06-01",
          }));
          const err = await p.run(rows, { table: "dates" }).then(
            () => assert.fail("loaded a date ClickHouse cannot hold"),
            (e: Error) => e,
          );
          assert.match(
            err.message,
            /row 1701 of table "dates": column "d": date 1850-06-01 is outside what ClickHouse's Date(32)? holds/,
          );
          assert.deepEqual(
            await p.dataset().sql("select count(*) as n from dates"),
            [{ n: 0 }],
            "batches 1 and 2 were removed",
          );
        },
        { destination: clickhouse({ url: svc.url, insertBatchRows: 1000 }) },
      ));

    test("a NULL in a column declared not nullable fails the load (ClickHouse would store 0 or '')", () =>
      withPipeline(async (p) => {
        await assert.rejects(
          p.run(
            resource({ name: "n", columns: { k: { type: "bigint", nullable: false } } }, [
              { k: 1 },
              { x: 2 },
            ]),
          ),
          /row 2 of table "n": column "k" is declared not nullable but has no value/,
        );
      }));

    test("a batch whose answer is lost: sent again with its token where the server deduplicates, else the attempt starts over; every row once", async () => {
      const proxy = await ClickHouseProxy.start(svc.url);
      const log = memoryLog();
      try {
        await withPipeline(
          async (p, dataset) => {
            // The second batch of items reaches the server, which stores it; its answer never comes back.
            const dropped = proxy.arm({
              match: new RegExp(`^INSERT INTO \`${dataset}\`\\.\`items\` `),
              skip: 1,
              action: "drop",
            });
            const rows = Array.from({ length: 3500 }, (_, i) => ({ id: i, tags: [i % 3] }));
            const info = await p.run(rows, { table: "items" });
            await dropped;
            assert.deepEqual(info.rows, { items: 3500, items__tags: 3500 });
            assert.deepEqual(
              await p.dataset().sql("select count(*) as n, count(distinct id) as d from items"),
              [{ n: 3500, d: 3500 }],
            );
            assert.deepEqual(await p.dataset().sql("select count(*) as n from items__tags"), [{ n: 3500 }]);
            const warnings = log.lines.filter((l) => l.level === "warn").map((l) => l.msg);
            if (f.insertDeduplication) {
              assert.ok(
                warnings.some((w) => /sending the batch again/.test(w)),
                warnings.join("\n"),
              );
            } else {
              assert.ok(
                warnings.some((w) => /attempt 1 failed.*retrying/.test(w)),
                warnings.join("\n"),
              );
              assert.ok(
                log.lines.some((l) => /removing 2000 row\(s\) of items/.test(l.msg)),
                "the first attempt's rows (the lost batch's too) removed",
              );
            }
          },
          { destination: clickhouse({ url: proxy.url, insertBatchRows: 1000 }), logger: log },
        );
      } finally {
        await proxy.close();
      }
    });

    test(`replace swaps tables with ${f.exchangeTables ? "EXCHANGE TABLES" : "RENAME TABLE"}; readers see old or new rows, never none`, async () => {
      const proxy = await ClickHouseProxy.start(svc.url);
      try {
        await withPipeline(
          async (p, dataset) => {
            const r = (ids: number[]) =>
              resource(
                { name: "rep", writeDisposition: "replace" },
                ids.map((id) => ({ id })),
              );
            await p.run(r([1, 2]));
            // Hold the swap: the table still holds the old rows while the new ones wait in their staging copy.
            const held = proxy.arm({ match: /^(EXCHANGE TABLES|RENAME TABLE) /, action: "hold" });
            const second = p.run(r([3]));
            const swap = await held;
            assert.match(
              swap,
              f.exchangeTables
                ? /^EXCHANGE TABLES `[^`]+`\.`rep` AND `[^`]+_staging`\.`rep__/
                : /^RENAME TABLE `[^`]+`\.`rep` TO /,
            );
            await withClickHouse(svc.url, async (c) => {
              assert.deepEqual(await c.query(`SELECT id FROM \`${dataset}\`.rep ORDER BY id`), [
                { id: 1 },
                { id: 2 },
              ]);
            });
            proxy.release();
            await second;
            assert.deepEqual(await p.dataset().sql("select id from rep"), [{ id: 3 }]);
            const staging = await withClickHouse(svc.url, (c) =>
              c.query(
                `SELECT name FROM system.tables WHERE database = '${clickhouseStagingDatabase(dataset)}'`,
              ),
            );
            assert.deepEqual(staging, [], "the old rows went with the staging copy");
          },
          { destination: proxy.url },
        );
      } finally {
        await proxy.close().catch(() => undefined);
      }
    });

    test("clickhouses:// speaks TLS: a certificate the system trusts (NODE_EXTRA_CA_CERTS) loads; an unknown one is refused", async () => {
      const certs = mkdtempSync(join(tmpdir(), "ferry-tls-"));
      // A self-signed certificate for 127.0.0.1; an HTTPS proxy in front of the server ends TLS with it.
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-keyout",
          join(certs, "key.pem"),
          "-out",
          join(certs, "cert.pem"),
        ],
        { stdio: "ignore" },
      );
      const tls = { key: readFileSync(join(certs, "key.pem")), cert: readFileSync(join(certs, "cert.pem")) };
      const proxy = await ClickHouseProxy.start(svc.url, { tls });
      const dataset = `ch_${randomBytes(4).toString("hex")}`;
      try {
        assert.match(proxy.url, /^clickhouses:\/\/.*@127\.0\.0\.1:\d+\//);
        // This process does not trust the certificate: the error says why, at once (not retried).
        await withPipeline(
          async (p) => {
            await assert.rejects(p.run([{ id: 1 }], { table: "t" }), /self[- ]signed certificate/i);
          },
          { destination: proxy.url },
        );
        // A process started with the certificate in NODE_EXTRA_CA_CERTS loads through TLS.
        const args = {
          start: 1,
          count: 500,
          mode: "append",
          tag: "tls",
          dir: join(certs, ".ferry"),
          db: "",
          destination: proxy.url,
          name: "tls",
          dataset,
        };
        // Spawned, not spawnSync: the proxy runs in this process and must keep answering.
        const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], {
          cwd: ROOT,
          env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certs, "cert.pem"), FERRY_LOG_LEVEL: "silent" },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d;
        });
        child.stderr.on("data", (d: Buffer) => {
          err += d;
        });
        const [code] = await once(child, "exit");
        assert.equal(code, 0, err);
        assert.match(out, /^DONE /m);
        const [row] = await withClickHouse(svc.url, (c) =>
          c.query(`SELECT count() AS n FROM \`${dataset}\`.items`),
        );
        assert.equal(row?.n, 500);
        assert.ok(
          proxy.statements.some((q) => q.startsWith(`INSERT INTO \`${dataset}\`.\`items\``)),
          "through the proxy",
        );
      } finally {
        await proxy.close();
        rmSync(certs, { recursive: true, force: true });
        await dropDatabases(svc.url, [dataset, clickhouseStagingDatabase(dataset)]);
      }
    });

    test("dataset(): $n parameters with hostile values, results typed, table() reads binary as bytes", () =>
      withPipeline(async (p) => {
        const hostile = "x'); DROP DATABASE default; --\\ \n\t\0";
        await p.run(
          [
            {
              id: 1,
              s: hostile,
              at: new Date("2024-02-29T23:59:59.000Z"),
              bin: Buffer.from([0, 0x5c, 0xff]),
              ok: false,
            },
            { id: 9007199254740993n, s: "other" },
          ],
          { table: "q" },
        );
        assert.deepEqual(await p.dataset().sql("select id, s from q where s = $1", [hostile]), [
          { id: 1, s: hostile },
        ]);
        assert.deepEqual(
          await p.dataset().sql("select id from q where at = $1", [new Date("2024-02-29T23:59:59Z")]),
          [{ id: 1 }],
        );
        assert.deepEqual(
          await p.dataset().sql("select count() as n from q where id > $1", [9007199254740992n]),
          [{ n: 1 }],
        );
        const [row] = await p.dataset().table("q", { orderBy: "id", limit: 1 });
        assert.deepEqual(row?.bin, Buffer.from([0, 0x5c, 0xff]));
        assert.equal(row?.ok, false);
        const [big] = await p.dataset().sql("select id from q where s = 'other'");
        assert.equal(big?.id, 9007199254740993n);
        await assert.rejects(p.dataset().sql("selec 1"), /Syntax error/);
      }));
  });
}
