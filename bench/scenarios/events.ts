/**
 * `events`: N GitHub-events-like records (0.5-1 KB each) as an NDJSON file: scalars, objects nested two levels, 0-5
 * commits each with a nested author, string labels, ISO timestamps, and fields whose type varies between records.
 * A resource reads the file line by line; ferry normalizes and loads it into DuckDB (root and child tables).
 * The floor: DuckDB's own `read_json_auto` of the same file into one table, timed in the same run; and the relational
 * floor: DuckDB alone writing ferry's three tables from the file by SQL (`events-relational-floor.ts`).
 */

import { once } from "node:events";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { jsonlFile, pipeline, resource, silentLogger } from "../../src/index.js";
import { resultOf } from "./duckdb-run.js";
import { keyCheckFloor, relationalFloor } from "./events-relational-floor.js";
import { rng } from "./rng.js";
import type { Scenario } from "./scenario.js";

const TYPES = ["PushEvent", "PullRequestEvent", "IssuesEvent", "WatchEvent", "ForkEvent"] as const;
const LABELS = ["bug", "enhancement", "docs", "good first issue", "perf", "security"] as const;

export async function writeEvents(path: string, n: number): Promise<number> {
  const next = rng(42);
  const out = createWriteStream(path);
  const base = Date.UTC(2024, 0, 1);
  let chunk = "";
  for (let i = 0; i < n; i++) {
    const r = next();
    const commits = Array.from({ length: Math.floor(next() * 6) }, (_, c) => ({
      sha: (i * 7919 + c).toString(16).padStart(40, "0"),
      message: `commit ${c} of event ${i}: fix the thing that broke`,
      author: { name: `dev${(i + c) % 977}`, email: `dev${(i + c) % 977}@example.com` },
      distinct: c % 2 === 0,
    }));
    const event = {
      id: String(30_000_000_000 + i),
      type: TYPES[i % TYPES.length],
      public: r > 0.1,
      created_at: new Date(base + i * 1000).toISOString(),
      actor: {
        id: 1000 + (i % 5000),
        login: `user${i % 5000}`,
        avatar_url: `https://avatars.example.com/u/${i % 5000}`,
      },
      repo: {
        id: 500 + (i % 300),
        name: `org${i % 40}/repo${i % 300}`,
        owner: { id: i % 40, type: r > 0.5 ? "Organization" : "User" },
      },
      payload: {
        push_id: 10_000_000 + i,
        size: commits.length,
        ref: "refs/heads/main",
        head: (i * 104729).toString(16),
        // Varies: a number for most records, a string for some, an object for a few.
        score: i % 50 === 0 ? "n/a" : i % 97 === 0 ? { raw: r } : Math.round(r * 1000) / 10,
        commits,
      },
      labels: LABELS.filter((_, k) => (i + k) % 3 === 0),
      org: i % 4 === 0 ? { id: i % 40, login: `org${i % 40}` } : null,
    };
    chunk += `${JSON.stringify(event)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
  return statSync(path).size;
}

/**
 * The events file as a resource. By default it yields the file's lines unparsed (`jsonlFile`: ferry parses each
 * record once, while normalizing); with `FERRY_BENCH_PARSED=1` it reads line by line with readline, parses and
 * yields pages of 1000 records, as a resource that must see each record (incremental, filters) does.
 */
export function eventsResource(file: string) {
  if (process.env.FERRY_BENCH_PARSED !== "1") return resource({ name: "events" }, () => jsonlFile(file));
  return resource({ name: "events", jsonItems: true }, async function* () {
    const rl = createInterface({
      input: createReadStream(file, { highWaterMark: 1 << 20 }),
      crlfDelay: Infinity,
    });
    let page: unknown[] = [];
    for await (const line of rl) {
      page.push(JSON.parse(line));
      if (page.length === 1000) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  });
}

/** The events file of a scenario's dir (written by `prepareEvents` in the prepare process). */
export const eventsFile = (dir: string): string => join(dir, "events.ndjson");

/** `prepare` of the scenarios reading the events file. */
export async function prepareEvents({ records, dir }: { records: number; dir: string }): Promise<void> {
  await writeEvents(eventsFile(dir), records);
}

export const events: Scenario = {
  name: "events",
  defaultRecords: 1_000_000,
  prepare: prepareEvents,
  async run({ records: n, dir, peakRssMb }) {
    const file = eventsFile(dir);
    const bytes = statSync(file).size;

    const p = pipeline({
      name: "bench_events",
      destination: `duckdb:${join(dir, "events.duckdb")}`,
      dir: join(dir, ".ferry"),
      logger: silentLogger,
    });
    const lines = eventsResource(file);
    const t0 = Date.now();
    const info = await p.run(lines);
    const ferryMs = Date.now() - t0;
    const ferryPeak = peakRssMb();

    // The floor, in the same run: DuckDB alone reading the same file into one table.
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(join(dir, "floor.duckdb"));
    const conn = await db.connect();
    const f0 = Date.now();
    await conn.run(`CREATE TABLE events AS SELECT * FROM read_json_auto('${file.replace(/'/g, "''")}')`);
    const floorMs = Date.now() - f0;
    conn.closeSync();
    db.closeSync();
    const relational = await relationalFloor(file, { database: join(dir, "relational-floor.duckdb") });
    const keyCheck = await keyCheckFloor(file);

    if (info.rows.events !== n) throw new Error(`expected ${n} events, got ${info.rows.events}`);
    return {
      ...resultOf(info, n, ferryMs, {
        floorMs,
        peakWithFloorRssMb: peakRssMb(),
        floorRecordsPerSec: Math.round(n / (floorMs / 1000)),
        timesFloor: Number((ferryMs / floorMs).toFixed(2)),
        relationalFloorMs: relational.ms,
        relationalFloorRecordsPerSec: Math.round(n / (relational.ms / 1000)),
        timesRelationalFloor: Number((ferryMs / relational.ms).toFixed(2)),
        keyCheckMs: keyCheck.ms,
        input: process.env.FERRY_BENCH_PARSED === "1" ? "parsed records" : "jsonlFile",
      }),
      bytes,
      peakRssMb: ferryPeak,
    };
  },
};
