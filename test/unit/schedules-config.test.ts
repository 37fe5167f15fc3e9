import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseJobsConfig } from "../../src/orchestration/jobs-config.js";
import { planSchedule } from "../../src/orchestration/plan.js";
import {
  describeSchedule,
  jitterFor,
  latestSlotBetween,
  nextSlot,
  parseSchedule,
} from "../../src/orchestration/schedule.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe("schedules", () => {
  test("every: slots at whole multiples since the epoch; the next is strictly after", () => {
    const s = parseSchedule({ every: "6h" }, "schedule");
    assert.deepEqual(s, { everyMs: 21_600_000, timezone: "UTC", jitterMs: 0 });
    assert.equal(iso(nextSlot(s, at("2026-01-05T10:20:00Z"))), "2026-01-05T12:00:00.000Z");
    assert.equal(iso(nextSlot(s, at("2026-01-05T12:00:00Z"))), "2026-01-05T18:00:00.000Z");
    assert.equal(
      iso(latestSlotBetween(s, at("2026-01-05T00:00:01Z"), at("2026-01-05T13:00:00Z"))),
      "2026-01-05T12:00:00.000Z",
    );
    assert.equal(latestSlotBetween(s, at("2026-01-05T12:00:01Z"), at("2026-01-05T13:00:00Z")), undefined);
  });

  test("cron in a time zone, across a daylight saving change", () => {
    const s = parseSchedule({ cron: "0 3 * * *", timezone: "Europe/Berlin" }, "schedule");
    assert.equal(iso(nextSlot(s, at("2026-03-28T12:00:00Z"))), "2026-03-29T01:00:00.000Z"); // CEST starts that night
    assert.equal(iso(nextSlot(s, at("2026-01-05T12:00:00Z"))), "2026-01-06T02:00:00.000Z"); // CET
    assert.equal(
      iso(latestSlotBetween(s, at("2026-01-01T00:00:00Z"), at("2026-01-05T12:00:00Z"))),
      "2026-01-05T02:00:00.000Z",
    );
    assert.equal(describeSchedule(s), 'cron "0 3 * * *" Europe/Berlin');
    assert.equal(
      describeSchedule(parseSchedule({ every: "90m", jitter: "5m" }, "s")),
      "every 1h30m (jitter 5m)",
    );
  });

  test("jitter: deterministic per pipeline and slot, within [0, jitter)", () => {
    const values = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const j = jitterFor(`p${i}`, 1_700_000_000_000, 300_000);
      assert.ok(j >= 0 && j < 300_000);
      values.add(j);
    }
    assert.ok(values.size > 150, "pipelines spread out");
    assert.equal(jitterFor("crm", 1, 300_000), jitterFor("crm", 1, 300_000));
    assert.equal(jitterFor("crm", 1, 0), 0);
  });

  test("bad schedules are refused with the place named", () => {
    const bad: [unknown, RegExp][] = [
      [{}, /exactly one of every .* or cron/],
      [{ every: "6h", cron: "* * * * *" }, /exactly one of/],
      [{ every: "6 hours" }, /schedule\.every must be a duration/],
      [{ every: "500ms" }, /at least 1s/],
      [{ every: "1h", jitter: "2h" }, /jitter must be shorter than every/],
      [{ every: "1h", timezone: "UTC" }, /timezone applies to cron schedules only/],
      [{ cron: "0 3 * *" }, /must have 5 fields/],
      [{ cron: "0 25 * * *" }, /is not a cron expression/],
      [{ cron: "0 3 * * *", timezone: "Mars/Olympus" }, /is not a time zone/],
      [{ every: "1h", at: "3am" }, /schedule\.at is not a setting ferry knows/],
      ["6h", /must be a mapping/],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseSchedule(raw, "schedule"), re, JSON.stringify(raw));
  });

  test("plan: a new schedule runs at once; missed slots make one catch-up run; a jittered slot still waits", () => {
    const job = parseJobsConfig(
      { pipelines: [{ name: "p", spec: "/s.yaml", schedule: { every: "1h" } }] },
      "/",
    ).pipelines[0];
    assert.ok(job);
    const now = at("2026-01-05T15:30:00Z");
    const fresh = planSchedule(job, undefined, now);
    assert.equal(fresh.catchUp?.slot, now);
    assert.equal(iso(fresh.next?.at), "2026-01-05T16:00:00.000Z");
    const down = planSchedule(job, at("2026-01-05T10:00:00Z"), now);
    assert.deepEqual(
      [down.catchUp?.trigger, iso(down.catchUp?.slot)],
      ["catch-up", "2026-01-05T15:00:00.000Z"],
    );
    const upToDate = planSchedule(job, at("2026-01-05T15:00:00Z"), now);
    assert.equal(upToDate.catchUp, undefined);
    const jittered = parseJobsConfig(
      { pipelines: [{ name: "q", spec: "/s.yaml", schedule: { every: "1h", jitter: "59m" } }] },
      "/",
    ).pipelines[0];
    assert.ok(jittered);
    const slot = at("2026-01-05T15:00:00Z");
    const j = jitterFor("q", slot, 59 * 60_000);
    const before = planSchedule(jittered, at("2026-01-05T14:00:00Z"), slot + j - 1);
    assert.equal(before.catchUp, undefined, "the 15:00 slot has not fired yet: not missed");
    assert.equal(before.next?.at, slot + j);
  });
});

describe("the project file's pipelines:, alerts: and scheduler:", () => {
  test("reads pipelines with their defaults; relative paths from the project file's folder", () => {
    const c = parseJobsConfig(
      {
        serve: { port: 1 },
        pipelines: [
          {
            name: "crm",
            spec: "./pipelines/crm.yaml",
            schedule: { every: "6h" },
            retries: { attempts: 5, backoff: "30s" },
            timeout: "4h",
          },
          {
            name: "shop",
            module: "/abs/shop.ts",
            schedule: { cron: "0 */6 * * *", timezone: "UTC", jitter: "5m" },
            dataset: "s",
          },
          { name: "adhoc", spec: "x.json" },
        ],
        alerts: { webhook: "https://hooks.example.com/ferry" },
        scheduler: { concurrency: 8, history: 50 },
      },
      "/srv/app",
    );
    assert.deepEqual(c.pipelines[0], {
      name: "crm",
      spec: "/srv/app/pipelines/crm.yaml",
      schedule: { everyMs: 21_600_000, timezone: "UTC", jitterMs: 0 },
      retries: { attempts: 5, backoffMs: 30_000 },
      timeoutMs: 14_400_000,
    });
    assert.equal(c.pipelines[1]?.module, "/abs/shop.ts");
    assert.deepEqual(c.pipelines[1]?.schedule, { cron: "0 */6 * * *", timezone: "UTC", jitterMs: 300_000 });
    assert.deepEqual(c.pipelines[2]?.retries, { attempts: 3, backoffMs: 30_000 });
    assert.equal(c.pipelines[2]?.schedule, undefined);
    assert.deepEqual(c.alerts, { webhook: "https://hooks.example.com/ferry" });
    assert.equal(c.concurrency, 8);
    assert.equal(c.keepRuns, 50);
    assert.deepEqual(parseJobsConfig({}, "/").pipelines, []);
  });

  test("refuses what it does not understand, naming the place", () => {
    const bad: [unknown, RegExp][] = [
      [{ pipelines: { crm: {} } }, /pipelines must be a list/],
      [{ pipelines: [{ name: "a b", spec: "x" }] }, /not a valid pipeline name/],
      [{ pipelines: [{ name: "a" }] }, /exactly one of spec .* or module/],
      [{ pipelines: [{ name: "a", spec: "x", module: "y" }] }, /exactly one of spec/],
      [
        { pipelines: [{ name: "a", spec: "x", every: "1h" }] },
        /pipelines\[0\]\.every is not a setting ferry knows/,
      ],
      [
        { pipelines: [{ name: "a", spec: "x", retries: { attempts: 0 } }] },
        /retries\.attempts must be a whole number 1\.\.100/,
      ],
      [{ pipelines: [{ name: "a", spec: "x", retries: { tries: 2 } }] }, /retries\.tries is not a setting/],
      [{ pipelines: [{ name: "a", spec: "x", timeout: "0s" }] }, /timeout must be longer than 0/],
      [
        {
          pipelines: [
            { name: "a", spec: "x" },
            { name: "a", spec: "y" },
          ],
        },
        /two pipelines are named "a"/,
      ],
      [{ alerts: { webhook: "not a url" } }, /alerts\.webhook is not a URL/],
      [{ alerts: { webhook: "ftp://x/y" } }, /must be an http\(s\) URL/],
      [{ alerts: { email: "x@y" } }, /alerts\.email is not a setting/],
      [{ scheduler: { concurrency: 0 } }, /scheduler\.concurrency must be a whole number/],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseJobsConfig(raw, "/"), re, JSON.stringify(raw));
  });
});
