// The embedded person store's edges: one server per SQLite file; `serve.persons: false` turns persons off.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SqlitePersonStore } from "../../src/events/persons/sqlite/sqlite-person-store.js";
import { queryDuckDb, send, startPersonsServe, storePath, waitForLoaded } from "../helpers/persons.js";

test("a SQLite person store is held by one server: a second one is refused with what to do", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-person-store-"));
  const path = join(dir, "persons", "web.sqlite");
  const first = SqlitePersonStore.open(path);
  try {
    assert.throws(
      () => SqlitePersonStore.open(path),
      (err: Error & { hint?: string }) => {
        assert.match(err.message, /the person store .*web\.sqlite is in use by another process/);
        assert.match(err.hint ?? "", /--dir of its own/);
        return true;
      },
    );
  } finally {
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("serve.persons: false stores events without persons and makes no person tables or store", async () => {
  const s = await startPersonsServe({
    persons: false,
    batch_interval: "50ms",
    projects: [{ token: "phc_off", dataset: "web" }],
  });
  try {
    await send(s.url, "phc_off", [
      {
        event: "$identify",
        distinct_id: "u",
        uuid: randomUUID(),
        timestamp: new Date().toISOString(),
        properties: { $anon_distinct_id: "a", $set: { x: 1 } },
      },
    ]);
    await waitForLoaded(s, 1);
    await s.stop();
    const rows = await queryDuckDb(s.dbPath, "SELECT person_id, person_properties FROM web.events");
    assert.deepEqual(rows, [{ person_id: null, person_properties: null }]);
    const tables = await queryDuckDb<{ t: string }>(
      s.dbPath,
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'web' AND table_name NOT LIKE '\\_ferry%' ESCAPE '\\' ORDER BY 1",
    );
    assert.deepEqual(
      tables.map((t) => t.t),
      ["events"],
    );
    assert.equal(existsSync(storePath(s.ferryDir, "web")), false);
  } finally {
    await s.cleanup();
  }
});
