import { Agent, request } from "node:http";

export interface LoadResult {
  events: number;
  requests: number;
  /** Requests answered other than 200 (each retried). */
  retries: number;
  /** From the first request to the last acknowledgement. */
  ms: number;
  ackMsP50: number;
  ackMsP99: number;
}

/**
 * Posts the bodies to `url` + `/batch/` from `clients` concurrent keep-alive connections, as SDKs do (gzip JSON,
 * retried on an error until acknowledged). Returns when every body was acknowledged with 200.
 */
export async function postAll(
  url: string,
  bodies: { body: Buffer; events: number }[],
  clients: number,
  /** Events per second to offer (requests paced by a schedule); undefined: as fast as acknowledgements come. */
  rate?: number,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let next = 0;
  let retries = 0;
  const started = performance.now();
  const post = (body: Buffer) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/batch/`,
        {
          method: "POST",
          agent,
          headers: {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Content-Length": body.length,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const client = async () => {
    for (;;) {
      const i = next++;
      const item = bodies[i];
      if (!item) return;
      if (rate !== undefined) {
        // Request i is due at i * events-per-request / rate; a late client sends at once (the server is behind).
        const due = started + (i * (bodies[0]?.events ?? 50) * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      for (;;) {
        const t = performance.now();
        const status = await post(item.body).catch(() => 0);
        if (status === 200) {
          latencies.push(performance.now() - t);
          break;
        }
        retries++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const ms = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1));
  return {
    events: bodies.reduce((n, b) => n + b.events, 0),
    requests: bodies.length,
    retries,
    ms,
    ackMsP50: pct(0.5),
    ackMsP99: pct(0.99),
  };
}
