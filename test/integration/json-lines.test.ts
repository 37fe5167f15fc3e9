import assert from "node:assert/strict";
import { once } from "node:events";
import { createWriteStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  DataError,
  ExtractError,
  jsonLines,
  jsonlFile,
  resource,
  source,
  transformer,
} from "../../src/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

const RECORDS = [
  {
    id: 1,
    name: "Ada",
    tags: ["a", "b"],
    address: { city: "Zürich", zip: "8001" },
    seen_at: "2024-01-02T03:04:05Z",
  },
  { id: 2, name: 'quote " and \\ backslash', tags: [], address: null, seen_at: "2024-01-03T00:00:00Z" },
  { id: 3, name: "\uE000b123 starts with ferry's marker character", tags: ["c"], score: 1.5 },
  {
    id: 4,
    name: "emoji 😀 and a\nnewline",
    orders: [
      { sku: "x", qty: 2 },
      { sku: "y", qty: 1 },
    ],
  },
];

/** Every table of the pipeline's dataset with its rows, system columns left out (ids differ between runs). */
async function tablesOf(p: ReturnType<typeof tempPipeline>["p"], tables: string[]) {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const rows = await p
      .dataset()
      .sql(
        `SELECT * EXCLUDE (_ferry_id${t === "people" ? ", _ferry_load_id" : ", _ferry_parent_id"}) FROM ${t} ORDER BY ALL`,
      );
    out[t] = rows;
  }
  return out;
}

describe("jsonLines: NDJSON yielded unparsed", () => {
  test("loads exactly what the same records yielded as objects load: same tables, types and values", async () => {
    const lines = RECORDS.map((r) => JSON.stringify(r));
    // CRLF line ends, a blank line, a missing final newline, split over two batches.
    const text1 = `${lines[0]}\r\n\r\n${lines[1]}\n`;
    const text2 = `${lines[2]}\n${lines[3]}`;
    const raw = tempPipeline("lines_raw", { dataset: "d" });
    const parsed = tempPipeline("lines_parsed", { dataset: "d" });
    try {
      const info = await raw.p.run(
        resource({ name: "people" }, function* () {
          yield jsonLines(text1);
          yield jsonLines(Buffer.from(text2));
        }),
      );
      assert.deepEqual(info.rows, { people: 4, people__tags: 3, people__orders: 2 });
      await parsed.p.run(resource({ name: "people" }, () => RECORDS));
      const tables = ["people", "people__tags", "people__orders"];
      assert.deepEqual(await tablesOf(raw.p, tables), await tablesOf(parsed.p, tables));
      const [ada] = await raw.p.dataset().sql("SELECT name, address__city, seen_at FROM people WHERE id = 1");
      assert.deepEqual(ada, {
        name: "Ada",
        address__city: "Zürich",
        seen_at: new Date("2024-01-02T03:04:05Z"),
      });
      const [marker] = await raw.p.dataset().sql("SELECT name FROM people WHERE id = 3");
      assert.deepEqual(marker, { name: "\uE000b123 starts with ferry's marker character" });
      assert.equal(raw.p.schema?.tables.people?.columns.seen_at?.type, "timestamp");
    } finally {
      raw.cleanup();
      parsed.cleanup();
    }
  });

  test("jsonlFile reads a file in whole lines: a BOM, lines across chunk borders, no final newline", async () => {
    const { p, dir, cleanup } = tempPipeline("lines_file", { dataset: "d" });
    try {
      const file = join(dir, "in.ndjson");
      const body = Array.from({ length: 500 }, (_, i) =>
        JSON.stringify({ id: i, pad: "x".repeat(i % 97) }),
      ).join("\n");
      writeFileSync(file, `\uFEFF${body}`);
      // 1 KB chunks: most lines straddle a chunk border.
      const info = await p.run(resource({ name: "things" }, () => jsonlFile(file, 1024)));
      assert.equal(info.rows.things, 500);
      const [agg] = await p
        .dataset()
        .sql("SELECT count(*)::INT AS n, sum(id)::INT AS s, sum(length(pad))::INT AS l FROM things");
      const padTotal = Array.from({ length: 500 }, (_, i) => i % 97).reduce((a, b) => a + b, 0);
      assert.deepEqual(agg, { n: 500, s: (499 * 500) / 2, l: padTotal });
    } finally {
      cleanup();
    }
  });

  test("a line that is not JSON fails the run naming the resource and the line; the next run loads fixed data", async () => {
    const { p, cleanup } = tempPipeline("lines_bad", { dataset: "d" });
    try {
      const bad = resource({ name: "events" }, function* () {
        yield jsonLines('{"id":1}\n{"id":2, oops}\n{"id":3}\n');
      });
      await assert.rejects(p.run(bad), (err: unknown) => {
        assert.ok(err instanceof DataError, String(err));
        assert.match(
          err.message,
          /resource "events" yielded a line that is not valid JSON \(record 2 of table "events"/,
        );
        assert.match(err.message, /the line: \{"id":2, oops\}/);
        return true;
      });
      assert.equal((await p.packages()).failed.length, 1);
      const info = await p.run(
        resource({ name: "events" }, function* () {
          yield jsonLines('{"id":1}\n{"id":2}\n{"id":3}\n');
        }),
      );
      assert.equal(info.rows.events, 3);
      assert.deepEqual(await p.dataset().sql("SELECT id FROM events ORDER BY id"), [
        { id: 1 },
        { id: 2 },
        { id: 3 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("resources that need each record at extract refuse jsonLines with the reason", async () => {
    const { p, cleanup } = tempPipeline("lines_blocked", { dataset: "d" });
    try {
      const incremental = resource(
        { name: "inc", incremental: { cursor: "id", initialValue: 0 } },
        function* () {
          yield jsonLines('{"id":1}\n');
        },
      );
      await assert.rejects(p.run(incremental), (err: unknown) => {
        assert.ok(err instanceof ExtractError);
        assert.equal(
          err.message,
          'resource "inc" yielded jsonLines(), which cannot go through an incremental cursor: that needs each record at extract',
        );
        return true;
      });
      const mapped = resource({ name: "mapped" }, function* () {
        yield jsonLines('{"id":1}\n');
      }).map((r) => r);
      await assert.rejects(p.run(mapped), /cannot go through map or filter steps/);
      const routed = resource({ name: "routed", table: () => "t" }, function* () {
        yield jsonLines('{"id":1}\n');
      });
      await assert.rejects(p.run(routed), /cannot go through a table function/);
    } finally {
      cleanup();
    }
  });

  test("a transformer fed by a jsonLines resource gets parsed records", async () => {
    const { p, cleanup } = tempPipeline("lines_tx", { dataset: "d" });
    try {
      const parents = resource({ name: "parents" }, function* () {
        yield jsonLines('{"id":1}\n{"id":2}\n');
      });
      const kids = transformer({ name: "kids", parent: parents }, function* (page) {
        for (const p of page as { id: number }[]) yield { parent: p.id, kid: p.id * 10 };
      });
      const info = await p.run(source({ name: "fam", resources: [parents, kids] }));
      assert.deepEqual(info.rows, { parents: 2, kids: 2 });
      assert.deepEqual(await p.dataset().sql("SELECT parent, kid FROM kids ORDER BY parent"), [
        { parent: 1, kid: 10 },
        { parent: 2, kid: 20 },
      ]);
    } finally {
      cleanup();
    }
  });

  test("a package of several extracted files normalizes on workers with every record once", async () => {
    const { p, dir, cleanup } = tempPipeline("lines_workers", { dataset: "d", normalizeWorkers: 2 });
    try {
      const file = join(dir, "big.ndjson");
      const out = createWriteStream(file);
      const n = 60_000;
      // About 40 MB: extracted files rotate at 16 MB, so the package has three of them.
      for (let i = 0; i < n; i++) {
        const rec = { id: i, blob: "y".repeat(600), kids: [{ k: i }, { k: -i }] };
        if (!out.write(`${JSON.stringify(rec)}\n`)) await once(out, "drain");
      }
      out.end();
      await once(out, "finish");
      const info = await p.run(resource({ name: "big" }, () => jsonlFile(file)));
      assert.deepEqual(info.rows, { big: n, big__kids: 2 * n });
      const [agg] = await p
        .dataset()
        .sql(
          "SELECT count(DISTINCT id)::INT AS ids, sum(id)::BIGINT AS s, (SELECT sum(k)::BIGINT FROM big__kids) AS k FROM big",
        );
      assert.deepEqual(agg, { ids: n, s: (n * (n - 1)) / 2, k: 0 });
    } finally {
      cleanup();
    }
  });
});
