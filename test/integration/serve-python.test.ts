/**
 * `ferry serve` end to end with the real posthog-python client (PyPI, pinned, in the venv that
 * `scripts/services.sh up python` makes): a Python process sends with `host=` the server's URL, and every event lands
 * in DuckDB's `events` table with the fields the client sent. Skipped when FERRY_TEST_PYTHON is not set up; a
 * failure under CI=true.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { assertEventRow, sentEvents, startTempServe, waitForLoaded } from "../helpers/serve.js";
import { POSTHOG_PYTHON_VERSION, posthogPython, sendWithPython } from "../helpers/serve-python.js";
import { duckdbEvents } from "../helpers/serve-tables.js";

const TOKEN = "phc_ferry_e2e_python";
const py = posthogPython();

describe("ferry serve with posthog-python", { skip: py.skip }, () => {
  test("capture with properties, set, set_once, group_identify and alias arrive with the fields the client sent", async () => {
    const s = await startTempServe({ projects: [{ token: TOKEN, dataset: "py" }] });
    try {
      const fixed = randomUUID();
      const start = Date.now();
      const run = await sendWithPython(
        py.python,
        s.url,
        TOKEN,
        [
          `client.capture("signed_up", distinct_id="py-user", properties={"plan": "pro", "seats": 3, "ratio": 0.5, "tags": ["a", "b"], "nested": {"ok": True, "none": None}, "name": "Zoë"})`,
          `client.capture("imported", distinct_id="py-user", properties={"source": "csv"}, timestamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc), uuid="${fixed}")`,
          `client.set(distinct_id="py-user", properties={"name": "Ada"})`,
          `client.set_once(distinct_id="py-user", properties={"first_seen": "2026-01-01"})`,
          `client.group_identify("company", "acme", {"name": "Acme", "employees": 12}, distinct_id="py-user")`,
          `client.alias("anon-7", "py-user")`,
        ].join("\n"),
      );
      const end = Date.now();

      assert.deepEqual(run.errors, [], "every request was answered 200 (the client does not retry)");
      assert.ok(run.requests.length >= 1);
      for (const r of run.requests) {
        assert.equal(r.url, `${s.url}/batch/`);
        // The pinned client sends sent_at (older posthog-python sent Segment's camelCase sentAt; ferry reads both).
        assert.match(String(r.body.sent_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      }
      const sent = sentEvents(run.requests);
      assert.deepEqual(
        sent.map((e) => e.event),
        ["signed_up", "imported", "$set", "$set_once", "$groupidentify", "$create_alias"],
      );

      await waitForLoaded(s, 6);
      const rows = await duckdbEvents(s.dbPath, "py");
      assert.equal(rows.length, 6);
      const byUuid = new Map(rows.map((r) => [r.uuid, r]));
      for (const e of sent) assertEventRow(byUuid.get(e.uuid), e, [start, end]);

      // Beyond these the client adds its host's details ($os, $python_version, ...): compared as sent above.
      const signedUp = rows.find((r) => r.event === "signed_up");
      const keys = [
        "plan",
        "seats",
        "ratio",
        "tags",
        "nested",
        "name",
        "$lib",
        "$lib_version",
        "$geoip_disable",
        "$is_server",
      ];
      assert.deepEqual(Object.fromEntries(keys.map((k) => [k, signedUp?.properties[k]])), {
        plan: "pro",
        seats: 3,
        ratio: 0.5,
        tags: ["a", "b"],
        nested: { ok: true, none: null },
        name: "Zoë",
        $lib: "posthog-python",
        $lib_version: POSTHOG_PYTHON_VERSION,
        $geoip_disable: true,
        $is_server: true,
      });
      // Python's microseconds are cut to milliseconds, then moved by the skew between sent_at and receipt.
      const imported = byUuid.get(fixed);
      const skew = Date.parse(imported?.timestamp ?? "") - Date.parse("2026-01-02T03:04:05.678Z");
      assert.ok(skew >= 0 && skew <= end - start, `timestamp kept within the request's transit (${skew} ms)`);
      // set/set_once from their top-level $set/$set_once (posthog-python does not put them in properties).
      const set = rows.find((r) => r.event === "$set");
      assert.deepEqual([set?.distinct_id, set?.set, set?.set_once], ["py-user", { name: "Ada" }, null]);
      const setOnce = rows.find((r) => r.event === "$set_once");
      assert.deepEqual([setOnce?.set, setOnce?.set_once], [null, { first_seen: "2026-01-01" }]);
      const group = rows.find((r) => r.event === "$groupidentify");
      assert.equal(group?.distinct_id, "py-user");
      assert.deepEqual(
        [group?.properties.$group_type, group?.properties.$group_key, group?.properties.$group_set],
        ["company", "acme", { name: "Acme", employees: 12 }],
      );
      // alias(previous_id, distinct_id): posthog-python sends the previous id as the event's distinct_id.
      const alias = rows.find((r) => r.event === "$create_alias");
      assert.deepEqual([alias?.distinct_id, alias?.properties.alias], ["anon-7", "py-user"]);
    } finally {
      await s.cleanup();
    }
  });
});
