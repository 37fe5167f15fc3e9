/**
 * One webhook delivery against a real local HTTP server, answer by answer (what is retried, what is not, the
 * Idempotency-Key, Retry-After), and the backoff between attempts of a running `ferry serve`'s export: at least the
 * configured backoff, doubling, and at least what a 429's Retry-After asks. Waits are asserted as lower bounds only
 * (a busy machine makes them longer, never shorter).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, test } from "node:test";
import { deliverWebhook } from "../../src/events/plugins/exports/deliver.js";
import {
  receiver,
  sendBatch,
  startPluginServe,
  TOKEN,
  tempDir,
  waitFor,
  waitForLoaded,
} from "../helpers/plugins.js";

const UUID = "01900000-0000-7000-8000-000000000001";

/** A port on 127.0.0.1 where nothing listens (a server bound, then closed). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("webhook delivery", () => {
  test("2xx is delivered; 5xx, 408, 429, timeouts and refused connections are retried; other answers are not", async () => {
    const answers: Record<string, { status: number; headers?: Record<string, string> } | "hang"> = {
      "/ok": { status: 204 },
      "/down": { status: 503 },
      "/slow-client": { status: 408 },
      "/limited": { status: 429, headers: { "Retry-After": "7" } },
      "/gone": { status: 404 },
      "/moved": { status: 301, headers: { Location: "https://elsewhere.example.com/" } },
      "/hang": "hang",
    };
    const server = await receiver((r) => answers[r.url] ?? { status: 500 });
    const refused = await closedPort();
    try {
      const o = { plugin: "hook", allowedHosts: [server.host, `127.0.0.1:${refused}`], timeoutMs: 30_000 };
      const send = (path: string, headers?: Record<string, string>) =>
        deliverWebhook({ url: `${server.url}${path}`, body: "{}", headers }, UUID, o);
      assert.deepEqual(await send("/ok"), { ok: true });
      assert.deepEqual(await send("/down"), {
        ok: false,
        retry: true,
        reason: `POST ${server.url}/down answered 503 Service Unavailable`,
        retryAfterMs: undefined,
      });
      assert.deepEqual(await send("/slow-client"), {
        ok: false,
        retry: true,
        reason: `POST ${server.url}/slow-client answered 408 Request Timeout`,
        retryAfterMs: undefined,
      });
      assert.deepEqual(await send("/limited"), {
        ok: false,
        retry: true,
        reason: `POST ${server.url}/limited answered 429 Too Many Requests`,
        retryAfterMs: 7000,
      });
      assert.deepEqual(await send("/gone"), {
        ok: false,
        retry: false,
        reason: `POST ${server.url}/gone answered 404 Not Found`,
      });
      assert.deepEqual(await send("/moved"), {
        ok: false,
        retry: false,
        reason: `POST ${server.url}/moved answered 301 Moved Permanently`,
      });
      // Only a request that never gets an answer has a short time limit (a busy machine cannot make it pass).
      assert.deepEqual(
        await deliverWebhook({ url: `${server.url}/hang`, body: "{}" }, UUID, { ...o, timeoutMs: 300 }),
        {
          ok: false,
          retry: true,
          reason: `POST ${server.url}/hang: no answer within 300 ms`,
        },
      );
      const conn = await deliverWebhook({ url: `http://127.0.0.1:${refused}/in`, body: "{}" }, UUID, o);
      assert.deepEqual(conn, {
        ok: false,
        retry: true,
        reason: `POST http://127.0.0.1:${refused}/in: connect ECONNREFUSED 127.0.0.1:${refused}`,
      });
      // The event's uuid is the idempotency key, unless the plugin set its own.
      await send("/ok", { "Idempotency-Key": "mine" });
      const keys = server.requests.filter((r) => r.url === "/ok").map((r) => r.headers["idempotency-key"]);
      assert.deepEqual(keys, [UUID, "mine"]);
      // The redirect was not followed.
      assert.equal(server.requests.filter((r) => r.url === "/moved").length, 1);
    } finally {
      await server.close();
    }
  });

  test("retries wait the backoff, doubling, and at least a 429's Retry-After; then the event is delivered once", async () => {
    const tmp = tempDir();
    // First answer 429 (Retry-After: 1), then 503 twice, then 200.
    const hook = await receiver((_r, n) =>
      n === 1 ? { status: 429, headers: { "Retry-After": "1" } } : n <= 3 ? { status: 503 } : { status: 200 },
    );
    try {
      const s = await startPluginServe(
        {
          projects: [
            {
              token: TOKEN,
              plugins: [
                {
                  module: "ferry:webhook-export",
                  name: "hook",
                  config: { url: `${hook.url}/in` },
                  allowed_hosts: [hook.host],
                  retries: { attempts: 5, backoff: "150ms" },
                },
              ],
            },
          ],
        },
        { dir: tmp.dir },
      );
      try {
        await sendBatch(s.url, [{ uuid: UUID, event: "paid", distinct_id: "p", properties: {} }]);
        await waitForLoaded(s, 1);
        await waitFor("the delivery", () => hook.requests.length === 4);
        await waitFor(
          "no lag",
          async () => (await s.running.plugins?.status()) === "exports: lag 0 event(s)",
        );
      } finally {
        await s.stop();
      }
      assert.deepEqual(
        hook.requests.map((r) => [JSON.parse(r.body).uuid, r.headers["idempotency-key"]]),
        Array.from({ length: 4 }, () => [UUID, UUID]),
      );
      const at = hook.requests.map((r) => r.at);
      const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
      // Timers may fire a millisecond early against performance.now(): a small allowance.
      const atLeast = [1000, 300, 600];
      for (const [i, gap] of gaps.entries())
        assert.ok(
          gap >= (atLeast[i] as number) - 5,
          `wait ${i + 1} was ${gap.toFixed(0)} ms, at least ${atLeast[i]}`,
        );
    } finally {
      await hook.close();
      tmp.cleanup();
    }
  });
});
