import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openGcsStore } from "../../src/storage/gcs/gcs-store.js";
import { parseBucketUrl } from "../../src/storage/location.js";
import type { ObjectStore, ObjectStoreOptions } from "../../src/storage/object-store.js";
import { openObjectStore } from "../../src/storage/open.js";
import { DEFAULT_STORE_RETRY } from "../../src/storage/retry.js";
import { DestinationError } from "../../src/util/errors.js";
import { service } from "../helpers/services.js";

// Transient failures between ferry and the store: a proxy in front of each emulator answers some requests with
// 503 / 500 / 429, or drops the connection, and every operation must still succeed (the SDK retries requests
// and parts, ferry retries whole operations). A store that keeps failing ends in a transient DestinationError.

type Fault = "503" | "500" | "429" | "reset" | "none";

/** A reverse proxy to `target` that injects `plan(n)` into its n-th request (1-based). */
class FaultProxy {
  readonly server: Server;
  readonly seen: string[] = [];
  faults = 0;
  plan: (n: number, req: IncomingMessage) => Fault = () => "none";

  constructor(readonly target: URL) {
    this.server = createServer((req, res) => {
      this.seen.push(`${req.method} ${req.url}`);
      const fault = this.plan(this.seen.length, req);
      if (fault !== "none") this.faults++;
      if (fault === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault !== "none") {
        req.resume();
        req.on("end", () => {
          res.writeHead(Number(fault), { "content-type": "text/plain", connection: "close" });
          res.end(`injected ${fault}`);
        });
        return;
      }
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          const headers = { ...upRes.headers };
          // Resumable uploads continue at the Location the emulator returns: keep them on the proxy.
          if (typeof headers.location === "string")
            headers.location = headers.location.replace(target.origin, this.url);
          res.writeHead(upRes.statusCode ?? 502, headers);
          upRes.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const work = mkdtempSync(join(tmpdir(), "ferry-store-retry-"));
const run = `retry-${randomBytes(4).toString("hex")}`;
after(() => rmSync(work, { recursive: true, force: true }));

interface Target {
  name: string;
  skip: string | false;
  url: string;
  endpoint: string;
  /** Options that send every request through `proxyUrl`. */
  through(proxyUrl: string): ObjectStoreOptions;
  /** Requests the flaky proxy may fail (default: all). */
  faultable?(req: IncomingMessage): boolean;
  /** Opens the store for the always-failing test (default: `openObjectStore`). */
  openFailing?(url: string, options: ObjectStoreOptions): ObjectStore;
}

const s3 = await service("s3");
const az = await service("azure");
const gcs = await service("gcs");
const targets: Target[] = [
  {
    name: "s3",
    skip: s3.skip,
    url: `${s3.url}/${run}`,
    endpoint: s3.env.AWS_ENDPOINT_URL!,
    through: (p) => ({ env: { ...s3.env, AWS_ENDPOINT_URL: p } }),
  },
  {
    name: "azure",
    skip: az.skip,
    url: `${az.url}/${run}`,
    endpoint: az.env.AZURE_STORAGE_ENDPOINT!,
    through: (p) => ({
      env: { ...az.env, AZURE_STORAGE_ENDPOINT: `${p}${new URL(az.env.AZURE_STORAGE_ENDPOINT!).pathname}` },
    }),
  },
  {
    name: "gcs",
    skip: gcs.skip,
    url: `${gcs.url}/${run}`,
    endpoint: gcs.env.STORAGE_EMULATOR_HOST!,
    through: (p) => ({ env: { STORAGE_EMULATOR_HOST: p } }),
    // fake-gcs-server answers a resumable session's status query with 200 instead of 308, so the SDK cannot
    // resume a session after a failed chunk: ferry then starts the upload anew (tested on its own below).
    faultable: (req) => !req.url?.includes("upload_id="),
    // The GCS SDK waits 1 s, 2 s, 4 s between its tries (its base delay is fixed): one ferry attempt suffices
    // to see them, where three would take half a minute.
    openFailing: (url, options) =>
      openGcsStore(parseBucketUrl(url), options, { retry: { ...DEFAULT_STORE_RETRY, attempts: 1 } }),
  },
];

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

for (const t of targets) {
  describe(`object store retries: ${t.name}`, { skip: t.skip }, () => {
    test("every operation succeeds through 503s, 500s, 429s and dropped connections", async () => {
      const proxy = await new FaultProxy(new URL(t.endpoint)).start();
      const store = await openObjectStore(`${t.url}/flaky`, t.through(proxy.url));
      try {
        // Every third request fails, cycling through the kinds of failure.
        const kinds: Fault[] = ["503", "reset", "500", "429"];
        let n = 0;
        proxy.plan = (_, req) => {
          if (t.faultable && !t.faultable(req)) return "none";
          n++;
          return n % 3 === 0 ? kinds[(n / 3) % kinds.length]! : "none";
        };

        const data = randomBytes(20 * 1024 * 1024);
        const file = join(work, `${t.name}-20mb.bin`);
        writeFileSync(file, data);
        await store.putFile("big.bin", file);
        await store.put("small.txt", "hello");
        assert.equal((await store.get("small.txt"))?.toString(), "hello");
        assert.equal(sha((await store.get("big.bin"))!), sha(data));
        const out = join(work, `${t.name}-20mb.out`);
        assert.equal(await store.getFile("big.bin", out), true);
        assert.equal(sha(readFileSync(out)), sha(data));
        assert.deepEqual(
          (await store.list("")).map((o) => [o.key, o.size]),
          [
            ["big.bin", data.length],
            ["small.txt", 5],
          ],
        );
        await store.delete(["big.bin", "small.txt", "missing"]);
        assert.deepEqual(await store.list(""), []);

        assert.ok(proxy.faults >= 4, `only ${proxy.faults} faults were injected`);
        if (t.name === "gcs") {
          // The 20 MB file went up as a resumable upload (a session, then its data).
          assert.ok(
            proxy.seen.some((r) => r.startsWith("POST ") && r.includes("uploadType=resumable")),
            proxy.seen.join("\n"),
          );
          assert.ok(
            proxy.seen.some((r) => r.startsWith("PUT ") && r.includes("upload_id=")),
            proxy.seen.join("\n"),
          );
        }
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    // GCS only: S3 and Azure upload parts that the SDK retries one by one (the test above).
    if (t.name === "gcs")
      test("a resumable upload that fails midway is uploaded again whole", async () => {
        const proxy = await new FaultProxy(new URL(t.endpoint)).start();
        // The first upload session's data request fails.
        proxy.plan = (_, req) =>
          req.method === "PUT" && req.url?.includes("upload_id=") && proxy.faults === 0 ? "503" : "none";
        const store = await openObjectStore(`${t.url}/restart`, t.through(proxy.url));
        try {
          const data = randomBytes(20 * 1024 * 1024);
          const file = join(work, "restart.bin");
          writeFileSync(file, data);
          await store.putFile("big.bin", file);
          assert.equal(sha((await store.get("big.bin"))!), sha(data));
          assert.equal(proxy.faults, 1);
          // The session that failed is not resumed (the emulator cannot say how far it got): a new one starts.
          assert.equal(
            proxy.seen.filter((r) => r.startsWith("POST ") && r.includes("uploadType=resumable")).length,
            2,
          );
          await store.delete(["big.bin"]);
        } finally {
          await store.close();
          await proxy.close();
        }
      });

    test("a store that keeps failing: a transient DestinationError after retries", async () => {
      const proxy = await new FaultProxy(new URL(t.endpoint)).start();
      proxy.plan = () => "503";
      const store = t.openFailing
        ? t.openFailing(`${t.url}/down`, t.through(proxy.url))
        : await openObjectStore(`${t.url}/down`, t.through(proxy.url));
      try {
        const err = await store.put("k.txt", "v").then(
          () => assert.fail("expected an error"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof DestinationError, String(err));
        assert.equal(err.transient, true);
        assert.match(err.message, /put of "k\.txt" in .* failed after retries/);
        // The SDK's own tries (4), times ferry's attempts (3, or 1 for GCS).
        assert.ok(proxy.seen.length >= (t.openFailing ? 4 : 12), `${proxy.seen.length} requests`);
      } finally {
        await store.close();
        await proxy.close();
      }
    });
  });
}
