/**
 * The floor of the `capture` scenario: a bare Node HTTP server that does the least a durable capture must do. It
 * inflates each gzip body and appends it to one file, and answers 200 only after the data is fsynced, with the same
 * group commit as ferry's log (appends waiting while an fsync runs share the next one). No parsing, no validation,
 * no loading. Prints its URL on stdout; stops on stdin's end.
 */
import { open } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const inflate = promisify(gunzip);
const dir = process.argv[2] ?? ".";
const fh = await open(join(dir, "floor.log"), "a");
let pending: { data: Buffer; done: () => void }[] = [];
let flushing = false;

async function flush(): Promise<void> {
  flushing = true;
  while (pending.length > 0) {
    const group = pending;
    pending = [];
    await fh.writev(group.map((g) => g.data));
    await fh.datasync();
    for (const g of group) g.done();
  }
  flushing = false;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    const data = await inflate(Buffer.concat(chunks));
    pending.push({
      data: Buffer.concat([data, Buffer.from("\n")]),
      done: () => res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":1}'),
    });
    if (!flushing) void flush();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on("end", () => {
  server.close();
  void fh.close();
  process.exit(0);
});
