/**
 * `serve.batch_events`, `serve.batch_interval` and `serve.catch_up_events` from ferry.yaml: their defaults, values
 * and the message a wrong value gets.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveServeConfig } from "../../src/events/serve-config.js";
import { ConfigError } from "../../src/util/errors.js";

const project = { projects: [{ token: "phc_x" }] };

test("micro-batch settings default to 10,000 events, 500 ms and 30,000 events when behind", () => {
  const c = resolveServeConfig({ serve: project }, {}, ".ferry");
  assert.deepEqual([c.batchEvents, c.batchIntervalMs, c.catchUpEvents], [10_000, 500, 30_000]);
});

test("micro-batch settings come from ferry.yaml", () => {
  const c = resolveServeConfig(
    { serve: { ...project, batch_events: 2000, batch_interval: "2s", catch_up_events: 20000 } },
    {},
    ".ferry",
  );
  assert.deepEqual([c.batchEvents, c.batchIntervalMs, c.catchUpEvents], [2000, 2000, 20_000]);
});

test("a catch_up_events that is not a whole number is named with the range it takes", () => {
  for (const bad of ["lots", 0, 2.5]) {
    assert.throws(
      () => resolveServeConfig({ serve: { ...project, catch_up_events: bad } }, {}, ".ferry"),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `serve.catch_up_events must be a whole number 1..10000000, not ${JSON.stringify(bad)}`,
    );
  }
});
