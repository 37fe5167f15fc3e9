// Pipelines on Temporal's real dev server (scripts/services.sh up temporal): 50 pipelines (a local REST API into 25
// DuckDB files and 25 Postgres schemas) scheduled by `ferry schedules sync` and run by one `ferry worker`, which is
// killed -9 in the middle of a load; a second worker, with a working dir of its own (the working state travels
// through object storage: MinIO), finishes: every run completes and every row is there exactly once. A pipeline
// whose API answers 401 has its schedule paused, and the alert webhook (a real local receiver) hears of it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, Connection } from "@temporalio/client";
import pg from "pg";
import { FakeApi } from "../../src/testing/index.js";
import { uniqueId } from "../../src/util/hash.js";
import { dropSchemas } from "../helpers/backends.js";
import { ferryAsync } from "../helpers/cli.js";
import { FerryProcess } from "../helpers/ferry-process.js";
import { itemStats, webhookReceiver } from "../helpers/schedules.js";
import { waitFor } from "../helpers/serve.js";
import { service } from "../helpers/services.js";

const temporal = await service("temporal");
const postgres = await service("postgres");
const s3 = await service("s3");
const skip = temporal.skip || postgres.skip || s3.skip;
const N = 50;
const ITEMS = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, tags: ["a", "b"] }));

describe("pipelines on Temporal: one worker, 50 pipelines, a worker killed -9 during a load", {
  skip,
}, () => {
  const tag = `t${uniqueId(6).toLowerCase()}`;
  const queue = `ferry-test-${tag}`;
  const namespace = temporal.env.FERRY_TEST_TEMPORAL_NAMESPACE ?? "ferry-test";
  const dir = mkdtempSync(join(tmpdir(), "ferry-temporal-"));
  const names = Array.from({ length: N }, (_, i) => `${tag}_p${String(i).padStart(2, "0")}`);
  const onPostgres = (i: number) => i % 2 === 1;
  const schemaOf = (name: string) => `ds_${name}`;
  let api: FakeApi;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let client: Client;
  const workers: FerryProcess[] = [];
  const t = ["--temporal", temporal.url, "--namespace", namespace, "--task-queue", queue];

  before(async () => {
    api = await FakeApi.start([
      { path: "/items", handler: () => ({ json: ITEMS }) },
      { path: "/denied", handler: () => ({ status: 401, json: { error: "token revoked" } }) },
    ]);
    hook = await webhookReceiver();
    const spec = (path: string) => `pipeline: { name: x, destination: duckdb, dataset: api }
source:
  type: rest_api
  client: { base_url: "${api.url}", max_attempts: 1 }
  resources:
    - name: items
      endpoint: { path: ${path}, paginator: single_page }
      primary_key: id
      write_disposition: append
`;
    writeFileSync(join(dir, "items.yaml"), spec("items"));
    writeFileSync(join(dir, "denied.yaml"), spec("denied"));
    // Once a year (and at once when created): each pipeline runs exactly once during the test.
    const schedule = `{ cron: "0 0 1 1 *", timezone: UTC, jitter: 1m }`;
    const lines = names.map((n, i) =>
      onPostgres(i)
        ? `  - { name: ${n}, spec: ./items.yaml, destination: "${postgres.url}", dataset: ${schemaOf(n)}, schedule: ${schedule}, retries: { attempts: 3, backoff: 1s } }`
        : `  - { name: ${n}, spec: ./items.yaml, destination: "duckdb:${join(dir, `${n}.duckdb`)}", schedule: ${schedule}, retries: { attempts: 3, backoff: 1s } }`,
    );
    lines.push(
      `  - { name: ${tag}_denied, spec: ./denied.yaml, destination: "duckdb:${join(dir, "denied.duckdb")}", schedule: ${schedule} }`,
    );
    writeFileSync(
      join(dir, "ferry.yaml"),
      `pipelines:\n${lines.join("\n")}\nalerts: { webhook: "${hook.url}" }\n`,
    );
    writeFileSync(join(dir, "none.yaml"), "pipelines: []\n");
    client = new Client({ connection: await Connection.connect({ address: temporal.url }), namespace });
  });

  after(async () => {
    for (const w of workers) await w.kill9();
    // The schedules of this test's task queue go away with an empty project file.
    await ferryAsync(["schedules", "sync", ...t, "--config", "none.yaml"], dir);
    await client?.connection.close();
    await api?.close();
    await hook?.close();
    if (!postgres.skip) await dropSchemas(postgres.url, names.filter((_, i) => onPostgres(i)).map(schemaOf));
    rmSync(dir, { recursive: true, force: true });
  });

  const workerEnv = { ...s3.env };
  const stateStore = `${s3.url}/temporal-test/${tag}`;

  test("every run completes after the kill, every row exactly once; the 401 pipeline's schedule is paused", async () => {
    // Worker 1 stops for good inside its 6th load (rows inserted, transaction open) and is killed there.
    const w1 = new FerryProcess(
      ["worker", ...t, "--dir", "w1", "--state-store", stateStore, "--max-activities", "4"],
      dir,
      workerEnv,
      { point: "load-inserted", skip: 5 },
    );
    workers.push(w1);
    await w1.waitFor(/worker ready/);
    const sync = await ferryAsync(["schedules", "sync", ...t, "--heartbeat-timeout", "3s", "--json"], dir);
    assert.equal(sync.status, 0, sync.stderr);
    const synced = JSON.parse(sync.stdout) as { created: string[] };
    assert.equal(synced.created.length, N + 1);

    await w1.waitFor(/PAUSED load-inserted/, 300_000);
    await w1.kill9();

    // Worker 2 has a working dir of its own: what it resumes comes from the object store.
    const w2 = new FerryProcess(
      ["worker", ...t, "--dir", "w2", "--state-store", stateStore, "--max-activities", "4"],
      dir,
      workerEnv,
    );
    workers.push(w2);
    await w2.waitFor(/worker ready/);

    const runs = async () => {
      const out: { id: string; status: string }[] = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = '${queue}'` }))
        out.push({ id: w.workflowId, status: w.status.name });
      return out;
    };
    const done = await waitFor(
      `${N} completed runs and the denied one failed`,
      async () => {
        const rs = await runs();
        const completed = rs.filter((r) => r.status === "COMPLETED");
        const failed = rs.filter((r) => r.status === "FAILED");
        return completed.length === N && failed.length === 1 ? rs : undefined;
      },
      480_000,
      () => w2.stderr.slice(-1500),
    );
    assert.equal(done.length, N + 1, "one run per pipeline");
    assert.ok(done.find((r) => r.status === "FAILED")?.id.startsWith(`ferry-${tag}_denied-`));

    // Every row exactly once: DuckDB files and Postgres schemas.
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      for (const [i, name] of names.entries()) {
        if (onPostgres(i)) {
          const { rows } = await db.query(
            `select count(*)::int as n, count(distinct id)::int as d from "${schemaOf(name)}".items`,
          );
          const child = await db.query(`select count(*)::int as n from "${schemaOf(name)}".items__tags`);
          assert.deepEqual([rows[0].n, rows[0].d, child.rows[0].n], [40, 40, 80], name);
        } else {
          assert.deepEqual(await itemStats(join(dir, `${name}.duckdb`)), { n: 40, distinct: 40 }, name);
        }
      }
    } finally {
      await db.end();
    }
    const result = (await client.workflow
      .getHandle(done.find((r) => r.status === "COMPLETED")?.id ?? "")
      .result()) as {
      rows: Record<string, number>;
    };
    assert.deepEqual(result.rows, { items: 40, items__tags: 80 });

    // The terminal error paused its schedule (with the reason) and called the webhook.
    const d = await client.schedule.getHandle(`ferry-${tag}_denied`).describe();
    assert.equal(d.state.paused, true);
    assert.match(d.state.note ?? "", /401/);
    const alert = await waitFor("the webhook alert", () =>
      hook.alerts().find((a) => a.pipeline === `${tag}_denied`),
    );
    assert.equal(alert.kind, "schedule_paused");
    assert.equal(alert.attempts, 1, "a terminal error is not retried");
    assert.match(alert.error.message, /401/);
    assert.match(alert.hint, new RegExp(`ferry jobs resume ${tag}_denied`));
    // (The test Postgres password is "ferry": registered as a secret, the word is masked in log lines.)
    assert.match(
      w2.stderr + w1.stderr,
      /ALERT \S+: schedule paused: pipeline t\w+_denied, run \S+: GET \S+ failed with status 401/,
    );
    assert.match(w1.stdout, /PAUSED load-inserted/);

    // The jobs commands read the same from Temporal.
    const list = await ferryAsync(["jobs", "list", ...t, "--pipeline", `${tag}_denied`, "--json"], dir);
    assert.equal(list.status, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as {
      schedules: { paused: boolean }[];
      runs: { status: string }[];
    };
    assert.equal(listed.schedules[0]?.paused, true);
    assert.deepEqual(
      listed.runs.map((r) => r.status),
      ["failed"],
    );

    const stopped = await w2.stop();
    assert.equal(stopped.code, 0, w2.stderr.slice(-1000));
  });
});
