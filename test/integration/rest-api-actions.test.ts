import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { restApiSource } from "../../src/sources/rest-api/index.js";
import { FakeApi } from "../../src/testing/index.js";
import { tempPipeline } from "../helpers/tmp-pipeline.js";

describe("rest api response actions", () => {
  let api: FakeApi;
  before(async () => {
    api = await FakeApi.start([
      // "Nothing found" answered with a 404 and records in the body.
      { path: "/search", handler: () => ({ status: 404, json: { results: [{ id: 1, hit: "fallback" }] } }) },
      // A 200 that says, in its body, that the item is gone.
      { path: "/items/1", handler: () => ({ json: { error: "item was deleted" } }) },
      { path: "/items/2", handler: () => ({ json: { id: 2, name: "two" } }) },
      { path: "/teapot", handler: () => ({ status: 418, json: { error: "short and stout" } }) },
    ]);
  });
  after(() => api.close());

  test("action data takes a non-2xx body as records; action ignore skips a 2xx body by content", async () => {
    const { p, cleanup } = tempPipeline("actions");
    try {
      const src = restApiSource({
        client: { base_url: api.url, paginator: "single_page" },
        resources: [
          {
            name: "search",
            endpoint: {
              path: "search",
              data_selector: "results",
              response_actions: [{ status_code: 404, action: "data" }],
            },
          },
          {
            name: "item_one",
            endpoint: { path: "items/1", response_actions: [{ content: "was deleted", action: "ignore" }] },
          },
          {
            name: "item_two",
            endpoint: { path: "items/2", response_actions: [{ content: "was deleted", action: "ignore" }] },
          },
        ],
      });
      const info = await p.run(src);
      assert.deepEqual(info.rows, { search: 1, item_two: 1 });
      assert.deepEqual(await p.dataset().sql("select id, hit from search"), [{ id: 1, hit: "fallback" }]);
      assert.deepEqual(await p.dataset().sql("select id, name from item_two"), [{ id: 2, name: "two" }]);
      assert.equal((await p.dataset().tables()).includes("item_one"), false);
    } finally {
      cleanup();
    }
  });

  test("a status without a matching action fails with the status, the URL and the body", async () => {
    const { p, cleanup } = tempPipeline("teapot");
    try {
      const src = restApiSource({
        client: { base_url: api.url, paginator: "single_page", max_attempts: 1 },
        resources: [
          {
            name: "teapot",
            endpoint: { path: "teapot", response_actions: [{ status_code: 404, action: "ignore" }] },
          },
        ],
      });
      await assert.rejects(p.run(src), (err: Error) => {
        assert.match(
          err.message,
          /GET http:\/\/127\.0\.0\.1:\d+\/teapot failed with status 418: \{"error":"short and stout"\}/,
        );
        return true;
      });
      assert.equal(api.requestsTo("/teapot").length, 1);
    } finally {
      cleanup();
    }
  });
});
