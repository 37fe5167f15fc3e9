import { randomBytes } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";

/** Events per request, as posthog-node sends them (`flushAt` 20 by default; 50 in the scenario). */
export const EVENTS_PER_BATCH = 50;
export const BENCH_TOKEN = "phc_bench_capture";

const EVENTS = ["$pageview", "button clicked", "signed up", "$autocapture", "purchase completed"];
const BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"];

/** A UUIDv7-shaped id (time-ordered like posthog-node's). */
function uuidv7(ms: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Distinct ids the events are spread over (`BENCH_CAPTURE_DISTINCT`; 1,000,000 makes a million persons). */
const DISTINCT_IDS = Number(process.env.BENCH_CAPTURE_DISTINCT ?? 10_000);

/** One `/batch/` body as posthog-node 5 sends it (gzip), with `n` events of distinct ids among DISTINCT_IDS users. */
function batchBody(first: number, n: number): Buffer {
  const now = Date.now();
  const batch = [];
  for (let i = 0; i < n; i++) {
    const k = first + i;
    const ts = new Date(now - (n - i) * 7).toISOString();
    batch.push({
      // 7919 is prime: k * 7919 visits every id once per DISTINCT_IDS events when it does not divide DISTINCT_IDS.
      distinct_id: `user-${(k * 7919) % DISTINCT_IDS}`,
      event: EVENTS[k % EVENTS.length],
      properties: {
        $lib: "posthog-node",
        $lib_version: "5.74.0",
        $geoip_disable: true,
        $current_url: `https://example.com/app/page/${k % 500}`,
        $browser: BROWSERS[k % BROWSERS.length],
        plan: k % 3 === 0 ? "pro" : "free",
        items: k % 11,
        amount: (k % 1000) / 10,
      },
      type: "capture",
      library: "posthog-node",
      library_version: "5.74.0",
      timestamp: ts,
      uuid: uuidv7(now + k),
    });
  }
  return gzipSync(JSON.stringify({ api_key: BENCH_TOKEN, batch, sent_at: new Date(now).toISOString() }));
}

/** Writes the request bodies for `events` events to `path`: each a u32 length and the gzip bytes. */
export async function writeBodies(path: string, events: number): Promise<void> {
  const fh = await open(path, "w");
  try {
    for (let first = 0; first < events; first += EVENTS_PER_BATCH) {
      const body = batchBody(first, Math.min(EVENTS_PER_BATCH, events - first));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      await fh.write(Buffer.concat([len, body]));
    }
  } finally {
    await fh.close();
  }
}

/** The bodies written by `writeBodies`, with the number of events each carries. */
export async function readBodies(path: string, events: number): Promise<{ body: Buffer; events: number }[]> {
  const all = await readFile(path);
  const out: { body: Buffer; events: number }[] = [];
  let left = events;
  for (let pos = 0; pos < all.length; ) {
    const len = all.readUInt32LE(pos);
    out.push({ body: all.subarray(pos + 4, pos + 4 + len), events: Math.min(EVENTS_PER_BATCH, left) });
    left -= EVENTS_PER_BATCH;
    pos += 4 + len;
  }
  return out;
}
