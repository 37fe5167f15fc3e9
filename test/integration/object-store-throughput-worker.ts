// Child process of object-store-throughput.test.ts: one store's upload and download of a file, measured in a
// fresh process so that its peak RSS says what the transfer itself costs. Prints one JSON line.
import { createHash } from "node:crypto";
import { createReadStream, rmSync } from "node:fs";
import { openObjectStore } from "../../src/storage/open.js";

const [url, optionsJson, file, out] = process.argv.slice(2) as [string, string, string, string];
const store = await openObjectStore(url, JSON.parse(optionsJson));
// Warm up: load the SDK and open its connections before measuring.
await store.put("warmup.txt", "x");
await store.get("warmup.txt");

async function measure(fn: () => Promise<unknown>): Promise<{ seconds: number; rssGrowth: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const start = performance.now();
  await fn();
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  return { seconds, rssGrowth: Math.max(peak, process.memoryUsage().rss) - base };
}

const up = await measure(() => store.putFile("data.bin", file));
const down = await measure(() => store.getFile("data.bin", out));
await store.delete(["data.bin", "warmup.txt"]);
await store.close();
const hash = createHash("sha256");
for await (const chunk of createReadStream(out)) hash.update(chunk as Buffer);
process.stdout.write(`${JSON.stringify({ up, down, sha256: hash.digest("hex") })}\n`);
rmSync(out, { force: true });
