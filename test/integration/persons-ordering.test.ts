// Order per distinct_id end to end (issue 17: "a later $set always wins over an earlier one"): many clients send
// interleaved `$set`s of the same person at once; each event must carry the person as of itself with every event
// before it in capture order applied (the order of the event log, read back here), and the person ends with the
// values of the last event captured.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { SegmentLog } from "../../src/events/log/segment-log.js";
import { personUuid } from "../../src/events/persons/person-uuid.js";
import {
  destinationPersons,
  eventPersons,
  memoryLogger,
  send,
  startPersonsServe,
  type TestEvent,
  waitForLoaded,
} from "../helpers/persons.js";

const TOKEN = "phc_order";
const CLIENTS = 12;
const EACH = 25;

test("concurrent clients setting the same person: each event sees all earlier ones, the last captured wins", async () => {
  const s = await startPersonsServe({ batch_interval: "50ms", projects: [{ token: TOKEN, dataset: "web" }] });
  try {
    // Each client sends its events one request at a time (a client's own order is its capture order); the clients
    // run at once, so their events interleave in the log.
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let j = 0; j < EACH; j++) {
          const e: TestEvent = {
            event: "$set",
            distinct_id: "shared",
            uuid: randomUUID(),
            timestamp: new Date().toISOString(),
            properties: { $set: { [`c${c}`]: j, last: `${c}:${j}` }, client: c, j },
          };
          await send(s.url, TOKEN, [e]);
        }
      }),
    );
    await waitForLoaded(s, CLIENTS * EACH);
    await s.stop();

    // Capture order: the log's order of the person's partition.
    const log = await SegmentLog.open({ dir: join(s.ferryDir, "_serve", "log"), log: memoryLogger() });
    const order: TestEvent[] = [];
    try {
      let at = log.start();
      for (;;) {
        const { entries, next } = await log.read(at, { max: 1000 });
        if (entries.length === 0) break;
        for (const e of entries) order.push(e.event as unknown as TestEvent);
        at = next;
      }
    } finally {
      await log.close();
    }
    assert.equal(order.length, CLIENTS * EACH);

    const rows = new Map((await eventPersons(s.dbPath, "web")).map((r) => [r.uuid, r]));
    const state: Record<string, unknown> = {};
    let interleaved = 0;
    let previous = -1;
    for (const e of order) {
      const { client, j } = e.properties as { client: number; j: number };
      if (client !== previous) interleaved++;
      previous = client;
      Object.assign(state, { [`c${client}`]: j, last: `${client}:${j}` });
      const row = rows.get(e.uuid);
      const { $creator_event_uuid: _, ...pp } = row?.person_properties ?? {};
      assert.deepEqual(pp, state, `event ${client}:${j} carries every $set captured before it, and its own`);
      assert.equal(row?.person_id, personUuid(TOKEN, "shared"));
    }
    assert.ok(interleaved > CLIENTS, `the clients' events interleave in the log (${interleaved} runs)`);

    const { persons } = await destinationPersons(s.dbPath, "web");
    assert.equal(persons.length, 1);
    const { $creator_event_uuid: _, ...props } = persons[0]?.properties ?? {};
    const lastCaptured = order.at(-1)?.properties as { client: number; j: number };
    assert.equal(props.last, `${lastCaptured.client}:${lastCaptured.j}`, "the last event captured wins");
    assert.deepEqual(props, state);
    assert.equal(persons[0]?.version, CLIENTS * EACH - 1, "one version per change");
  } finally {
    await s.cleanup();
  }
});
