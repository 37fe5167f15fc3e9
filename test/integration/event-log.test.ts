import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { CapturedEvent } from "../../src/events/event.js";
import type { LogEntry } from "../../src/events/log/event-log.js";
import { partitionOf } from "../../src/events/log/partitioner.js";
import { SegmentLog, type SegmentLogOptions } from "../../src/events/log/segment-log.js";
import { ConfigError } from "../../src/util/errors.js";
import { type Logger, silentLogger } from "../../src/util/log.js";

const root = mkdtempSync(join(tmpdir(), "ferry-log-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `log${n++}`);

function event(distinctId: string, i: number, extra: Record<string, unknown> = {}): CapturedEvent {
  return {
    uuid: randomUUID(),
    event: "$pageview",
    distinct_id: distinctId,
    token: "phc_test",
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    created_at: "2026-01-01T00:00:00.000Z",
    properties: { i, ...extra },
    set: null,
    set_once: null,
    elements_chain: null,
    ip: "127.0.0.1",
  };
}

async function readAll(log: SegmentLog, token?: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let positions = log.start();
  for (;;) {
    const { entries, next } = await log.read(positions, { max: 777, ...(token ? { token } : {}) });
    if (entries.length === 0) return out;
    out.push(...entries);
    for (const e of entries) assert.ok(e.next <= (next[e.partition] ?? 0), "next is past every entry read");
    positions = next;
  }
}

const open = (dir: string, opts: Partial<SegmentLogOptions> = {}) =>
  SegmentLog.open({ dir, log: silentLogger, ...opts });

describe("SegmentLog", () => {
  test("appends durably and reads each partition back in order; one person's events stay in one partition", async () => {
    const dir = freshDir();
    const log = await open(dir, { partitions: 3 });
    const events = Array.from({ length: 300 }, (_, i) => event(`u${i % 7}`, i));
    for (let i = 0; i < events.length; i += 25) await log.append(events.slice(i, i + 25));
    const read = await readAll(log);
    assert.equal(read.length, 300);
    assert.deepEqual(new Set(read.map((e) => e.event.uuid)), new Set(events.map((e) => e.uuid)));
    for (let u = 0; u < 7; u++) {
      const mine = read.filter((e) => e.event.distinct_id === `u${u}`);
      assert.equal(new Set(mine.map((e) => e.partition)).size, 1, `u${u} in one partition`);
      assert.equal(mine[0]?.partition, partitionOf("phc_test", `u${u}`, 3));
      const order = mine.map((e) => e.event.properties.i as number);
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `u${u} in capture order`,
      );
    }
    assert.deepEqual(
      read[0]?.event,
      events.find((e) => e.uuid === read[0]?.event.uuid),
    );
    const end = log.end();
    assert.equal(
      Object.values(end).reduce((a, b) => a + b, 0),
      300,
    );
    await log.close();
  });

  test("reads and counts one project's events without decoding the others'", async () => {
    const log = await open(freshDir(), { partitions: 2 });
    const mine = Array.from({ length: 30 }, (_, i) => ({ ...event(`m${i % 4}`, i), token: "phc_mine" }));
    const theirs = Array.from({ length: 45 }, (_, i) => ({ ...event(`t${i % 4}`, i), token: "phc_theirs" }));
    for (let i = 0; i < 15; i++)
      await log.append([...mine.slice(i * 2, i * 2 + 2), ...theirs.slice(i * 3, i * 3 + 3)]);
    const read = await readAll(log, "phc_mine");
    assert.deepEqual(new Set(read.map((e) => e.event.uuid)), new Set(mine.map((e) => e.uuid)));
    assert.ok(read.every((e) => e.event.token === "phc_mine"));
    const counts = await log.tokens(log.start(), log.end());
    assert.deepEqual(Object.fromEntries(counts), { phc_mine: 30, phc_theirs: 45 });
    // A page of at most 7 entries of one token, and `next` says where to go on.
    const page = await log.read(log.start(), { max: 7, token: "phc_theirs" });
    assert.ok(page.entries.length <= 7 && page.entries.length > 0);
    await log.close();
  });

  test("concurrent appends share fsyncs and each event is stored once", async () => {
    const log = await open(freshDir(), { partitions: 2 });
    const batches = Array.from({ length: 200 }, (_, k) =>
      Array.from({ length: 10 }, (_, i) => event(`d${k}`, i)),
    );
    const results = await Promise.all(batches.map((b) => log.append(b)));
    assert.ok(results.every((r) => r.appended === 10 && r.duplicates === 0));
    const read = await readAll(log);
    assert.equal(read.length, 2000);
    assert.equal(new Set(read.map((e) => e.event.uuid)).size, 2000);
    await log.close();
  });

  test("a retried request is not appended twice, also after a restart; the window is bounded", async () => {
    const dir = freshDir();
    // One partition: the window is shared evenly by the partitions (a retry goes to its original's partition).
    let log = await open(dir, { dedupWindow: 100, partitions: 1 });
    const first = Array.from({ length: 50 }, (_, i) => event("x", i));
    assert.deepEqual(await log.append(first), { appended: 50, duplicates: 0 });
    const retry = [...first.slice(0, 10), event("x", 99)];
    assert.deepEqual(await log.append(retry), { appended: 1, duplicates: 10 });
    await log.close();
    log = await open(dir, { dedupWindow: 100, partitions: 1 });
    assert.deepEqual(await log.append(first.slice(40)), { appended: 0, duplicates: 10 }, "rebuilt from disk");
    // 200 newer events push the first ones out of a 100-event window: they count as new again.
    for (let i = 0; i < 4; i++) await log.append(Array.from({ length: 50 }, (_, j) => event("y", j)));
    assert.deepEqual(await log.append(first.slice(0, 5)), { appended: 5, duplicates: 0 });
    assert.equal((await readAll(log)).length, 50 + 1 + 200 + 5);
    await log.close();
  });

  test("a torn tail (a write a crash cut short) is cut when the log opens; earlier records stay", async () => {
    const dir = freshDir();
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
    let log = await open(dir, { partitions: 1 });
    const events = Array.from({ length: 20 }, (_, i) => event("t", i));
    await log.append(events);
    await log.close();
    const seg = join(dir, "p0", readdirSync(join(dir, "p0"))[0] as string);
    const intact = statSync(seg).size;
    // Half a record: a length that runs past the end of the file.
    const header = Buffer.alloc(8);
    header.writeUInt32LE(500, 0);
    appendFileSync(seg, Buffer.concat([header, Buffer.from('{"uuid":"x')]));
    log = await SegmentLog.open({ dir, log: logger, partitions: 1 });
    assert.equal(statSync(seg).size, intact);
    assert.match(warnings.join("\n"), /cut a torn tail of 18 bytes/);
    assert.deepEqual(
      (await readAll(log)).map((e) => e.event.uuid),
      events.map((e) => e.uuid),
    );
    // Zeros (a file extended but never written) and a bad checksum are torn tails too.
    await log.append([event("t", 20)]);
    await log.close();
    appendFileSync(seg, Buffer.alloc(64));
    log = await open(dir, { partitions: 1 });
    assert.equal((await readAll(log)).length, 21);
    await log.close();
    const size = statSync(seg).size;
    const bad = Buffer.alloc(12);
    bad.writeUInt32LE(4, 0);
    bad.writeUInt32LE(12345, 4);
    bad.write("{}{}", 8);
    appendFileSync(seg, bad);
    log = await open(dir, { partitions: 1 });
    assert.equal(statSync(seg).size, size);
    await log.append([event("t", 21)]);
    assert.equal((await readAll(log)).length, 22);
    await log.close();
  });

  test("segments roll at their size; reads cross segment boundaries from any offset", async () => {
    const dir = freshDir();
    const log = await open(dir, { partitions: 1, segmentBytes: 64 * 1024 });
    const events = Array.from({ length: 3000 }, (_, i) => event("s", i, { pad: "x".repeat(100) }));
    for (let i = 0; i < events.length; i += 100) await log.append(events.slice(i, i + 100));
    const segments = readdirSync(join(dir, "p0")).filter((f) => f.endsWith(".seg"));
    assert.ok(segments.length >= 5, `${segments.length} segments`);
    const from = (await log.read({ 0: 2345 }, { max: 10 })).entries;
    assert.deepEqual(
      from.map((e) => e.event.properties.i),
      Array.from({ length: 10 }, (_, k) => 2345 + k),
    );
    assert.deepEqual(
      from.map((e) => e.offset),
      Array.from({ length: 10 }, (_, k) => 2345 + k),
    );
    const bounded = await log.read({ 0: 2990 }, { max: 100, until: { 0: 2995 } });
    assert.deepEqual(
      bounded.entries.map((e) => e.offset),
      [2990, 2991, 2992, 2993, 2994],
    );
    assert.deepEqual(bounded.next, { 0: 2995 });
    assert.equal((await readAll(log)).length, 3000);
    await log.close();
    // After a restart, older segments are indexed when first read.
    const again = await open(dir, { partitions: 1, segmentBytes: 64 * 1024 });
    assert.equal((await again.read({ 0: 1500 }, { max: 1 })).entries[0]?.event.properties.i, 1500);
    await again.close();
  });

  test("released segments are deleted after the retention, but the dedup window's segments stay", async () => {
    const dir = freshDir();
    const log = await open(dir, { partitions: 1, segmentBytes: 16 * 1024, retentionMs: 0, dedupWindow: 300 });
    for (let i = 0; i < 20; i++)
      await log.append(Array.from({ length: 100 }, (_, j) => event("r", i * 100 + j)));
    const before = readdirSync(join(dir, "p0")).filter((f) => f.endsWith(".seg")).length;
    await log.release({ 0: 1000 });
    const start = log.start()[0] as number;
    assert.ok(start > 0 && start <= 1000, `start ${start}`);
    const after1 = readdirSync(join(dir, "p0")).filter((f) => f.endsWith(".seg")).length;
    assert.ok(after1 < before);
    await log.release({ 0: 2000 });
    // Everything is released, yet at least the newest 300 events are still on disk.
    const remaining = await readAll(log);
    assert.ok(remaining.length >= 300 && remaining.length < 2000, `${remaining.length} left`);
    assert.equal(remaining.at(-1)?.event.properties.i, 1999);
    await log.close();
  });

  test("the partition count is fixed when the log is made", async () => {
    const dir = freshDir();
    await (await open(dir, { partitions: 4 })).close();
    await assert.rejects(open(dir, { partitions: 2 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /has 4 partitions; 2 were asked for/);
      return true;
    });
  });

  test("a closed log refuses appends with LogUnavailableError", async () => {
    const log = await open(freshDir());
    await log.close();
    await assert.rejects(log.append([event("c", 1)]), { name: "Error", code: "log_unavailable" });
  });
});
