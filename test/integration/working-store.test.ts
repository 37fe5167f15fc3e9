// Working state in object storage for workers that share no disk: the steps of one run on three "workers" (three
// local dirs), the working dir travelling through the store (a local folder store, and MinIO when it runs). A worker
// that dies before pushing leaves the previous snapshot, and the step runs again from it: every row exactly once.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { pipeline, silentLogger } from "../../src/index.js";
import { ObjectWorkingStore } from "../../src/orchestration/working-store.js";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { openObjectStore } from "../../src/storage/open.js";
import { FakeApi } from "../../src/testing/index.js";
import { uniqueId } from "../../src/util/hash.js";
import { itemStats } from "../helpers/schedules.js";
import { service } from "../helpers/services.js";

const ITEMS = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, tags: ["x"] }));
const s3 = await service("s3");

describe("working state in object storage", () => {
  let api: FakeApi;
  before(async () => {
    api = await FakeApi.start([{ path: "/items", handler: () => ({ json: ITEMS }) }]);
  });
  after(() => api.close());

  const stores = [
    {
      name: "local folder store",
      skip: false as const,
      url: () => pathToFileURL(mkdtempSync(join(tmpdir(), "ferry-ws-"))).href,
      env: {},
    },
    {
      name: "S3 (MinIO)",
      skip: s3.skip,
      url: () => `${s3.url}/working-store-test/${uniqueId(8)}`,
      env: s3.env,
    },
  ];
  for (const backend of stores) {
    test(`the steps of a run on three workers, one dying before its push [${backend.name}]`, {
      skip: backend.skip,
    }, async () => {
      const root = mkdtempSync(join(tmpdir(), "ferry-ws-run-"));
      const db = join(root, "shared.duckdb");
      const store = await openObjectStore(backend.url(), { env: backend.env });
      const working = new ObjectWorkingStore(store);
      const worker = (name: string) =>
        pipeline({
          name: "crm",
          destination: `duckdb:${db}`,
          dataset: "api",
          dir: join(root, name),
          logger: silentLogger,
        });
      const src = () =>
        restApiSource({
          client: { base_url: api.url },
          resources: [
            {
              name: "items",
              endpoint: { path: "items", paginator: "single_page" },
              primary_key: "id",
              write_disposition: "append",
            },
          ],
        });
      const loadId = `${Date.now()}.run1abc`;
      try {
        // Worker A extracts and pushes.
        const a = worker("a");
        await working.pull("crm", a.dir);
        assert.deepEqual((await a.extract(src(), { loadId })).items, { items: 30 });
        await working.push("crm", a.dir);

        // Worker B pulls the extracted package, normalizes it, and dies before its push.
        const b = worker("b");
        await working.pull("crm", b.dir);
        assert.ok(existsSync(join(b.dir, "packages", loadId, "manifest.json")));
        await b.normalize();

        // Worker C starts again from the last snapshot: normalizes and loads.
        const c = worker("c");
        await working.pull("crm", c.dir);
        assert.equal(await (await c.packages()).pending[0]?.stage(), "extracted");
        await c.normalize();
        const loaded = await c.load();
        assert.deepEqual(loaded.loadIds, [loadId]);
        assert.deepEqual(loaded.rows, { items: 30, items__tags: 30 });
        await working.push("crm", c.dir);

        // Worker A catches up: its stale package is gone, the committed state is C's; extracting the same load id
        // again (a retried step) does nothing.
        await working.pull("crm", a.dir);
        assert.deepEqual((await a.packages()).pending, []);
        assert.ok(!existsSync(join(a.dir, "packages", loadId)));
        await a.refresh();
        assert.equal(a.state?.lastLoadId, loadId);
        assert.deepEqual(await a.extract(src(), { loadId }), { loadId, items: {} });
        assert.deepEqual((await a.packages()).pending, []);

        // The store keeps only blobs its snapshot names.
        const snapshot = JSON.parse(String(await store.get("crm/snapshot.json"))) as {
          files: Record<string, { hash: string }>;
        };
        const named = new Set(Object.values(snapshot.files).map((f) => f.hash));
        const blobs = (await store.list("crm/blobs/")).map((o) => o.key.slice("crm/blobs/".length));
        assert.deepEqual(new Set(blobs), named);
        assert.deepEqual(await itemStats(db), { n: 30, distinct: 30 });
      } finally {
        await working.close();
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
